"""Calls that need no region: xb_generate (the library's own seeded records)
and xb_decode_bytes (decode bytes held anywhere)."""

from __future__ import annotations

import ctypes
import threading
from ctypes import byref, c_void_p
from typing import Any

import numpy as np

from . import _lib
from ._lib import LOG_ENTRY_FMT, SAMPLE_FMT, TENSOR_FMT, check_fork, lib, raise_status
from .errors import InvalidArgumentError
from .records import Record
from .views import LogEntryView, SampleView, TensorView

_local = threading.local()
_SIZE = {1: 160, 2: 80, 3: 104}


class _Scratch:
    def __init__(self) -> None:
        s = c_void_p()
        st = lib.xb_scratch_new(byref(s))
        if st:
            raise_status(st)
        self.handle = s.value

    def __del__(self, _forked: Any = _lib.forked, _free: Any = lib.xb_scratch_free) -> None:
        # defaults bind what interpreter shutdown may already have cleared
        if not _forked():
            _free(self.handle)


def generate(record_type: int, seed: int, size: int = 0) -> Record:
    """The library's record of seed (size: tensor data bytes); equals testdata's."""
    check_fork()
    rt = _lib.record_type_arg(record_type)
    seed = _lib.check_int(seed, 0, _lib.U64_MAX, "seed")
    size = _lib.check_int(size, 0, _lib.U64_MAX, "size")
    sc = getattr(_local, "scratch", None)
    if sc is None:
        sc = _local.scratch = _Scratch()
    out = ctypes.create_string_buffer(_SIZE[rt])
    st = lib.xb_generate(sc.handle, rt, seed, size, ctypes.addressof(out))
    if st:
        raise_status(st)
    raw = out.raw
    if rt == 1:
        return LogEntryView(LOG_ENTRY_FMT.unpack_from(raw), None, 0).to_record()
    if rt == 2:
        return SampleView(SAMPLE_FMT.unpack_from(raw)).to_record()
    return TensorView(TENSOR_FMT.unpack_from(raw), None, 0).to_record()


def decode_bytes(codec: int, record_type: int, data: Any) -> Record:
    """Decodes encoded bytes that are not in a region (from a socket, a file)
    into a record that owns its data. The bytes are copied once into an
    8-byte aligned buffer (Cap'n Proto needs the alignment)."""
    check_fork()
    rt = _lib.record_type_arg(record_type)
    codec = _lib.codec_arg(codec)
    sc = getattr(_local, "scratch", None)
    if sc is None:
        sc = _local.scratch = _Scratch()
    try:
        raw = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    except TypeError as e:
        raise InvalidArgumentError(f"data must be a bytes-like object: {e}") from None
    n = len(raw)
    aligned = np.empty((n + 7) // 8 or 1, dtype=np.uint64)
    aligned.view(np.uint8)[:n] = np.frombuffer(raw, dtype=np.uint8)
    out = ctypes.create_string_buffer(_SIZE[rt])
    st = lib.xb_decode_bytes(sc.handle, int(codec), rt, aligned.ctypes.data, n, ctypes.addressof(out))
    if st:
        raise_status(st)
    raw_out = out.raw
    # every pointer is into `aligned` or the scratch: copy all fields now
    if rt == 1:
        return LogEntryView(LOG_ENTRY_FMT.unpack_from(raw_out), None, 0).to_record()
    if rt == 2:
        return SampleView(SAMPLE_FMT.unpack_from(raw_out)).to_record()
    return TensorView(TENSOR_FMT.unpack_from(raw_out), None, 0).to_record()
