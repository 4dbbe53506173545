"""Context 3, across the boundary: the Go core encodes into a region
(crossbuf.Region.encode / encode_many, through the C ABI) and Python reads
the frames through the crossbuf package.

Cells per format and record:
  encode          region.encode(record, codec): Python dataclass -> Go -> frame
  decode-full     region.decode_record(frame): a dataclass, every field a Python object
                  (one library call; LogEntry and Sample come back as one marshal buffer)
  read-one-field  region.read_field(frame, field): one library call, no view
                  (Sample: region.decode_record(frame).label)
  read-one-field  lib=crossbuf-view: region.decode(frame).<field> (build a view, read one property)
  batch-decode-full  decode_records(N frames), N = 1000 (records/s)
  batch-read-one-field  read_str(N frames, field), N = 1000 (records/s)
  to-numpy        Tensor: region.decode(frame).array, no copy of the data
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from .native import expected_field, same_record

BATCH = 1000


@dataclass
class BoundaryCell:
    op: str
    lib: str
    fn: Optional[Callable[[], Any]]
    nbytes: Optional[int] = None
    records_per_op: int = 1
    reason: str = ""


class Setup:
    """The regions of one (format, record) pair; close() releases them."""

    def __init__(self, xb: Any, codec: Any, rec: Any, batch: bool) -> None:
        self.xb, self.codec, self.rec = xb, codec, rec
        size = len(getattr(rec, "data", b"")) + 4096
        n = BATCH if batch else 1
        # Frames to read, written once by the Go core.
        self.src = xb.Region.anonymous(max(1 << 20, 2 * size * n + (1 << 16)))
        self.frame = self.src.encode(rec, codec)
        self.frames: List[Any] = self.src.encode_many([rec] * BATCH, codec) if batch else []
        # Encode target, reset whenever it fills up.
        self.dst = xb.Region.anonymous(max(16 << 20, 4 * size + (1 << 16)))
        self.dst.prefault()  # a warm ring, as a long-running producer has

    def encode(self) -> None:
        try:
            self.dst.encode(self.rec, self.codec)
        except self.xb.RegionFullError:
            self.dst.reset()
            self.dst.encode(self.rec, self.codec)

    def close(self) -> None:
        self.frame = None
        self.frames = []
        self.src.close()
        self.dst.close()


def cells(xb: Any, setup: Setup, kind: str) -> List[BoundaryCell]:
    """The timed functions of one (format, record); kind is LogEntry, Sample or Tensor."""
    src, frame, frames = setup.src, setup.frame, setup.frames
    out = [
        BoundaryCell("encode", "crossbuf", setup.encode, nbytes=len(frame.payload)),
        BoundaryCell("decode-full", "crossbuf", lambda: src.decode_record(frame)),
    ]
    if kind == "Sample":
        out.append(BoundaryCell("read-one-field", "crossbuf", lambda: src.decode_record(frame).label))
        out.append(BoundaryCell("read-one-field", "crossbuf-view", lambda: src.decode(frame).label))
        field = None
    else:
        field = xb.Field.LOG_MESSAGE if kind == "LogEntry" else xb.Field.TENSOR_NAME
        attr = "message" if kind == "LogEntry" else "name"
        out.append(BoundaryCell("read-one-field", "crossbuf", lambda: src.read_field(frame, field)))
        out.append(BoundaryCell("read-one-field", "crossbuf-view", lambda: getattr(src.decode(frame), attr)))
    if frames:
        out.append(
            BoundaryCell(
                "batch-decode-full", "crossbuf", lambda: src.decode_records(frames),
                records_per_op=BATCH,
            )
        )
        if field is not None:
            out.append(BoundaryCell("batch-read-one-field", "crossbuf", lambda: src.read_str(frames, field),
                                    records_per_op=BATCH))  # fmt: skip
        else:
            out.append(BoundaryCell("batch-read-one-field", "crossbuf",
                                    lambda: [v.label for v in src.decode_many(frames)], records_per_op=BATCH))  # fmt: skip
    if kind == "Tensor":
        out.append(BoundaryCell("to-numpy", "crossbuf", lambda: src.decode(frame).array))
    return out


def check(setup: Setup) -> Optional[str]:
    """None if what Python reads back is the generated record, else why not."""
    src, rec = setup.src, setup.rec
    why = same_record(rec, src.decode_record(setup.frame)) or same_record(rec, src.decode(setup.frame).to_record())
    if why:
        return "decode-full check failed: " + why
    want = expected_field(rec)
    if setup.frames:
        for got in src.decode_records(setup.frames):
            why = same_record(rec, got)
            if why:
                return "batch decode-full check failed: " + why
    if isinstance(want, str):
        field = setup.xb.Field.LOG_MESSAGE if hasattr(rec, "message") else setup.xb.Field.TENSOR_NAME
        got = src.read_str([setup.frame] + setup.frames, field)
        if any(g != want for g in got) or src.read_field(setup.frame, field) != want:
            return "read_str check failed"
    elif src.decode(setup.frame).label != want:
        return "label check failed"
    return None
