"""xb_generate: the library's own seeded records, to cross-check testdata."""

from __future__ import annotations

import ctypes
import threading
from ctypes import byref, c_uint64

from . import _lib
from ._lib import LOG_ENTRY_FMT, SAMPLE_FMT, TENSOR_FMT, check_fork, lib, raise_status
from .records import Record, RecordType
from .views import LogEntryView, SampleView, TensorView

_local = threading.local()
_SIZE = {1: 160, 2: 80, 3: 104}


class _Scratch:
    def __init__(self) -> None:
        s = c_uint64()
        st = lib.xb_scratch_new(byref(s))
        if st:
            raise_status(st)
        self.handle = s.value

    def __del__(self, _forked=_lib.forked, _free=lib.xb_scratch_free) -> None:
        # defaults bind what interpreter shutdown may already have cleared
        if not _forked():
            _free(self.handle)


def generate(record_type: int, seed: int, size: int = 0) -> Record:
    """The library's record of seed (size: tensor data bytes); equals testdata's."""
    check_fork()
    rt = int(RecordType(record_type))
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
