"""The Python side of the channel benchmark: a producer or a consumer of one
pipeline (crossbuf's channel, or an opponent transport). The protocol is in
proto.py; run.py starts the peers."""

from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import os
import socket
import struct
import sys
import time
from typing import Any, Callable, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"),
                os.path.dirname(HERE)]  # fmt: skip

import proto  # noqa: E402
from proto import HEAD, check  # noqa: E402

now = time.monotonic_ns  # CLOCK_MONOTONIC, the clock of the Go and C peers
sleep = time.sleep


def args_of(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--role", choices=["pub", "sub"], required=True)
    p.add_argument("--transport", choices=proto.PY_TRANSPORTS, required=True)
    p.add_argument("--addr", default="")
    p.add_argument("--record", default="LogEntry")
    p.add_argument("--ack", required=True)
    p.add_argument("--wait", default="spin", choices=["spin", "park"])
    p.add_argument("--stamp", default="sent", choices=["sent", "made"])
    p.add_argument("--typed", action="store_true", help="consumer: decode each body into a typed object")
    p.add_argument("--body", default="msgpack", choices=["msgpack", "protobuf", "flatbuffers"],
                   help="the record's encoding (typed: msgspec Struct or protobuf message); flatbuffers: xb "
                        "frames holding a crossbuf_fb.LogEntry alone, the consumer reads one field by path")  # fmt: skip
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--m", type=int, default=10000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--pool", type=int, default=64)
    p.add_argument("--gap-ns", type=int, default=10_000)
    p.add_argument("--cpu", type=int, default=-1)
    p.add_argument("--fds", default="", help="os.pipe: READ,WRITE descriptors inherited from the harness")
    return p.parse_args(argv)


class Ack:
    """[0] messages consumed, [1] consumer ready: u64 words of a shared file."""

    def __init__(self, path: str) -> None:
        with open(path, "r+b") as f:
            self.mm = mmap.mmap(f.fileno(), 64)
        self.words = memoryview(self.mm).cast("Q")

    def wait_for(self, v: int) -> None:
        w = self.words
        while w[0] < v:
            sleep(0)  # lets the producer's other threads run (mp.Queue's feeder needs the GIL)


def spin_for(ns: int) -> None:
    end = now() + ns
    while now() < end:
        sleep(0)


# ---- producers: send(seq, t0, struct_record, check) --------------------------------------------


