"""Bootstrap statistics of the suite: the 95 % interval of a cell's median,
of the ratio of two cells' medians, and the verdicts built on them.

Percentile bootstrap with a fixed seed, so a report regenerated from the
same latest.json says the same thing."""

from __future__ import annotations

import random
import statistics
from typing import List, Optional, Sequence, Tuple

RESAMPLES = 2000
SEED = 20261201


def _medians(xs: Sequence[float], rng: random.Random, n: int = RESAMPLES) -> List[float]:
    k = len(xs)
    return [statistics.median(rng.choices(xs, k=k)) for _ in range(n)]


def _pct(sorted_xs: List[float], q: float) -> float:
    i = min(len(sorted_xs) - 1, max(0, int(round(q * (len(sorted_xs) - 1)))))
    return sorted_xs[i]


def median_ci(xs: Sequence[float]) -> Tuple[float, float]:
    """95 % percentile-bootstrap interval of the median of xs."""
    if len(xs) < 2:
        v = float(xs[0]) if xs else float("nan")
        return v, v
    ms = sorted(_medians(xs, random.Random(SEED)))
    return _pct(ms, 0.025), _pct(ms, 0.975)


def ratio_ci(num: Sequence[float], den: Sequence[float]) -> Tuple[float, float, float]:
    """Ratio of medians num/den and its 95 % bootstrap interval (the two
    cells resampled independently)."""
    r = statistics.median(num) / statistics.median(den)
    if len(num) < 2 or len(den) < 2:
        return r, r, r
    rng = random.Random(SEED)
    a, b = _medians(num, rng), _medians(den, rng)
    rs = sorted(x / y for x, y in zip(a, b))
    return r, _pct(rs, 0.025), _pct(rs, 0.975)


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
