"""Calls that need no region: xb_generate (the library's own seeded records)
and xb_decode_bytes (decode bytes held anywhere)."""

from __future__ import annotations

import ctypes
import threading
from ctypes import byref, c_uint64, c_void_p
from typing import Any

import numpy as np

from . import _encode, _lib
from ._lib import check_fork, lib, raise_status
from .errors import InvalidArgumentError
from .records import Codec, Record

_local = threading.local()


class _Scratch:
    def __init__(self) -> None:
        s = c_void_p()
        st = lib.xb_scratch_new(byref(s))
        if st:
            raise_status(st)
        self.handle = s.value
        self.out = c_void_p()
        self.out_len = c_uint64()

    def __del__(self, _forked: Any = _lib.forked, _free: Any = lib.xb_scratch_free) -> None:
        # defaults bind what interpreter shutdown may already have cleared
        if not _forked():
            _free(self.handle)

    def record(self, rt: int) -> Record:
        """The one record the last call wrote (msgspec copies it out)."""
        n = self.out_len.value
        data = (ctypes.c_char * n).from_address(self.out.value or 0) if n else b""
        return _encode.unpack(rt, memoryview(data), many=False)  # type: ignore[no-any-return]


def _scratch() -> _Scratch:
    sc = getattr(_local, "scratch", None)
    if sc is None:
        sc = _local.scratch = _Scratch()
    return sc


def generate(record_type: int, seed: int, size: int = 0) -> Record:
    """The library's record of seed (size: tensor data bytes); equals testdata's."""
    check_fork()
    rt = _lib.record_type_arg(record_type)
    seed = _lib.check_int(seed, 0, _lib.U64_MAX, "seed")
    size = _lib.check_int(size, 0, _lib.U64_MAX, "size")
    sc = _scratch()
    st = lib.xb_generate(sc.handle, rt, seed, size, Codec.MSGPACK, byref(sc.out), byref(sc.out_len))
    if st:
        raise_status(st)
    return sc.record(rt)


def decode_bytes(codec: int, record_type: int, data: Any) -> Record:
    """Decodes encoded bytes that are not in a region (from a socket, a file,
    a channel frame's payload) into a record that owns its data. The bytes
    are copied once into an 8-byte aligned buffer (Cap'n Proto needs the
    alignment)."""
    check_fork()
    rt = _lib.record_type_arg(record_type)
    codec = _lib.codec_arg(codec)
    sc = _scratch()
    try:
        raw = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    except TypeError as e:
        raise InvalidArgumentError(f"data must be a bytes-like object: {e}") from None
    n = len(raw)
    aligned = np.empty((n + 7) // 8 or 1, dtype=np.uint64)
    aligned.view(np.uint8)[:n] = np.frombuffer(raw, dtype=np.uint8)
    st = lib.xb_decode_bytes(sc.handle, int(codec), rt, aligned.ctypes.data, n, Codec.MSGPACK, byref(sc.out),
                             byref(sc.out_len))
    if st:
        raise_status(st)
    return sc.record(rt)
