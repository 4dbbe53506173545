"""C publisher process -> Python subscriber over a crossbuf channel.

    PYTHONPATH=python .venv/bin/python -m bench.python.channel_c_to_python [COUNT] [SIZE] [BATCH] [MODE] [INTERVAL_US] [WAIT]

build/bin/xb_chanpub publishes COUNT checksummed frames of SIZE bytes (BATCH
per call) into a block-policy channel; this process receives them with
receive_many (MODE "batch") or receive (MODE "single"), checks each frame's
sequence number and CRC-32, and prints the throughput and the channel's
publish->receive latency percentiles (from its shared HDR histogram).
Throughput includes the checksum of every payload byte. With INTERVAL_US 0
the latency is measured under full load (frames queue in the ring); with
INTERVAL_US > 0 (and BATCH 1) the publisher sleeps between frames, and it is
the one-way latency of one frame at a time, wake-up included. WAIT is the
subscriber's wait mode: spin_then_park (default), spin or park.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import uuid
import zlib

import crossbuf as xb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    mode = sys.argv[4] if len(sys.argv) > 4 else "batch"
    interval = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    wait = sys.argv[6] if len(sys.argv) > 6 else "spin_then_park"
    pub = os.path.join(ROOT, "build", "bin", "xb_chanpub")
    name = f"xb-bench-{uuid.uuid4().hex[:8]}"
    head = struct.Struct("<QI")
    ring = max(1 << 20, 8 * (size + 128))
    with xb.Channel.create(name, ring) as ch, ch.subscribe(wait=wait) as sub:
        p = subprocess.Popen([pub, name, str(count), str(size), str(batch), str(interval)], stdout=subprocess.PIPE, text=True)
        expect = 0
        t0 = 0.0
        while expect < count:
            frames = sub.receive_many(max=256, timeout=10) if mode == "batch" else [sub.receive(timeout=10)]
            if expect == 0:
                t0 = time.perf_counter()
            for f in frames:
                mv = f.payload
                seq, crc = head.unpack_from(mv)
                if seq != expect or zlib.crc32(mv[16:]) != crc:
                    raise SystemExit(f"frame {expect}: got seq {seq}, checksum {'ok' if zlib.crc32(mv[16:]) == crc else 'bad'}")
                expect += 1
        secs = time.perf_counter() - t0
        sub.release()
        out = p.communicate(timeout=60)[0].split()
        st = ch.stats()
        xb.Channel.unlink(name)
    print(f"{count} frames of {size} B, publisher batch {batch} every {interval} us, receive {mode} ({wait}): "
          f"{(count - 1) / secs:,.0f} frames/s, {(count - 1) * size / secs / 1e6:,.0f} MB/s "
          f"(publisher wall time {float(out[2]):.3f} s, waits for space included)")
    print(f"publish->receive latency p50 {st.latency_p50_ns / 1e3:.1f} us, p99 {st.latency_p99_ns / 1e3:.1f} us, "
          f"p99.9 {st.latency_p999_ns / 1e3:.1f} us; lost 0, dup 0, corrupt 0; parked waits {st.parked_waits}, "
          f"full waits {st.full_waits}")


if __name__ == "__main__":
    main()
