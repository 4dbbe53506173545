"""Bundled records in the form the library reads: C structs (xb_log_entry,
xb_sample, xb_tensor) built in one buffer per batch."""

from __future__ import annotations

import ctypes
from typing import Any, List, Sequence, Tuple

import numpy as np

from . import errors
from ._lib import LOG_ENTRY_FMT, SAMPLE_FMT, TENSOR_FMT
from .records import MAX_TENSOR_DIMS, DType, LogEntry, Sample, Tensor


def record_type(r: Any) -> int:
    if isinstance(r, LogEntry):
        return 1
    if isinstance(r, Sample):
        return 2
    if isinstance(r, Tensor):
        return 3
    raise errors.RecordTypeError(f"not a crossbuf record: {type(r).__name__}")


class _Strings:
    """Collects UTF-8 strings into one blob; spans are (offset in blob, len)."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: List[bytes] = []
        self.size = 0

    def add(self, s: str) -> Tuple[int, int]:
        b = s.encode("utf-8")
        off = self.size
        self.parts.append(b)
        self.size += len(b)
        return off, len(b)


def pack(rt: int, records: Sequence[Any]) -> Tuple[Any, Any]:
    """A ctypes buffer holding the C structs of records (and what it points to)."""
    n = len(records)
    if rt == 2:
        buf = bytearray(80 * n)
        pk = SAMPLE_FMT.pack_into
        for i, r in enumerate(records):
            f = r.features
            if len(f) != 16:
                raise errors.InvalidRecordError(f"Sample.features has {len(f)} values, need 16")
            pk(buf, 80 * i, r.timestamp_ns, *f, r.label)
        return (ctypes.c_char * len(buf)).from_buffer(buf), buf
    if rt == 1:
        return _pack_log_entries(records)
    return _pack_tensors(records)


def _pack_log_entries(records: Sequence[LogEntry]) -> Tuple[Any, Any]:
    # All strings of the batch are encoded with one join and their spans
    # computed with numpy: per-string Python calls dominate otherwise.
    n = len(records)
    ss: List[str] = []
    ext = ss.extend
    meta = []
    for r in records:
        tid = r.trace_id if type(r.trace_id) is bytes else bytes(r.trace_id)
        if len(tid) != 16:
            raise errors.InvalidRecordError(f"LogEntry.trace_id has {len(tid)} bytes, need 16")
        h = r.http
        start = len(ss)
        ext((r.service, r.host, r.message, h.method, h.path))
        ext(r.tags)
        nt = len(ss) - start - 5
        attrs = r.attributes
        for kv in attrs.items() if isinstance(attrs, dict) else attrs:
            ext(kv)
        meta.append((r, tid, start, nt, (len(ss) - start - 5 - nt) // 2))
    try:
        blob = "".join(ss).encode("utf-8")
    except TypeError:
        bad = next(x for x in ss if not isinstance(x, str))
        raise errors.InvalidRecordError(f"LogEntry string field holds {type(bad).__name__}, not str") from None
    lens = np.fromiter((len(x) if x.isascii() else len(x.encode("utf-8")) for x in ss), np.uint64, len(ss))
    n_spans = len(ss)
    rec_end = 160 * n
    str_start = rec_end + 16 * n_spans
    buf = bytearray(str_start + len(blob))
    cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
    base = ctypes.addressof(cbuf)
    buf[str_start:] = blob
    spans = np.frombuffer(buf, dtype="<u8", count=2 * n_spans, offset=rec_end).reshape(n_spans, 2)
    spans[:, 1] = lens
    np.cumsum(lens, out=spans[:, 0])
    spans[:, 0] += np.uint64(base + str_start)
    spans[:, 0] -= lens
    p = spans[:, 0].tolist()
    ln = lens.tolist()
    del spans
    pk = LOG_ENTRY_FMT.pack_into
    for i, (r, tid, s, nt, na) in enumerate(meta):
        h = r.http
        at = base + rec_end + 16 * (s + 5)
        pk(buf, 160 * i, r.timestamp_ns, int(r.level), p[s], ln[s], p[s + 1], ln[s + 1], p[s + 2], ln[s + 2], tid,
           at if nt else 0, nt, at + 16 * nt if na else 0, na, p[s + 3], ln[s + 3], p[s + 4], ln[s + 4],
           h.status, h.latency_ns)
    return cbuf, buf


def _pack_tensors(records: Sequence[Tensor]) -> Tuple[Any, Any]:
    n = len(records)
    strs = _Strings()
    names = [strs.add(r.name) for r in records]
    buf = bytearray(104 * n + strs.size)
    cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
    base = ctypes.addressof(cbuf)
    sb = base + 104 * n
    buf[104 * n :] = b"".join(strs.parts)
    keep: List[Any] = [buf]
    for i, r in enumerate(records):
        shape = tuple(int(d) for d in r.shape)
        if len(shape) > MAX_TENSOR_DIMS:
            raise errors.InvalidRecordError(f"Tensor has {len(shape)} dims, at most {MAX_TENSOR_DIMS}")
        arr = np.frombuffer(r.data, dtype=np.uint8)  # any contiguous buffer, no copy
        keep.append(arr)
        addr, nbytes = (arr.ctypes.data, arr.nbytes) if arr.nbytes else (0, 0)
        o, ln = names[i]
        TENSOR_FMT.pack_into(buf, 104 * i, sb + o, ln, int(DType(r.dtype)), len(shape),
                             *(shape + (0,) * (MAX_TENSOR_DIMS - len(shape))), addr, nbytes)
    return cbuf, keep


# ---- module-level helpers -----------------------------------------------------
