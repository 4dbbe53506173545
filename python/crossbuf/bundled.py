"""The bundled data model (LogEntry, Sample, Tensor) as an ordinary schema.

schemas/crossbuf.fbs and schemas/crossbuf.capnp ship inside the package in
their binary forms (crossbuf.bfbs, crossbuf.capnp.bin, written by
./build.sh gen), so loading them needs no compiler:

    fb = crossbuf.bundled.schema()                    # FlatBuffers
    LogEntry = fb["crossbuf_fb.LogEntry"]             # its record class
    frame = region.encode(LogEntry(service="api", ...))
    region.decode(frame)                              # a LogEntry again

Frames the per-record codecs write (Region.encode of a crossbuf.LogEntry
in FLATBUFFERS or CAPNP, Go's crossbuf.Append) hold the same messages under
the record type ids 1-3: the bundled schemas read them too (Region.view,
FieldPath.read, Schema.to_record).

Each schema loads once per process, on first use.
"""

from __future__ import annotations

import os
import threading
from typing import Dict

from . import errors
from .records import Codec, RecordType
from .region import Frame
from .schema import RecordView, Schema

_FILES = {Codec.FLATBUFFERS: "crossbuf.bfbs", Codec.CAPNP: "crossbuf.capnp.bin"}
_PREFIX = {Codec.FLATBUFFERS: "crossbuf_fb.", Codec.CAPNP: "crossbuf.capnp:"}
_NAMES = {RecordType.LOG_ENTRY: "LogEntry", RecordType.SAMPLE: "Sample", RecordType.TENSOR: "Tensor"}
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
                s = Schema.load(f.read())
            # Frames of the per-record codecs hold these types under the
            # record type ids 1-3 (XB_RECORD_*): the schema reads them too.
            s._aliases = {int(rt): s.type_id(type_name(codec, rt)) for rt in _NAMES}
            _loaded[codec] = s
    return s


def type_name(codec: int, record_type: int) -> str:
    """The bundled schema's name of a record type: type_name(FLATBUFFERS,
    LOG_ENTRY) is "crossbuf_fb.LogEntry"."""
    try:
        return _PREFIX[codec] + _NAMES[record_type]  # type: ignore[index]
    except KeyError:
        raise errors.UnknownCodecError(
            f"no bundled schema type for codec {codec!r} and record type {record_type!r}") from None


def view(frame: Frame) -> RecordView:
    """A lazy view of a FlatBuffers or Cap'n Proto frame of a bundled record
    (type id 1-3) as the bundled schema's type (Region.view)."""
    return schema(frame.codec).view(frame)


__all__ = ["schema", "type_name", "view"]
