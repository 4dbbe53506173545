"""Where a Python consumer's time goes per frame when it takes batches
(bench/channel/analysis.md, "Go→Python throughput").

    PYTHONPATH=python .venv/bin/python bench/channel/probe_batch.py

In one process, pinned to one CPU: 20 000 bundled LogEntry frames
(FlatBuffers) are published beforehand, then consumed in batches of 256
several ways, and the time per frame printed (best of three passes):
the library's batch receive alone, Subscriber.receive_many (frame objects
with their payload views; then each frame's .payload taken, as a consumer
of the payloads does), Subscriber.receive_payloads (the views alone), and FieldPath.receive_many of `message` read as
a view (text="view"), split into the library's path read and the Python
that cuts and registers the views; then what checking such a view against
bytes costs, compared directly and through a copy."""

from __future__ import annotations

import ctypes
import os
import sys
import time
import uuid
from typing import Callable, Dict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python"))

import crossbuf as xb  # noqa: E402
from crossbuf import schema as S  # noqa: E402
from crossbuf import testdata  # noqa: E402
from crossbuf._lib import lib  # noqa: E402

N = 20_000
BATCH = 256


def main() -> None:
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    fb = xb.bundled.schema()
    tid = fb.type_id("crossbuf_fb.LogEntry")
    path = fb.path(tid, "message", text="view")
    with xb.Region.anonymous(1 << 24) as r:
        bodies = [bytes(r.encode(testdata.log_entry(i)).payload) for i in range(1, BATCH + 1)]
    split: Dict[str, int] = {}

    def _take(sub: xb.Subscriber, n: int) -> int:
        b = sub._ch._enter()  # as receive_many does
        try:
            return sub._take_batch(b, n, None)
        finally:
            b.busy = False

    def take_only(sub: xb.Subscriber) -> None:
        left = N
        while left:
            left -= _take(sub, min(BATCH, left))

    def frames(sub: xb.Subscriber) -> None:
        left = N
        while left:
            fs = sub.receive_many(min(BATCH, left))
            left -= len(fs)

    def frame_payloads(sub: xb.Subscriber) -> None:
        left = N
        while left:
            ps = [f.payload for f in sub.receive_many(min(BATCH, left))]
            left -= len(ps)

    def payloads(sub: xb.Subscriber) -> None:
        left = N
        while left:
            left -= len(sub.receive_payloads(min(BATCH, left)))

    def one_field(sub: xb.Subscriber) -> None:
        left = N
        while left:
            vs = path.receive_many(sub, max=min(BATCH, left))
            left -= len(vs)

    def one_field_split(sub: xb.Subscriber) -> None:
        left, t_lib, t_py = N, 0, 0
        while left:
            n = _take(sub, min(BATCH, left))
            out = (S._VALUE_CTYPES[path._kind] * n)()
            present = (ctypes.c_uint8 * n)()
            t0 = time.perf_counter_ns()
            st = lib.xb_path_read_received(path._h, sub._handle(), ctypes.addressof(sub._batch), n,
                                           ctypes.addressof(out), ctypes.addressof(present))  # fmt: skip
            t1 = time.perf_counter_ns()
            assert st == 0
            path._values_received(sub, out, present)
            t2 = time.perf_counter_ns()
            t_lib, t_py, left = t_lib + t1 - t0, t_py + t2 - t1, left - n
        split["path read in the library"] = min(split.get("path read in the library", 1 << 62), t_lib)
        split["views cut and registered (Python)"] = min(split.get("views cut and registered (Python)", 1 << 62), t_py)

    runs: Dict[str, Callable[[xb.Subscriber], None]] = {
        "batch receive in the library (_take_batch)": take_only,
        "Subscriber.receive_many (frames + payload views)": frames,
        "  and each frame's .payload": frame_payloads,
        "Subscriber.receive_payloads (payload views alone)": payloads,
        "FieldPath.receive_many, text=\"view\"": one_field,
        "(split)": one_field_split,
    }
    for label, fn in runs.items():
        best = 1 << 62
        for _ in range(3):
            name = f"xb-probe-{uuid.uuid4().hex[:8]}"
            with xb.Channel.create(name, 64 << 20) as ch, ch.subscribe(wait="spin") as sub:
                for i in range(0, N, BATCH):
                    ch.publish_many(bodies[: min(BATCH, N - i)], codec=xb.Codec.FLATBUFFERS, type_id=tid)
                t = time.perf_counter_ns()
                fn(sub)
                best = min(best, time.perf_counter_ns() - t)
            xb.channel.unlink(name)
        if label != "(split)":
            print(f"{label:52s} {best / N / 1e3:5.2f} µs per frame")
    for k, v in split.items():
        print(f"  of which {k:42s} {v / N / 1e3:5.2f} µs per frame")
    # How a consumer checks such a view: CPython compares a memoryview with
    # bytes element by element; a copy first is far cheaper.
    name = f"xb-probe-{uuid.uuid4().hex[:8]}"
    with xb.Channel.create(name, 1 << 20) as ch, ch.subscribe(wait="spin") as sub:
        ch.publish(bodies[0], codec=xb.Codec.FLATBUFFERS, type_id=tid)
        v = path.read(sub.receive(timeout=1))
        want = bytes(v)
        for label, cmp in (("view == bytes", lambda: v == want), ("view.tobytes() == bytes", lambda: v.tobytes() == want)):
            t = time.perf_counter_ns()
            for _ in range(N):
                cmp()
            print(f"check of a {len(want)}-byte string view, {label:26s} {(time.perf_counter_ns() - t) / N / 1e3:5.2f} µs")
        v = None
        sub.release()
    xb.channel.unlink(name)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
