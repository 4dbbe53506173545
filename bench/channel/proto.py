"""The channel benchmark's wire protocol, shared by every peer (Go:
gopeer/main.go, C: bench/c/xb_chanbench_sub.c, Python: pypeer.py).

A message is HEAD (u64 sequence number, u64 CLOCK_MONOTONIC taken before
the record is encoded, u64 checksum of the body) followed by the body: the
record encoded as MessagePack (Go: crossbuf's msgpack codec; Python:
msgspec). Stream transports put a u32 length before each message.

The consumer checks every message (sequence and checksum of every body
byte: Adler-32 below 4 KiB, a sum of little-endian u64 words and the tail
bytes from there), optionally decodes it into a msgspec Struct, then
stores the count of messages consumed in the ack file's first word.

A run is REPS repetitions of a latency phase (N messages, one at a time:
the producer waits for the ack, pauses a varying GAP, sends the next) and a
throughput phase (M messages sent back to back). After each repetition the
consumer prints one JSON line: the phase's latency p50/p99/p99.9 (HDR
histogram) and the throughput phase's ns per message, from the first
message's stamp to the last one's consumption."""

from __future__ import annotations

import struct
import zlib
from typing import Any, List

HEAD = struct.Struct("<QQQ")
BIG_BODY = 4096
PY_TRANSPORTS = ["xb", "unix", "pipe", "mpqueue", "shm", "zmq", "iox2"]
RECORD_BYTES = {"LogEntry": 1 << 11, "Sample": 256, "Tensor1MB": (1 << 20) + 256}


def check(body: Any) -> int:
    if len(body) >= BIG_BODY:
        import numpy as np

        n = len(body) // 8
        s = int(np.frombuffer(body, np.uint64, n).sum()) if n else 0
        return (s + sum(bytes(body[n * 8 :]))) & ((1 << 64) - 1)
    return zlib.adler32(body)


def struct_type(record: str) -> Any:
    from python import mstructs

    return {"LogEntry": mstructs.MLogEntry, "Sample": mstructs.MSample, "Tensor1MB": mstructs.MTensor}[record]


def pool(record: str, n: int) -> List[Any]:
    """n records of the shared generator (seeds 1..n) as msgspec Structs."""
    from python import mstructs as m

    from crossbuf import testdata

    out: List[Any] = []
    for i in range(1, n + 1):
        if record == "LogEntry":
            r = testdata.log_entry(i)
            h = r.http
            out.append(m.MLogEntry(r.timestamp_ns, int(r.level), r.service, r.host, r.message, bytes(r.trace_id),
                                   list(r.tags), dict(r.attributes), m.MHttp(h.method, h.path, h.status,
                                                                            h.latency_ns)))  # fmt: skip
        elif record == "Sample":
            s = testdata.sample(i)
            out.append(m.MSample(s.timestamp_ns, list(s.features), s.label))
        else:
            t = testdata.tensor(i, 1 << 20)
            out.append(m.MTensor(t.name, int(t.dtype), list(t.shape), bytes(t.data)))
    return out
