"""The Python record API on the schema engine against msgspec, LogEntry.

    cd bench && OPENBLAS_NUM_THREADS=1 ../.venv/bin/python -m python.engine [--reps 15] [--target 0.02]

crossbuf runs through the bundled FlatBuffers schema (crossbuf.bundled):
records are its generated msgspec Struct classes, frames live in an
anonymous region. msgspec runs on the same Struct classes and the same
records, encoded as MessagePack bytes held in a list. Both cycle through a
pool of records (testdata seeds 1..N). Ops:

  decode-full     region.decode(frame)        msgspec Decoder(LogEntry).decode(bytes)
  batch-decode    region.decode_many(frames)  [decode(b) for b in pool], per record
  read-one-field  path.read(frame) (compiled) Decoder.decode(bytes).message
                  (also region.view(frame).message and path.read_many, per record)
  encode          region.encode(record)       msgspec Encoder.encode(record)
and, to show where crossbuf's time goes, decode-full and encode through the
bare library call (xb_schema_frame_to_msgpack, xb_schema_encode of msgspec's
bytes) against the same msgspec cells.

Prints the median ns per record of each cell and crossbuf's ratio to msgspec
with a 95 % bootstrap interval. The issue's targets: decode-full <= 1.3x,
read-one-field <= 1x, encode <= 2.5x.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
from typing import Any, Callable, Iterator, List, Tuple

import msgspec

from . import native  # noqa: F401 - puts python/ on sys.path
from .stats import ratio_ci
from .timing import Cell, Timed, run_interleaved

LOG = "crossbuf_fb.LogEntry"


def _records(xb: Any, n: int) -> List[Any]:
    fb = xb.bundled.schema()
    le, attr, http = fb[LOG], fb["crossbuf_fb.Attribute"], fb["crossbuf_fb.Http"]
    out = []
    for seed in range(1, n + 1):
        r = xb.testdata.log_entry(seed)
        out.append(le(timestamp_ns=r.timestamp_ns, level=int(r.level), service=r.service, host=r.host,
                      message=r.message, trace_id=list(r.trace_id), tags=list(r.tags),
                      attributes=[attr(key=k, value=v) for k, v in r.attributes.items()],
                      http=http(method=r.http.method, path=r.http.path, status=r.http.status,
                                latency_ns=r.http.latency_ns)))
    return out


def _cycle(xs: List[Any]) -> Callable[[], Any]:
    it: Iterator[Any] = itertools.cycle(xs)
    return lambda: next(it)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--target", type=float, default=0.02, help="seconds per repetition")
    a = ap.parse_args()

    import crossbuf as xb

    fb = xb.bundled.schema()
    recs = _records(xb, a.pool)
    cls = fb[LOG]
    enc = msgspec.msgpack.Encoder()
    dec = msgspec.msgpack.Decoder(cls)
    blobs = [enc.encode(r) for r in recs]
    src = xb.Region.anonymous(64 << 20)
    frames = [src.encode(r) for r in recs]
    dst = xb.Region.anonymous(64 << 20)
    dst.prefault()
    # Same values both ways before anything is timed.
    assert src.decode_many(frames) == recs == [dec.decode(b) for b in blobs]
    message = fb.path(LOG, "message")
    assert message.read_many(frames) == [r.message for r in recs]
    assert [src.view(f).message for f in frames[:50]] == [r.message for r in recs[:50]]

    next_frame, next_blob, next_rec = _cycle(frames), _cycle(blobs), _cycle(recs)

    def encode() -> None:
        r = next_rec()
        try:
            dst.encode(r)
        except xb.RegionFullError:
            dst.reset()
            dst.encode(r)

    tid = fb.type_id(LOG)
    next_enc = _cycle(blobs)

    def encode_call() -> None:
        b = next_enc()
        out = xb._lib.XbFrame()
        st = xb._lib.lib.xb_schema_encode(fb._h, dst._h, tid, b, len(b), ctypes.byref(out))
        if st == xb.RegionFullError.code:
            dst.reset()
        elif st:
            xb._lib.raise_status(st)

    n = len(recs)
    # (op, crossbuf variant, crossbuf fn, msgspec fn, records per call)
    pairs: List[Tuple[str, str, Callable[[], Any], Callable[[], Any], int]] = [
        ("decode-full", "region.decode", lambda: src.decode(next_frame()), lambda: dec.decode(next_blob()), 1),
        ("batch-decode", "region.decode_many", lambda: src.decode_many(frames),
         lambda: [dec.decode(b) for b in blobs], n),
        ("read-one-field", "path.read", lambda: message.read(next_frame()), lambda: dec.decode(next_blob()).message, 1),
        ("read-one-field", "region.view().message", lambda: src.view(next_frame()).message,
         lambda: dec.decode(next_blob()).message, 1),
        ("batch-read-one-field", "path.read_many", lambda: message.read_many(frames),
         lambda: [dec.decode(b).message for b in blobs], n),
        ("encode", "region.encode", encode, lambda: enc.encode(next_rec()), 1),
        # Where crossbuf's time goes: the library call alone (Go reads the
        # frame and writes MessagePack; Go reads MessagePack and writes the
        # frame), against the same msgspec cell.
        ("decode-full", "library call only", lambda: fb._transcode_frame(next_frame(), None, True),
         lambda: dec.decode(next_blob()), 1),
        ("encode", "library call only", encode_call, lambda: enc.encode(next_rec()), 1),
    ]
    timed: List[Tuple[str, str, int, Timed, Timed]] = []
    flat: List[Timed] = []
    for op, variant, fx, fm, per in pairs:
        tx = Timed(Cell("engine", "flatbuffers", "crossbuf", "LogEntry", op, variant=variant), fx)
        tm = Timed(Cell("engine", "msgpack", "msgspec", "LogEntry", op), fm)
        timed.append((op, variant, per, tx, tm))
        flat += [tx, tm]
    run_interleaved(flat, a.reps, a.target)

    print(f"LogEntry, pool of {n}, {a.reps} repetitions; ns per record (median)")
    print(f"{'op':<22} {'crossbuf call':<24} {'crossbuf':>10} {'msgspec':>10} {'ratio':>7}  95% CI")
    for op, variant, per, tx, tm in timed:
        if tx.cell.status != "ok" or tm.cell.status != "ok":
            print(f"{op:<22} {variant:<24} failed: {tx.cell.reason or tm.cell.reason}")
            continue
        r, lo, hi = ratio_ci(tx.samples, tm.samples)
        print(f"{op:<22} {variant:<24} {tx.cell.ns_per_op / per:>10.0f} {tm.cell.ns_per_op / per:>10.0f} "
              f"{r:>6.2f}x  [{lo:.2f}, {hi:.2f}]")
    src.close()
    dst.close()


if __name__ == "__main__":
    main()
