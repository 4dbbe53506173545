"""Context 3, across the boundary: the Go core encodes into a region
(crossbuf.Region.encode / encode_many, through the C ABI) and Python reads
the frames through the crossbuf package.

Every cell cycles through the frames of a pool of records (seeds 1..N, the
pool of every context); data=single repeats seed 1. Cells per format and record:
  encode          region.encode(record, codec): Python dataclass -> Go -> frame
  decode-full     region.decode(frame): the crossbuf dataclass, every field a Python
                  object (a view's fields copied out; a Tensor's data is copied into bytes)
  read-one-field  region.decode(frame).<field>
  read-one-field  lib=crossbuf-view: region.view(frame).<field> (build a view, read one property)
  batch-decode-full     decode_many(N frames), N = the pool (1000 records)
  batch-read-one-field  the field of each of view_many(N frames)
  to-numpy        Tensor: region.view(frame).array, no copy of the data
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


_FIELD = {"LogEntry": "message", "Sample": "label", "Tensor": "name"}


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
            BoundaryCell("decode-full", "crossbuf", lambda fc=fc: src.decode(next(fc)), "record", data),
        ]
        attr = _FIELD[kind]
        out.append(BoundaryCell("read-one-field", "crossbuf",
                                lambda fc=fc, a=attr: getattr(src.decode(next(fc)), a), data=data))  # fmt: skip
        out.append(BoundaryCell("read-one-field", "crossbuf-view",
                                lambda fc=fc, a=attr: getattr(src.view(next(fc)), a), data=data))  # fmt: skip
        if kind == "Tensor":
            out.append(BoundaryCell("to-numpy", "crossbuf", lambda fc=fc: src.view(next(fc)).array, data=data))
    if batch:
        frames, n = s.frames, len(s.frames)
        out.append(BoundaryCell("batch-decode-full", "crossbuf", lambda: src.decode_many(frames), "record",
                                records_per_op=n))  # fmt: skip
        attr = _FIELD[kind]
        out.append(BoundaryCell("batch-read-one-field", "crossbuf",
                                lambda: [getattr(v, attr) for v in src.view_many(frames)], records_per_op=n))  # fmt: skip
    return out


def check(s: Setup) -> Optional[str]:
    """None if what Python reads back is the generated pool, else why not."""
    src = s.src
    for i, (rec, f) in enumerate(zip(s.pool, s.frames)):
        why = same_record(rec, src.decode(f)) or same_record(rec, src.view(f).to_record())
        if why:
            return f"decode-full check failed on record {i}: " + why
    if not hasattr(s.pool[0], "data"):
        for i, (rec, got) in enumerate(zip(s.pool, src.decode_many(s.frames))):
            why = same_record(rec, got)
            if why:
                return f"batch decode-full check failed on record {i}: " + why
    want = [expected_field(r) for r in s.pool]
    attr = "message" if hasattr(s.pool[0], "message") else "name" if hasattr(s.pool[0], "data") else "label"
    if [getattr(v, attr) for v in src.view_many(s.frames)] != want:
        return f"{attr} check failed"
    if hasattr(s.pool[0], "data"):
        for i, (rec, f) in enumerate(zip(s.pool, s.frames)):
            a = src.view(f).array
            if a.shape != tuple(rec.shape) or a.tobytes() != bytes(rec.data):
                return f"to-numpy check failed on record {i}"
    return None