def producer(a: argparse.Namespace, ack: Ack, queue: Any = None) -> Callable[[], None]:
    """send(seq, record, checksum) per transport: the header, then the body
    msgspec encodes. The stamp is taken before encoding with --stamp made,
    else once encoded."""
    import msgspec

    recs = proto.pool(a.record, a.pool)
    while not ack.words[1]:  # the consumer has created its end
        time.sleep(0.001)
    encode = msgspec.msgpack.Encoder().encode
    sums = [check(encode(r)) for r in recs]
    made = a.stamp == "made"
    pack = HEAD.pack
    t = a.transport

    def message(seq: int, r: Any, s: int) -> Tuple[bytes, bytes]:
        t0 = now()
        b = encode(r)
        return pack(seq, t0 if made else now(), s), b

    close: Callable[[], Any] = lambda: None  # noqa: E731
    send: Callable[[int, Any, int], None]
    if t == "xb":
        import crossbuf as xb

        ch = xb.Channel.open(a.addr)
        pub = ch.publish
        codec = xb.Codec.MSGPACK

        def send(seq: int, r: Any, s: int) -> None:
            h, b = message(seq, r, s)
            pub(h + b, codec=codec)

        close = ch.close
    elif t == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(a.addr)
        sendmsg = sock.sendmsg

        def send(seq: int, r: Any, s: int) -> None:
            h, b = message(seq, r, s)
            parts = [struct.pack("<I", len(h) + len(b)), h, b]
            n, total = sendmsg(parts), 4 + len(h) + len(b)
            if n < total:  # a partial send of a large message: the rest in order
                sock.sendall(b"".join(parts)[n:])

        close = sock.close
    elif t == "pipe":
        fd = int(a.fds.split(",")[1])
        writev = os.writev

        def send(seq: int, r: Any, s: int) -> None:
            h, b = message(seq, r, s)
            parts = [struct.pack("<I", len(h) + len(b)), h, b]
            n, total = writev(fd, parts), 4 + len(h) + len(b)
            if n < total:  # above the pipe's buffer, writes are partial
                rest = memoryview(b"".join(parts))[n:]
                while rest:
                    rest = rest[os.write(fd, rest):]

        close = lambda: os.close(fd)  # noqa: E731
    elif t == "zmq":
        import zmq

        zctx = zmq.Context()
        zs = zctx.socket(zmq.PUSH)
        zs.connect("ipc://" + a.addr)
        big = proto.RECORD_BYTES[a.record] > 65536
        zsend = zs.send

        def send(seq: int, r: Any, s: int) -> None:
            h, b = message(seq, r, s)
            zsend(h + b, copy=not big)

        def close() -> None:
            zs.close(linger=-1)
            zctx.term()
    elif t == "mpqueue":
        put = queue.put

        def send(seq: int, r: Any, s: int) -> None:
            h, b = message(seq, r, s)
            put(h + b)
    elif t == "shm":
        ring = ShmRing(a.addr, create=False)

        def send(seq: int, r: Any, s: int) -> None:
            ring.put(*message(seq, r, s))

        close = ring.close
    elif t == "iox2":
        import iceoryx2 as iox

        node, svc = iox_service(a.addr)
        p = (svc.publisher_builder().initial_max_slice_len(proto.RECORD_BYTES[a.record] + 4096)
             .allocation_strategy(iox.AllocationStrategy.PowerOfTwo)
             .backpressure_strategy(iox.BackpressureStrategy.RetryUntilDelivered).create())  # fmt: skip
        memmove, loan = ctypes.memmove, p.loan_slice_uninit

        def send(seq: int, r: Any, s: int) -> None:
            h, b = message(seq, r, s)
            sample = loan(len(h) + len(b))
            ptr = sample.payload().as_ptr()
            memmove(ptr, h, len(h))
            memmove(ptr + len(h), b, len(b))
            sample.assume_init().send()

        def close() -> None:
            pass
    else:
        raise SystemExit(f"unknown transport {t}")

    def go() -> None:
        seq, k = 0, len(recs)
        for _rep in range(a.reps):
            for _ in range(a.n):
                send(seq, recs[seq % k], sums[seq % k])
                seq += 1
                ack.wait_for(seq)
                spin_for(a.gap_ns + a.gap_ns * (seq % 5) // 4)
            for _ in range(a.m):
                send(seq, recs[seq % k], sums[seq % k])
                seq += 1
            ack.wait_for(seq)
        close()

    return go


# ---- the hand-rolled shared-memory ring (multiprocessing.shared_memory) ---------------------

RING = 16 << 20


class ShmRing:
    """One producer, one consumer: [0] write position, [8] read position
    (bytes since the start, u64), data from 64: each message a u32 length,
    its bytes, padded to 8; a length of 0xFFFFFFFF wraps to the start."""

    def __init__(self, name: str, create: bool) -> None:
        from multiprocessing import shared_memory

        self.shm = shared_memory.SharedMemory(name=name, create=create, size=64 + RING)
        if create:
            self.shm.buf[:64] = bytes(64)
        self.buf = self.shm.buf
        self.pos = memoryview(self.shm.buf)[:16].cast("Q")
        self.data = self.shm.buf[64:]

    def put(self, h: bytes, b: bytes) -> None:
        n = len(h) + len(b)
        need = (4 + n + 7) & ~7
        w = self.pos[0]
        off = w % RING
        if off + need > RING:  # wrap: mark the rest unused
            while w + (RING - off) + need - self.pos[1] > RING:
                pass
            struct.pack_into("<I", self.data, off, 0xFFFFFFFF)
            w += RING - off
            off = 0
            self.pos[0] = w
        while w + need - self.pos[1] > RING:
            pass
        struct.pack_into("<I", self.data, off, n)
        self.data[off + 4 : off + 4 + len(h)] = h
        self.data[off + 4 + len(h) : off + 4 + n] = b
        self.pos[0] = w + need  # publish after the bytes (x86 keeps store order)

    def get(self) -> memoryview:
        """The next message (valid until done() is called); spins."""
        p = self.pos
        while True:
            r = p[1]
            while p[0] == r:
                pass
            off = r % RING
            (n,) = struct.unpack_from("<I", self.data, off)
            if n == 0xFFFFFFFF:
                p[1] = r + RING - off
                continue
            self._next = r + ((4 + n + 7) & ~7)
            return self.data[off + 4 : off + 4 + n]

    def done(self) -> None:
        self.pos[1] = self._next

    def close(self) -> None:
        self.pos.release()
        self.data.release()
        self.shm.close()


def iox_service(name: str) -> Tuple[Any, Any]:
    import iceoryx2 as iox

    iox.set_log_level(iox.LogLevel.Error)
    node = iox.NodeBuilder.new().create(iox.ServiceType.Ipc)
    svc = (node.service_builder(iox.ServiceName.new(name)).publish_subscribe(iox.Slice[ctypes.c_uint8])
           .subscriber_max_buffer_size(256).history_size(0).enable_safe_overflow(False).open_or_create())  # fmt: skip
    return node, svc


# ---- consumers: next() -> the message as a buffer, valid until the following call ----------


def consumer(a: argparse.Namespace, ack: Ack, queue: Any = None) -> None:
    t = a.transport
    cleanup: List[Callable[[], None]] = []
    nxt: Callable[[], Any]
    take: Optional[Callable[[int], List[Any]]] = None  # a batch of up to k messages, where the transport has one
    if t == "xb":
        import crossbuf as xb

        ch = xb.Channel.create(a.addr, 16 << 20)
        sub = ch.subscribe(wait="spin" if a.wait == "spin" else "park")
        if a.body == "flatbuffers":
            ack.words[1] = 1
            try:
                one_field_loop(a, ack, sub)
            finally:
                sub.close()
                ch.close()
                xb.channel.unlink(a.addr)
            return
        receive, receive_payloads = sub.receive, sub.receive_payloads

        def nxt() -> Any:
            return receive().payload

        def take(k: int) -> List[Any]:
            # up to 256 frames per library call, their payloads as views into
            # the ring (the bodies describe themselves, as on the socket)
            return receive_payloads(min(256, k))

        cleanup += [sub.close, ch.close, lambda: xb.channel.unlink(a.addr)]
    elif t in ("unix", "pipe"):
        if t == "unix":
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(a.addr)
            srv.listen(1)
            ack.words[1] = 1
            conn, _ = srv.accept()
            # buffered: a read returns what has arrived, up to 64 KiB, so
            # back-to-back messages cost one recv per buffer, not two each
            rf = conn.makefile("rb", buffering=1 << 16)
            readinto = rf.readinto
            cleanup += [rf.close, conn.close, srv.close, lambda: os.unlink(a.addr)]
        else:
            r = os.fdopen(int(a.fds.split(",")[0]), "rb", buffering=1 << 16)
            readinto = r.readinto
            cleanup.append(r.close)
        buf = bytearray(proto.RECORD_BYTES[a.record] + 65536)
        mv = memoryview(buf)
        lenbuf = bytearray(4)
        lmv = memoryview(lenbuf)

        def read_exact(m: memoryview) -> None:
            got, n = 0, len(m)
            while got < n:
                k = readinto(m[got:])
                if not k:
                    raise EOFError("peer closed")
                got += k

        def nxt() -> Any:
            read_exact(lmv)
            (n,) = struct.unpack_from("<I", lenbuf)
            m = mv[:n]
            read_exact(m)
            return m
    elif t == "zmq":
        import zmq

        zctx = zmq.Context()
        zs = zctx.socket(zmq.PULL)
        zs.bind("ipc://" + a.addr)
        big = proto.RECORD_BYTES[a.record] > 65536
        recv = zs.recv

        def nxt() -> Any:
            return recv(copy=False).buffer if big else recv()

        cleanup += [lambda: zs.close(linger=0), zctx.term]
    elif t == "mpqueue":
        get = queue.get
        nxt = get
    elif t == "shm":
        ring = ShmRing(a.addr, create=True)
        prev = [False]

        def nxt() -> Any:
            if prev[0]:
                ring.done()
            prev[0] = True
            return ring.get()

        def shm_close() -> None:
            ring.close()
            ring.shm.unlink()

        cleanup.append(shm_close)
    elif t == "iox2":
        node, svc = iox_service(a.addr)
        isub = svc.subscriber_builder().buffer_size(256).create()
        ireceive = isub.receive
        held: List[Any] = []

        def nxt() -> Any:
            held.clear()  # returns the previous sample to the publisher
            while True:
                s = ireceive()
                if s is not None:
                    held.append(s)
                    return s.payload().as_memory_view()

        cleanup += [held.clear]
    else:
        raise SystemExit(f"unknown transport {t}")
    if t != "unix":
        ack.words[1] = 1
    try:
        consume_loop(a, ack, nxt, take)
    finally:
        for f in cleanup:
            try:
                f()
            except Exception:  # noqa: BLE001 - teardown is best effort
                pass


def consume_loop(a: argparse.Namespace, ack: Ack, nxt: Callable[[], Any],
                 take: Optional[Callable[[int], List[Any]]] = None) -> None:  # fmt: skip
    """The latency phase takes messages one at a time (nxt); the throughput
    phase in batches where the transport offers them (take: crossbuf's
    receive_many), else one at a time too."""
    from hdrh.histogram import HdrHistogram

    if take is None:

        def take(k: int) -> List[Any]:
            return [nxt()]

    decode = typed_decoder(a) if a.typed else None
    head = HEAD.unpack_from
    w = ack.words
    count = 0
    h = HdrHistogram(1, 100_000_000_000, 3)
    record = h.record_value
    for rep in range(a.reps):
        h.reset()
        size = 0
        for _ in range(a.n):
            p = nxt()
            seq, t0, s = head(p)
            body = p[HEAD.size :]
            if seq != count or check(body) != s:
                raise SystemExit(f"message {count}: sequence {seq}, checksum {'ok' if check(body) == s else 'bad'}")
            if decode is not None:
                decode(body)
            record(now() - t0)
            count += 1
            w[0] = count
            size = len(body)
            p = body = None  # views into the transport's buffer die before the next receive
        first, left = -1, a.m
        while left:
            ps = take(left)
            for p in ps:
                seq, t0, s = head(p)
                if first < 0:
                    first = t0
                body = p[HEAD.size :]
                if seq != count or check(body) != s:
                    raise SystemExit(f"message {count}: sequence {seq}, checksum {'ok' if check(body) == s else 'bad'}")
                if decode is not None:
                    decode(body)
                count += 1
                p = body = None
            left -= len(ps)
            w[0] = count
            ps = []
        tput = (now() - first) / max(1, a.m)
        print(json.dumps({"rep": rep, "p50": h.get_value_at_percentile(50), "p99": h.get_value_at_percentile(99),
                          "p999": h.get_value_at_percentile(99.9), "tput_ns": tput, "bytes": size}), flush=True)  # fmt: skip


def typed_decoder(a: argparse.Namespace) -> Callable[[Any], Any]:
    """The body's decoder into a typed object: msgspec into a Struct, or
    the protobuf runtime (upb) into the generated message."""
    if a.body == "protobuf":
        from refgen import crossbuf_pb2

        cls = {"LogEntry": crossbuf_pb2.LogEntry, "Sample": crossbuf_pb2.Sample}[a.record]
        return cls.FromString  # type: ignore[no-any-return]
    import msgspec

    return msgspec.msgpack.Decoder(proto.struct_type(a.record)).decode  # type: ignore[no-any-return]


def one_field_loop(a: argparse.Namespace, ack: Ack, sub: Any) -> None:
    """The consumer of bare FlatBuffers frames (-body flatbuffers): it reads
    one field (message) of each frame in place through a compiled path,
    checks it against the record the producer sent, and times from the
    frame's publish time. The throughput phase takes frames in batches of
    up to 256 through FieldPath.receive_many: one receive and one path read
    per batch, no frame objects. The check copies the field's bytes first
    (tobytes): CPython compares a memoryview with bytes element by element
    (bench/channel/probe_batch.py: 0.99 µs for a 286-byte message, 0.17 µs
    through the copy)."""
    import crossbuf as xb
    from crossbuf import testdata
    from hdrh.histogram import HdrHistogram

    fb = xb.bundled.schema()
    path = fb.path("crossbuf_fb.LogEntry", "message", text="view")  # the UTF-8 bytes in place
    want = [testdata.log_entry(i).message.encode() for i in range(1, a.pool + 1)]
    read, receive, receive_values = path.read, sub.receive, path.receive_many
    w = ack.words
    count = 0
    h = HdrHistogram(1, 100_000_000_000, 3)
    record = h.record_value
    size = 0
    for rep in range(a.reps):
        h.reset()
        for _ in range(a.n):
            f = receive()
            if read(f).tobytes() != want[count % a.pool]:
                raise SystemExit(f"message {count}: another record's message")
            record(now() - f.publish_ns)
            size = len(f)
            count += 1
            w[0] = count
        # the throughput phase starts at the first message's publish time
        f = receive()
        first = f.publish_ns
        if read(f).tobytes() != want[count % a.pool]:
            raise SystemExit(f"message {count}: another record's message")
        count += 1
        left = a.m - 1
        while left:
            vs = receive_values(sub, max=min(256, left))
            for i, v in enumerate(vs):
                if v.tobytes() != want[(count + i) % a.pool]:
                    raise SystemExit(f"message {count + i}: another record's message")
            count += len(vs)
            left -= len(vs)
            w[0] = count
        f = None
        tput = (now() - first) / max(1, a.m)
        print(json.dumps({"rep": rep, "p50": h.get_value_at_percentile(50), "p99": h.get_value_at_percentile(99),
                          "p999": h.get_value_at_percentile(99.9), "tput_ns": tput, "bytes": size}), flush=True)  # fmt: skip


def pin(cpu: int) -> None:
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})


def mp_consumer(argv: List[str], queue: Any) -> None:
    a = args_of(argv)
    pin(a.cpu)
    consumer(a, Ack(a.ack), queue)


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    a = args_of(argv)
    ack = Ack(a.ack)
    if a.transport == "mpqueue" and a.role == "pub":
        # A multiprocessing.Queue travels only to processes this one starts:
        # the producer starts its consumer (spawn, as the docs advise).
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        sub_argv = list(argv)
        sub_argv[sub_argv.index("--role") + 1] = "sub"
        # The harness's settings for the consumer it cannot start itself.
        sub_argv += ["--cpu", os.environ.get("XB_CHANBENCH_SUB_CPU", "-1")]
        if os.environ.get("XB_CHANBENCH_SUB_TYPED") == "1":
            sub_argv.append("--typed")
        child = ctx.Process(target=mp_consumer, args=(sub_argv, q))
        child.start()
        pin(a.cpu)
        producer(a, ack, q)()
        child.join()
        if child.exitcode:
            raise SystemExit(f"consumer exited {child.exitcode}")
        return
    pin(a.cpu)
    if a.role == "pub":
        producer(a, ack)()
    else:
        consumer(a, ack)


if __name__ == "__main__":
    main()
