"""Bootstrap statistics of the suite: the 95 % interval of a cell's median,
of the ratio of two cells' medians, and the verdicts built on them.

Percentile bootstrap with a fixed seed, so a report regenerated from the
same latest.json says the same thing."""

from __future__ import annotations

import statistics
from typing import Any, Optional, Sequence, Tuple

import numpy as np

RESAMPLES = 2000
SEED = 20261201


def _medians(xs: Sequence[float], rng: Any) -> Any:
    a = np.asarray(xs, dtype=float)
    return np.median(a[rng.integers(0, len(a), size=(RESAMPLES, len(a)))], axis=1)


def median_ci(xs: Sequence[float]) -> Tuple[float, float]:
    """95 % percentile-bootstrap interval of the median of xs."""
    if len(xs) < 2:
        v = float(xs[0]) if xs else float("nan")
        return v, v
    lo, hi = np.percentile(_medians(xs, np.random.default_rng(SEED)), [2.5, 97.5])
    return float(lo), float(hi)


def ratio_ci(num: Sequence[float], den: Sequence[float]) -> Tuple[float, float, float]:
    """Ratio of medians num/den and its 95 % bootstrap interval (the two
    cells resampled independently)."""
    r = statistics.median(num) / statistics.median(den)
    if len(num) < 2 or len(den) < 2:
        return r, r, r
    rng = np.random.default_rng(SEED)
    lo, hi = np.percentile(_medians(num, rng) / _medians(den, rng), [2.5, 97.5])
    return r, float(lo), float(hi)


def compare(lo_a: float, hi_a: float, lo_b: float, hi_b: float) -> str:
    """'faster', 'slower' or 'tie' for times a against b, from their intervals:
    a verdict only when the intervals do not overlap."""
    if hi_a < lo_b:
        return "faster"
    if lo_a > hi_b:
        return "slower"
    return "tie"


def within(lo: float, hi: float, limit: float) -> Optional[bool]:
    """True if the whole interval is at or below limit, False if it is all
    above, None (a tie) if it straddles it."""
    if hi <= limit:
        return True
    if lo > limit:
        return False
    return None
