"""Timing machinery shared by the Python contexts: timeit-style autoranging,
warm-up, repetitions interleaved across cells, median and spread."""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional


@dataclass
class Cell:
    """One measurement of the results table (one row of latest.json)."""

    context: str
    format: str
    lib: str
    record: str
    op: str
    variant: str = "default"  # how the library is used (bench/README.md: variants)
    data: str = "pool"  # pool: cycles through the record pool; single: seed 1 only
    status: str = "ok"  # ok | missing | failed
    reason: str = ""
    ns_per_op: Optional[float] = None
    q1: Optional[float] = None
    q3: Optional[float] = None
    min: Optional[float] = None
    max: Optional[float] = None
    ci_lo: Optional[float] = None  # 95 % bootstrap interval of the median
    ci_hi: Optional[float] = None
    reps: int = 0  # samples behind the median (Go: rounds kept; Python, C: repetitions)
    inner: int = 0  # calls per repetition (Go: the smallest b.N of the kept rounds)
    samples: List[float] = field(default_factory=list)  # ns per op of each kept repetition
    iters: List[int] = field(default_factory=list)  # Go: b.N of each kept round
    below_floor: bool = False  # Go: a round ran < 10 iterations and < the benchtime
    bytes: Optional[int] = None
    records_per_op: int = 1  # batch cells time N records per call
    allocs_per_op: Optional[float] = None
    bytes_per_op: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        return f"{self.context}/{self.format}/{self.lib}/{self.variant}/{self.data}/{self.record}/{self.op}"

    def set_samples(self, ns: List[float]) -> None:
        """Median with its bootstrap interval, quartiles and extremes of
        per-op times in ns."""
        import numpy as np  # here, not at import: `run.py --help` must not need the venv

        from .stats import median_ci

        self.samples = [float(x) for x in ns]
        self.reps = len(ns)
        self.ns_per_op = statistics.median(ns)
        q1, q3 = np.percentile(ns, [25, 75])
        self.q1, self.q3 = float(q1), float(q3)
        self.min, self.max = min(ns), max(ns)
        self.ci_lo, self.ci_hi = median_ci(self.samples)


@dataclass
class Timed:
    """A cell whose function is being measured."""

    cell: Cell
    fn: Callable[[], Any]
    inner: int = 1
    samples: List[float] = field(default_factory=list)


def autorange(fn: Callable[[], Any], target_s: float) -> int:
    """Calls per repetition so that one repetition lasts about target_s
    (timeit.Timer.autorange's 1-2-5 steps, with a custom target)."""
    i = 1
    while True:
        for j in (1, 2, 5):
            n = i * j
            t0 = time.perf_counter_ns()
            for _ in range(n):
                fn()
            dt = (time.perf_counter_ns() - t0) / 1e9
            if dt >= target_s:
                return n
        i *= 10


def time_once(fn: Callable[[], Any], n: int) -> float:
    """ns per call of one repetition of n calls, with the GC off as timeit does."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        return (time.perf_counter_ns() - t0) / n
    finally:
        if gc_was:
            gc.enable()


def run_interleaved(timed: List[Timed], reps: int, target_s: float, progress: Any = None) -> None:
    """Calibrates and warms every cell up, then runs the repetitions round by
    round across all cells, so slow drifts of a shared machine spread over
    every cell instead of hitting a few."""
    for t in timed:
        try:
            t.fn()  # warm-up: first-call costs (imports, caches, page faults)
            t.inner = autorange(t.fn, target_s)
            t.cell.inner = t.inner
        except Exception as e:  # noqa: BLE001 - any failure becomes a visible cell
            t.cell.status, t.cell.reason = "failed", f"{type(e).__name__}: {e}"
        if progress is not None:
            progress()
    live = [t for t in timed if t.cell.status == "ok"]
    for _ in range(reps):
        for t in live:
            if t.cell.status != "ok":
                continue
            try:
                t.samples.append(time_once(t.fn, t.inner))
            except Exception as e:  # noqa: BLE001
                t.cell.status, t.cell.reason = "failed", f"{type(e).__name__}: {e}"
            if progress is not None:
                progress()
    for t in live:
        if t.cell.status == "ok" and t.samples:
            t.cell.set_samples(t.samples)
