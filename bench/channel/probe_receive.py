"""Where a spinning Python receive spends its time (bench/channel/analysis.md).

    ./build.sh lib && go build -o build/bench/chanbench-gopeer ./bench/channel/gopeer
    PYTHONPATH=python .venv/bin/python bench/channel/probe_receive.py [N]

A Go producer (gopeer, pinned to CPU 0) sends N LogEntry messages one at a
time, 20-40 µs apart; this process (pinned to CPU 1) receives them twice
over: through Subscriber.receive() + frame.payload, and through a bare
ctypes loop on xb_subscriber_receive. It prints, at p50 and p99, commit (the
frame's publish stamp) -> the receive call's return, and -> the payload's
first bytes read; then the cost of a bare ctypes call and of a receive that
finds nothing (timeout 0)."""

from __future__ import annotations

import ctypes
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.join(ROOT, "python")]

import crossbuf as xb  # noqa: E402
from crossbuf._lib import FRAME_FMT  # noqa: E402
from pypeer import Ack  # noqa: E402


def q(a: List[int]) -> Tuple[float, float]:
    s = sorted(a)
    return statistics.median(s) / 1e3, s[int(len(s) * 0.99)] / 1e3


def run(mode: str, n: int) -> None:
    name = f"xb-probe-{uuid.uuid4().hex[:8]}"
    ackp = f"/dev/shm/{name}.ack"
    with open(ackp, "wb") as f:
        f.write(bytes(64))
    ack = Ack(ackp)
    now = time.monotonic_ns
    with xb.Channel.create(name, 16 << 20) as ch, ch.subscribe(wait="spin") as sub:
        pub = subprocess.Popen([os.path.join(ROOT, "build", "bench", "chanbench-gopeer"), "-role", "pub", "-addr",
                                name, "-ack", ackp, "-n", str(n), "-m", "1", "-reps", "1", "-cpu", "0",
                                "-gap", "20us"])  # fmt: skip
        ack.words[1] = 1
        ret: List[int] = []
        read: List[int] = []
        lib, h = xb._lib.lib, sub._h
        fr = xb._lib.XbFrame()
        ref, mv = ctypes.byref(fr), memoryview(fr).cast("B")
        for i in range(n + 1):
            if mode == "api":
                f = sub.receive()
                t1 = now()
                p = f.payload
                p[:24].tobytes()
                t2 = now()
                pub_ns = f.publish_ns
                p = f = None  # type: ignore[assignment]
            else:
                lib.xb_subscriber_receive(h, 50_000_000, ref)
                t1 = now()
                pub_ns = FRAME_FMT.unpack_from(mv)[4]
                t2 = now()
                lib.xb_subscriber_release(h)
            if i < n:
                ret.append(t1 - pub_ns)
                read.append(t2 - pub_ns)
            ack.words[0] = i + 1
        pub.wait()
        t = now()
        for _ in range(20000):
            lib.xb_subscriber_receive(h, 0, ref)
        empty = (now() - t) / 20000
    xb.channel.unlink(name)
    os.unlink(ackp)
    print(f"{mode:4s}: commit -> call returned p50/p99 {q(ret)[0]:.2f}/{q(ret)[1]:.2f} µs; commit -> payload read "
          f"{q(read)[0]:.2f}/{q(read)[1]:.2f} µs; receive finding nothing {empty / 1e3:.2f} µs")  # fmt: skip


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    os.sched_setaffinity(0, {1})
    run("api", n)
    run("raw", n)
    f = ctypes.CDLL(None).getpid
    t = time.perf_counter_ns()
    for _ in range(100000):
        f()
    print(f"bare ctypes call (getpid): {(time.perf_counter_ns() - t) / 1e5 / 1e3:.2f} µs; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
