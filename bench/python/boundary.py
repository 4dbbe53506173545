"""Context 3, across the boundary: the Go core encodes into a region
(crossbuf.Region.encode / encode_many, through the C ABI) and Python reads
the frames through the crossbuf package.

Every cell cycles through the frames of a pool of records (seeds 1..N, the
pool of every context); data=single repeats seed 1. Cells per format and record:
  encode          region.encode(record, codec): Python dataclass -> Go -> frame
  decode-full     region.decode_record(frame): the crossbuf dataclass, every field a Python
                  object (one library call; LogEntry and Sample come back as one marshal buffer;
                  a Tensor's data is copied into bytes)
  read-one-field  region.read_field(frame, field): one library call, no view
                  (Sample: region.decode_record(frame).label)
  read-one-field  lib=crossbuf-view: region.decode(frame).<field> (build a view, read one property)
  batch-decode-full     decode_records(N frames), N = the pool (1000 records)
  batch-read-one-field  read_str(N frames, field) (Sample: the label of decode_many's views)
  to-numpy        Tensor: region.decode(frame).array, no copy of the data
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from .native import expected_field, same_record


@dataclass
class BoundaryCell:
    op: str
    lib: str
    fn: Callable[[], Any]
    variant: str = "default"
    data: str = "pool"
    nbytes: Optional[int] = None
    records_per_op: int = 1


def _nbytes(rec: Any) -> int:
    return len(getattr(rec, "data", b"")) + 4096


class Setup:
    """The regions of one (format, record) pool; close() releases them."""

    def __init__(self, xb: Any, codec: Any, pool: List[Any]) -> None:
        self.xb, self.codec, self.pool = xb, codec, pool
        # base64 JSON grows data by 4/3; room for every frame of the pool.
        total = sum(2 * _nbytes(r) for r in pool)
        self.src = xb.Region.anonymous(max(1 << 20, total + (1 << 16)))
        if hasattr(pool[0], "data"):
            self.frames: List[Any] = [self.src.encode(r, codec) for r in pool]
        else:
            self.frames = self.src.encode_many(pool, codec)
        # Encode target, reset whenever it fills up; prefaulted, as a
        # long-running producer's ring is warm.
        self.dst = xb.Region.anonymous(max(16 << 20, 4 * 2 * max(_nbytes(r) for r in pool) + (1 << 16)))
        self.dst.prefault()

    def encoder(self, pool: List[Any]) -> Callable[[], Any]:
        dst, codec, full = self.dst, self.codec, self.xb.RegionFullError
        it = itertools.cycle(pool)

        def encode() -> None:
            rec = next(it)
            try:
                dst.encode(rec, codec)
            except full:
                dst.reset()
                dst.encode(rec, codec)

        return encode

    def close(self) -> None:
        self.frames = []
        self.src.close()
        self.dst.close()


def cells(xb: Any, s: Setup, kind: str, single: bool, batch: bool) -> List[BoundaryCell]:
    """The timed functions of one (format, record); kind is LogEntry, Sample or Tensor."""
    src = s.src
    out: List[BoundaryCell] = []
    datas = [("pool", s.frames, s.pool)] + ([("single", s.frames[:1], s.pool[:1])] if single else [])
    for data, frames, pool in datas:
        nb = sum(len(f.payload) for f in frames) // len(frames)
        fc = itertools.cycle(frames)
        out += [
            BoundaryCell("encode", "crossbuf", s.encoder(pool), "record", data, nbytes=nb),
            BoundaryCell("decode-full", "crossbuf", lambda fc=fc: src.decode_record(next(fc)), "record", data),
        ]
        if kind == "Sample":
            out.append(BoundaryCell("read-one-field", "crossbuf", lambda fc=fc: src.decode_record(next(fc)).label,
                                    data=data))  # fmt: skip
            out.append(BoundaryCell("read-one-field", "crossbuf-view", lambda fc=fc: src.decode(next(fc)).label,
                                    data=data))  # fmt: skip
        else:
            field = xb.Field.LOG_MESSAGE if kind == "LogEntry" else xb.Field.TENSOR_NAME
            attr = "message" if kind == "LogEntry" else "name"
            out.append(BoundaryCell("read-one-field", "crossbuf",
                                    lambda fc=fc, f=field: src.read_field(next(fc), f), data=data))  # fmt: skip
            out.append(BoundaryCell("read-one-field", "crossbuf-view",
                                    lambda fc=fc, a=attr: getattr(src.decode(next(fc)), a), data=data))  # fmt: skip
        if kind == "Tensor":
            out.append(BoundaryCell("to-numpy", "crossbuf", lambda fc=fc: src.decode(next(fc)).array, data=data))
    if batch:
        frames, n = s.frames, len(s.frames)
        out.append(BoundaryCell("batch-decode-full", "crossbuf", lambda: src.decode_records(frames), "record",
                                records_per_op=n))  # fmt: skip
        if kind == "Sample":
            out.append(BoundaryCell("batch-read-one-field", "crossbuf",
                                    lambda: [v.label for v in src.decode_many(frames)], records_per_op=n))  # fmt: skip
        else:
            field = xb.Field.LOG_MESSAGE if kind == "LogEntry" else xb.Field.TENSOR_NAME
            out.append(BoundaryCell("batch-read-one-field", "crossbuf", lambda: src.read_str(frames, field),
                                    records_per_op=n))  # fmt: skip
    return out


def check(s: Setup) -> Optional[str]:
    """None if what Python reads back is the generated pool, else why not."""
    src, xb = s.src, s.xb
    for i, (rec, f) in enumerate(zip(s.pool, s.frames)):
        why = same_record(rec, src.decode_record(f)) or same_record(rec, src.decode(f).to_record())
        if why:
            return f"decode-full check failed on record {i}: " + why
    if not hasattr(s.pool[0], "data"):
        for i, (rec, got) in enumerate(zip(s.pool, src.decode_records(s.frames))):
            why = same_record(rec, got)
            if why:
                return f"batch decode-full check failed on record {i}: " + why
    want = [expected_field(r) for r in s.pool]
    if isinstance(want[0], str):
        field = xb.Field.LOG_MESSAGE if hasattr(s.pool[0], "message") else xb.Field.TENSOR_NAME
        if src.read_str(s.frames, field) != want or [src.read_field(f, field) for f in s.frames] != want:
            return "read_str / read_field check failed"
    elif [v.label for v in src.decode_many(s.frames)] != want:
        return "label check failed"
    if hasattr(s.pool[0], "data"):
        for i, (rec, f) in enumerate(zip(s.pool, s.frames)):
            a = src.decode(f).array
            if a.shape != tuple(rec.shape) or a.tobytes() != bytes(rec.data):
                return f"to-numpy check failed on record {i}"
    return None
