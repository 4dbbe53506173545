"""The bundled data model (LogEntry, Sample, Tensor) as an ordinary schema.

schemas/crossbuf.fbs and schemas/crossbuf.capnp ship inside the package in
their binary forms (crossbuf.bfbs, crossbuf.capnp.bin, written by
./build.sh gen), so loading them needs no compiler:

    fb = crossbuf.bundled.schema()                    # FlatBuffers
    LogEntry = fb["crossbuf_fb.LogEntry"]             # its record class
    frame = region.encode(LogEntry(service="api", ...))
    region.decode(frame)                              # a LogEntry again

Each schema loads once per process, on first use.
"""

from __future__ import annotations

import os
import threading
from typing import Dict

from . import errors
from .records import Codec
from .schema import Schema

_FILES = {Codec.FLATBUFFERS: "crossbuf.bfbs", Codec.CAPNP: "crossbuf.capnp.bin"}
_lock = threading.Lock()
_loaded: Dict[int, Schema] = {}


def schema(codec: int = Codec.FLATBUFFERS) -> Schema:
    """The bundled schema in codec's IDL: FLATBUFFERS (types
    "crossbuf_fb.LogEntry", ...) or CAPNP ("crossbuf.capnp:LogEntry", ...)."""
    s = _loaded.get(codec)
    if s is not None and not s.closed:
        return s
    name = _FILES.get(codec)  # type: ignore[call-overload]
    if name is None:
        raise errors.UnknownCodecError(f"no bundled schema for codec {codec!r}: FLATBUFFERS or CAPNP")
    with _lock:
        s = _loaded.get(codec)
        if s is None or s.closed:
            with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), "rb") as f:
                s = _loaded[codec] = Schema.load(f.read())
    return s


__all__ = ["schema"]
