"""Context 3, across the boundary: the Go core encodes into a region
(crossbuf.Region.encode / encode_many, through the C ABI) and Python reads
the frames through the crossbuf package.

Every cell cycles through the frames of a pool of records (seeds 1..N, the
pool of every context); data=single repeats seed 1. The field is
LogEntry.message, Sample.label or Tensor.name. Cells per format and record:
  encode          region.encode(record, codec): the crossbuf record (a msgspec
                  Struct) -> MessagePack (msgspec) -> Go -> frame
  decode-full     region.decode(frame): the crossbuf record, every field a Python
                  object (Go writes MessagePack, msgspec builds the Struct; a
                  Tensor's data is copied into bytes)
  read-one-field  region.decode(frame).<field>
  read-one-field  lib=crossbuf-view, FlatBuffers and Cap'n Proto only:
                  region.view(frame).<field>, a RecordView of the bundled
                  schema whose attribute read is one compiled-path read in
                  place (the path compiled once per schema, before timing).
                  JSON, MessagePack and Protobuf frames have no in-place
                  view (region.view decodes them: the lib=crossbuf cell), so
                  they have no crossbuf-view cell.
  batch-decode-full     region.decode_many(N frames), N = the pool (1000 records)
  batch-read-one-field  FlatBuffers and Cap'n Proto: FieldPath.read_many(N frames)
                        of the bundled schema's path to the field, compiled once
                        before timing (one library call); JSON, MessagePack and
                        Protobuf: the field of each of region.decode_many(N frames)
  to-numpy        Tensor, the data as a typed, shaped numpy array. FlatBuffers and
                  Cap'n Proto: three compiled paths of the bundled schema read data
                  (a memoryview of region memory, no copy), dtype and shape (a numpy
                  array over region memory), then np.frombuffer + reshape.
                  JSON, MessagePack and Protobuf: region.decode(frame).array() (the
                  data copied into bytes by the decode, then viewed).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import numpy as np

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
    """The regions of one (format, record) pool, and for FlatBuffers and
    Cap'n Proto the bundled schema's compiled paths; close() releases them."""

    def __init__(self, xb: Any, codec: Any, pool: List[Any]) -> None:
        self.xb, self.codec, self.pool = xb, codec, pool
        self.kind = type(pool[0]).__name__
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
        # The in-place reads (FlatBuffers, Cap'n Proto): paths of the bundled
        # schema, compiled once here, as a reader of many frames does.
        self.zero_copy = codec in (xb.Codec.FLATBUFFERS, xb.Codec.CAPNP)
        self.field_path: Any = None
        self.tensor_paths: Any = None
        if self.zero_copy:
            sch = xb.bundled.schema(codec)
            name = xb.bundled.type_name(codec, type(pool[0]).record_type)
            self.field_path = sch.path(name, _FIELD[self.kind])
            if self.kind == "Tensor":
                self.tensor_paths = (sch.path(name, "data"), sch.path(name, "dtype"), sch.path(name, "shape"))

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

    def to_numpy(self) -> Callable[[Any], Any]:
        """frame -> the Tensor's data as a typed, shaped numpy array."""
        if not self.zero_copy:
            decode = self.src.decode
            return lambda f: decode(f).array()
        data, dtype, shape = self.tensor_paths
        read_data, read_dtype, read_shape = data.read, dtype.read, shape.read
        DType, frombuffer = self.xb.DType, np.frombuffer

        def to_numpy(f: Any) -> Any:
            return frombuffer(read_data(f), DType(read_dtype(f)).numpy).reshape(read_shape(f))

        return to_numpy

    def close(self) -> None:
        self.frames = []
        self.field_path = self.tensor_paths = None
        self.src.close()
        self.dst.close()


def cells(xb: Any, s: Setup, kind: str, single: bool, batch: bool) -> List[BoundaryCell]:
    """The timed functions of one (format, record); kind is LogEntry, Sample or Tensor."""
    src = s.src
    out: List[BoundaryCell] = []
    attr = _FIELD[kind]
    to_numpy = s.to_numpy() if kind == "Tensor" else None
    datas = [("pool", s.frames, s.pool)] + ([("single", s.frames[:1], s.pool[:1])] if single else [])
    for data, frames, pool in datas:
        nb = sum(len(f.payload) for f in frames) // len(frames)
        fc = itertools.cycle(frames)
        out += [
            BoundaryCell("encode", "crossbuf", s.encoder(pool), "record", data, nbytes=nb),
            BoundaryCell("decode-full", "crossbuf", lambda fc=fc: src.decode(next(fc)), "record", data),
        ]
        out.append(BoundaryCell("read-one-field", "crossbuf",
                                lambda fc=fc, a=attr: getattr(src.decode(next(fc)), a), data=data))  # fmt: skip
        if s.zero_copy:  # the other codecs' region.view is region.decode: the cell above
            out.append(BoundaryCell("read-one-field", "crossbuf-view",
                                    lambda fc=fc, a=attr: getattr(src.view(next(fc)), a), data=data))  # fmt: skip
        if kind == "Tensor":
            out.append(BoundaryCell("to-numpy", "crossbuf", lambda fc=fc, t=to_numpy: t(next(fc)), data=data))
    if batch:
        frames, n = s.frames, len(s.frames)
        out.append(BoundaryCell("batch-decode-full", "crossbuf", lambda: src.decode_many(frames), "record",
                                records_per_op=n))  # fmt: skip
        if s.zero_copy:
            read_many = s.field_path.read_many
            out.append(BoundaryCell("batch-read-one-field", "crossbuf", lambda: read_many(frames), records_per_op=n))
        else:
            out.append(BoundaryCell("batch-read-one-field", "crossbuf",
                                    lambda: [getattr(r, attr) for r in src.decode_many(frames)],
                                    records_per_op=n))  # fmt: skip
    return out


def check(s: Setup) -> Optional[str]:
    """None if what Python reads back is the generated pool, else why not."""
    src = s.src
    for i, (rec, f) in enumerate(zip(s.pool, s.frames)):
        why = same_record(rec, src.decode(f))
        if why:
            return f"decode-full check failed on record {i}: " + why
    if not hasattr(s.pool[0], "data"):
        for i, (rec, got) in enumerate(zip(s.pool, src.decode_many(s.frames))):
            why = same_record(rec, got)
            if why:
                return f"batch decode-full check failed on record {i}: " + why
    want = [expected_field(r) for r in s.pool]
    attr = _FIELD[s.kind]
    if s.zero_copy:
        if [getattr(src.view(f), attr) for f in s.frames] != want:
            return f"read-one-field (region.view) check of {attr} failed"
        if s.field_path.read_many(s.frames) != want:
            return f"batch read-one-field (FieldPath.read_many) check of {attr} failed"
    elif [getattr(r, attr) for r in src.decode_many(s.frames)] != want:
        return f"batch read-one-field check of {attr} failed"
    if hasattr(s.pool[0], "data"):
        to_numpy = s.to_numpy()
        lo, hi = src.address, src.address + src.capacity
        for i, (rec, f) in enumerate(zip(s.pool, s.frames)):
            a = to_numpy(f)
            if a.dtype != rec.dtype.numpy or a.shape != tuple(rec.shape) or a.tobytes() != bytes(rec.data):
                return f"to-numpy check failed on record {i}"
            if s.zero_copy and not (lo <= a.ctypes.data and a.ctypes.data + a.nbytes <= hi):
                return f"to-numpy check failed on record {i}: the array is not over region memory"
            del a
    return None
