"""What a call into the library costs after the caller was away from Go for
a while (bench/channel/analysis.md, "Calls after idle").

    PYTHONPATH=python .venv/bin/python bench/channel/probe_cgo_entry.py

Pinned to one CPU, it times a trivial exported Go function
(xb_abi_version) and a trivial libc function (getpid) through ctypes, each
call after a busy pause of 0 to 1000 µs in Python, and prints p50 and p90
per pause. The difference between the two rows is what entering the Go
runtime costs after idle; `strace -f -e trace=futex` on this script shows
where it goes (a futex wake of the runtime's sysmon thread per call)."""

from __future__ import annotations

import ctypes
import os
import statistics
import sys
import time
from typing import Callable, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python"))

import crossbuf  # noqa: E402, F401 - loads the library
from crossbuf._lib import lib  # noqa: E402

GAPS_NS = [0, 20_000, 100_000, 300_000, 1_000_000]
CALLS = 2000


def probe(fn: Callable[[], object], gap: int) -> List[int]:
    now = time.monotonic_ns
    out = []
    for _ in range(CALLS):
        t = now()
        fn()
        out.append(now() - t)
        end = now() + gap
        while now() < end:
            pass
    return sorted(out)


def main() -> None:
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    fns = {"Go (xb_abi_version)": lib.xb_abi_version, "libc (getpid)": ctypes.CDLL(None).getpid}
    print(f"{'pause before the call':>22s}  " + "  ".join(f"{k:>26s}" for k in fns))
    for gap in GAPS_NS:
        cols = []
        for fn in fns.values():
            s = probe(fn, gap)
            cols.append(f"p50 {statistics.median(s) / 1e3:5.2f} p90 {s[int(len(s) * 0.9)] / 1e3:5.2f} µs")
        print(f"{gap / 1e3:>19.0f} µs  " + "  ".join(f"{c:>26s}" for c in cols))
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
