"""The seeded test records every language shares: a line-by-line port of
go/record/generate.go (splitmix64). schemas/testdata/generators.json pins the
output; change all three together."""

from __future__ import annotations

import struct
from typing import List, Sequence, TypeVar

import numpy as np

from .records import DType, Http, Level, LogEntry, Sample, Tensor

_M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15

T = TypeVar("T")


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


class Rand:
    """splitmix64."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & _M64

    def next(self) -> int:
        self.state = (self.state + GOLDEN) & _M64
        return mix(self.state)

    def intn(self, n: int) -> int:
        return self.next() % n

    def pick(self, xs: Sequence[T]) -> T:
        return xs[self.intn(len(xs))]


def unit_float32(x: int) -> float:
    """64 random bits -> a float32 in [-1, 1), exact in every language."""
    return (x >> 40) / (1 << 23) - 1.0


SERVICES = ["checkout", "payments", "search", "inventory", "auth", "gateway", "recommendations", "shipping"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
STATUSES = [200, 200, 200, 201, 204, 301, 400, 404, 500, 503]
WORDS = [
    "request", "completed", "user", "cache", "miss", "latency", "upstream", "timeout",
    "retry", "order", "token", "refresh", "database", "query", "slow", "connection",
    "pool", "exhausted", "café", "naïve", "запрос", "处理", "\"quoted\"", "tab\there",
    "line\nbreak", "back\\slash", "ok", "shard", "replica", "leader", "epoch", "batch",
]  # fmt: skip
TAG_WORDS = ["prod", "canary", "eu-west-1", "us-east-2", "k8s", "v2", "beta", "gpu", "spot", "critical", "internal", "public"]
_WORDS_UTF8 = [w.encode() for w in WORDS]


def log_entry(seed: int) -> LogEntry:
    """The LogEntry of seed (about 1 KB encoded)."""
    r = Rand(seed)
    timestamp_ns = 1_700_000_000_000_000_000 + r.next() % 1_000_000_000_000_000
    level = Level(r.intn(6))
    service = r.pick(SERVICES)
    host = "host-" + str(r.intn(1000)) + ".eu-west-1.internal"
    msg = bytearray()
    while len(msg) < 280:  # bytes, as in Go
        if msg:
            msg += b" "
        msg += r.pick(_WORDS_UTF8)
    trace_id = struct.pack("<QQ", r.next(), r.next())
    tags: List[str] = [r.pick(TAG_WORDS) for _ in range(8)]
    attributes = {}
    for i in range(12):
        key = "attr." + str(i) + "." + r.pick(WORDS[:18])
        attributes[key] = r.pick(WORDS) + "-" + str(r.next() % 100000)
    method = r.pick(METHODS)
    path = "/api/v1/" + r.pick(WORDS[:18]) + "/" + str(r.intn(100000))
    status = r.pick(STATUSES)
    latency_ns = r.next() % 500_000_000
    return LogEntry(
        timestamp_ns=timestamp_ns,
        level=level,
        service=service,
        host=host,
        message=msg.decode(),
        trace_id=trace_id,
        tags=tags,
        attributes=attributes,
        http=Http(method=method, path=path, status=status, latency_ns=latency_ns),
    )


def sample(seed: int) -> Sample:
    """The Sample of seed."""
    r = Rand(seed)
    timestamp_ns = 1_700_000_000_000_000_000 + r.next() % 1_000_000_000_000_000
    features = [unit_float32(r.next()) for _ in range(16)]
    return Sample(timestamp_ns=timestamp_ns, features=features, label=r.intn(10))


def _mix_np(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = z ^ (z >> np.uint64(31))
    return out


def tensor(seed: int, nbytes: int) -> Tensor:
    """A float32 Tensor whose data is nbytes long (rounded down to whole
    elements); shape [n/256, 256] when n >= 256 and n % 256 == 0, else [n].
    Element i is unit_float32(mix(seed + (i+1)*GOLDEN)), computed vectorised."""
    n = nbytes // 4
    shape = (n // 256, 256) if n >= 256 and n % 256 == 0 else (n,)
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        z = _mix_np(np.uint64(seed & _M64) + i * np.uint64(GOLDEN))
    data = ((z >> np.uint64(40)).astype(np.float64) / (1 << 23) - 1.0).astype("<f4")
    return Tensor(name="tensor-" + str(seed), dtype=DType.F32, shape=shape, data=data.tobytes())


__all__ = ["Rand", "mix", "unit_float32", "log_entry", "sample", "tensor", "GOLDEN"]
