"""Where Python's LogEntry reads, decodes and encodes spend their time, one
call at a time in one process (bench/analysis.md cites it):

    PYTHONPATH=python .venv/bin/python bench/python/one_record.py

Each line is the best of 9 timeit repetitions; the machine's noise moves
them by up to 2x between runs, so compare lines of one run."""

from __future__ import annotations

import ctypes
import timeit
from typing import Any, Callable, List, Tuple

import crossbuf as xb
import msgspec
from crossbuf import bundled
from crossbuf._lib import FRAME_FMT, lib


def best_us(fn: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=9)) / number * 1e6


def main() -> None:
    rec = xb.testdata.log_entry(7)
    packed = msgspec.msgpack.encode(rec)
    decoder, encoder = msgspec.msgpack.Decoder(xb.LogEntry), msgspec.msgpack.Encoder()
    with xb.Region.anonymous(1 << 22) as r, xb.Region.anonymous(1 << 22) as warm:
        f = r.encode(rec, xb.Codec.FLATBUFFERS)
        path = bundled.schema().path("crossbuf_fb.LogEntry", "message")
        view = r.view(f)
        ts = r._enter()  # the thread's reused arguments, as FieldPath.read passes them
        ts.busy = False
        FRAME_FMT.pack_into(ts.frame_mv, 0, f.offset, f.region_id, f.generation, 0, 0, 0, 0, 0)
        ready = (path._h_arg, r._h_arg, ts.frame_arg, ctypes.c_uint64(1), ts.val_arg, ts.present_arg)
        ints = (path._h, r._h, ts.frame_addr, 1, ts.val_addr, ts.val_addr + 16)

        def encode_1000() -> None:  # into a warm region: no first-touch page faults
            for _ in range(1000):
                warm.encode(rec, xb.Codec.FLATBUFFERS)
            warm.reset()

        rows: List[Tuple[str, Callable[[], Any], int]] = [
            ("msgspec decode of the record + .message", lambda: decoder.decode(packed).message, 20000),
            ("msgspec encode of the record", lambda: encoder.encode(rec), 20000),
            ("region.view(frame)", lambda: r.view(f), 20000),
            ("view.message (view made before)", lambda: view.message, 20000),
            ("FieldPath.read(frame)", lambda: path.read(f), 20000),
            ("xb_path_read, ready-made ctypes arguments", lambda: lib.xb_path_read(*ready), 20000),
            ("xb_path_read, Python int arguments", lambda: lib.xb_path_read(*ints), 20000),
            ("region.decode(frame)", lambda: r.decode(f), 20000),
        ]
        for name, fn, number in rows:
            print(f"{name:45s} {best_us(fn, number):7.2f} µs")
        batch = [r.encode(xb.testdata.log_entry(i), xb.Codec.FLATBUFFERS) for i in range(1, 1001)]
        print(f"{'FieldPath.read_many(1000 frames), per frame':45s} "
              f"{best_us(lambda: path.read_many(batch), 20) / 1000:7.2f} µs")
        print(f"{'FieldPath.read of each of them, per frame':45s} "
              f"{best_us(lambda: [path.read(f) for f in batch], 20) / 1000:7.2f} µs")
        print(f"{'region.encode(record), warm region':45s} {best_us(encode_1000, 5) / 1000:7.2f} µs")


if __name__ == "__main__":
    main()
