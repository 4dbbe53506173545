"""Streams: regions and channels over files, pipes and sockets, across
processes, and hostile or truncated input."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
import zlib
from collections.abc import Iterator

import crossbuf as xb
import pytest
from conftest import PYTHON_DIR, ROOT, close_region


def payload(i: int) -> bytes:
    body = i.to_bytes(8, "little") + bytes((i + k) & 0xFF for k in range(i % 300))
    return body + zlib.crc32(body).to_bytes(4, "little")


def check(p: bytes, i: int) -> None:
    assert zlib.crc32(p[:-4]).to_bytes(4, "little") == p[-4:], f"frame {i} corrupt"
    assert int.from_bytes(p[:8], "little") == i


def fill(n: int) -> xb.Region:
    r = xb.Region.anonymous(1 << 20)
    for i in range(n):
        r.append_raw(xb.Codec.MSGPACK, 100 + i, payload(i))
    return r


def wire_of(r: xb.Region) -> bytes:
    buf = io.BytesIO()
    with xb.StreamWriter(buf) as w:
        n, cursor = w.write_region(r)
        assert n == r.stats().frame_count
        assert w.write_region(r, cursor) == (0, cursor)
    return buf.getvalue()


@pytest.fixture
def dst() -> Iterator[xb.Region]:
    r = xb.Region.anonymous(1 << 20)
    yield r
    close_region(r)


def in_region(r: xb.Region, f: xb.Frame) -> bool:
    return r.address <= f._paddr and f._paddr + len(f) <= r.address + r.capacity


def test_file_round_trip(dst: xb.Region) -> None:
    src = fill(50)
    wire = wire_of(src)
    with xb.StreamReader(io.BytesIO(wire)) as rd:
        got = rd.read_region(dst, max_frames=20)
        assert len(got) == 20
        got += list(rd.frames(dst))
        assert rd.read_region(dst) == []
    assert len(got) == 50
    for i, f in enumerate(got):
        assert (f.codec, f.type_id) == (xb.Codec.MSGPACK, 100 + i)
        assert in_region(dst, f)
        check(bytes(f.payload), i)
    close_region(src)


def test_socket_round_trip_with_frames_and_bytes(dst: xb.Region) -> None:
    src = fill(200)
    a, b = socket.socketpair()

    def send() -> None:
        with xb.StreamWriter(a) as w:
            frames = list(src.frames())
            w.write(frames[0])
            w.write(frames[1:])
            w.write_bytes(xb.Codec.JSON, 7, b'{"x": 1}')
            w.write_bytes(xb.Codec.JSON, 7, bytearray(b"[]"))
        a.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=send)
    t.start()
    with xb.StreamReader(b) as rd:
        got = list(rd.frames(dst))
    t.join()
    assert len(got) == 202
    for i, f in enumerate(got[:200]):
        check(bytes(f.payload), i)
    assert bytes(got[200].payload) == b'{"x": 1}' and got[200].codec == xb.Codec.JSON
    assert bytes(got[201].payload) == b"[]"
    a.close()
    b.close()
    close_region(src)


def test_channel_to_channel() -> None:
    n1, n2 = (f"xb-test-st-{uuid.uuid4().hex[:10]}" for _ in range(2))
    src = xb.Channel.create(n1, 1 << 16)
    dst = xb.Channel.create(n2, 1 << 16, policy="fail")
    try:
        s_in, s_out = src.subscribe(), dst.subscribe()
        buf = io.BytesIO()
        with xb.StreamWriter(buf) as w:
            for i in range(100):
                src.publish(payload(i), codec=xb.Codec.CAPNP, type_id=9)
            frames = s_in.receive_many(max=100, timeout=1)
            assert len(frames) == 100
            w.write(frames)
            s_in.release()
            with pytest.raises(xb.StaleFrameError):
                w.write(frames[0])
        buf.seek(0)
        with xb.StreamReader(buf) as rd:
            assert rd.read_channel(dst, max_frames=60) == 60
            got = s_out.receive_many(max=100, timeout=1)
            assert len(got) == 60
            for i, f in enumerate(got):
                assert (f.codec, f.type_id) == (xb.Codec.CAPNP, 9)
                check(bytes(f.payload), i)
            s_out.release()
            assert rd.read_channel(dst, max_frames=60) == 40
            assert rd.read_channel(dst) == 0
            got = s_out.receive_many(max=100, timeout=1)
            for i, f in enumerate(got):
                check(bytes(f.payload), 60 + i)
            s_out.release()
    finally:
        src.close()
        dst.close()
        xb.Channel.unlink(n1)
        xb.Channel.unlink(n2)


WRITER = textwrap.dedent(
    """
    import sys, zlib
    import crossbuf as xb
    n = int(sys.argv[1])
    r = xb.Region.anonymous(1 << 20)
    with xb.StreamWriter(sys.stdout.buffer) as w:
        for i in range(n):
            body = i.to_bytes(8, "little") + bytes((i + k) & 0xFF for k in range(i % 300))
            f = r.append_raw(xb.Codec.FLATBUFFERS, 5, body + zlib.crc32(body).to_bytes(4, "little"))
            w.write(f)
    sys.stdout.buffer.flush()
    """
)


def test_python_process_over_pipe(dst: xb.Region) -> None:
    n = 500
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(n)], stdout=subprocess.PIPE, env=env)
    assert p.stdout is not None
    with xb.StreamReader(p.stdout) as rd:
        got = list(rd.frames(dst))
    assert p.wait(timeout=60) == 0
    assert len(got) == n
    for i, f in enumerate(got):
        assert f.type_id == 5 and in_region(dst, f)
        check(bytes(f.payload), i)


def test_c_process_over_socket(dst: xb.Region) -> None:
    exe = os.path.join(ROOT, "build", "bin", "test_stream")
    if not os.path.exists(exe):
        pytest.skip(f"{exe} not built (./build.sh lib)")
    a, b = socket.socketpair()
    p = subprocess.Popen([exe, "writer", str(b.fileno())], pass_fds=[b.fileno()])
    b.close()
    with xb.StreamReader(a) as rd:
        got = list(rd.frames(dst))
    assert p.wait(timeout=60) == 0
    a.close()
    assert len(got) == 300  # N_FRAMES of c/tests/test_stream.c
    for i, f in enumerate(got):
        want = bytes((i * 131 + k * 7) & 0xFF for k in range((i * 37) % 1500))
        assert f.type_id == 100 + i and bytes(f.payload) == want


def land(wire: bytes, dst: xb.Region) -> int:
    dst.reset()
    with xb.StreamReader(io.BytesIO(wire)) as rd:
        return len(list(rd.frames(dst)))


def test_hostile_and_truncated(dst: xb.Region) -> None:
    src = fill(5)
    wire = wire_of(src)
    close_region(src)
    assert land(wire, dst) == 5
    with pytest.raises(xb.MalformedError, match="not a crossbuf stream"):
        land(b"GET / HTTP/1.1\r\n" * 8, dst)
    with pytest.raises(xb.MalformedError):
        land(b"", dst)
    for cut in range(0, len(wire), 29):
        try:
            land(wire[:cut], dst)
        except xb.MalformedError:
            pass
    with pytest.raises(xb.MalformedError, match="truncated"):
        land(wire[: 64 + 64 + 3], dst)
    bad = bytearray(wire)
    bad[64 + 48] ^= 1  # the first frame's check word
    with pytest.raises(xb.MalformedError, match="check word"):
        land(bytes(bad), dst)
    bad = bytearray(wire)
    bad[64 + 24 : 64 + 32] = (1 << 40).to_bytes(8, "little")  # a huge payload length
    with pytest.raises(xb.MalformedError):
        land(bytes(bad), dst)
    with xb.StreamReader(io.BytesIO(wire), max_payload=10) as rd, pytest.raises(xb.MalformedError, match="limit"):
        rd.read_region(dst)


def test_full_region_keeps_the_frame_pending() -> None:
    buf = io.BytesIO()
    with xb.StreamWriter(buf) as w:
        w.write_bytes(xb.Codec.MSGPACK, 1, bytes(10000))
        w.write_bytes(xb.Codec.MSGPACK, 1, b"after")
    small = xb.Region.anonymous(4096)
    buf.seek(0)
    with xb.StreamReader(buf) as rd:
        # larger than the region even empty: no reset helps, skip it
        with pytest.raises(xb.InvalidArgumentError, match="does not fit the region even empty"):
            rd.read_region(small)
        with pytest.raises(xb.InvalidArgumentError):
            rd.read_region(small)
        rd.skip()
        (f,) = rd.read_region(small)
        assert bytes(f.payload) == b"after"
        del f
    close_region(small)
    # a region with no room now: RegionFullError, and the frame lands after a reset
    roomy = xb.Region.anonymous(1 << 16)
    while True:
        try:
            roomy.append_raw(xb.Codec.MSGPACK, 1, bytes(8000))
        except xb.RegionFullError:
            break
    buf.seek(0)
    with xb.StreamReader(buf) as rd:
        with pytest.raises(xb.RegionFullError):
            rd.read_region(roomy, max_frames=1)
        roomy.reset()
        (f,) = rd.read_region(roomy, max_frames=1)
        assert len(f) == 10000
        del f
    close_region(roomy)


class Exploding(io.RawIOBase):
    def readinto(self, b: object) -> int:
        raise ConnectionResetError("peer went away")


def test_file_errors_are_raised_again(dst: xb.Region) -> None:
    with pytest.raises(ConnectionResetError, match="peer went away"):
        xb.StreamReader(Exploding())
    with pytest.raises(xb.InvalidArgumentError):
        xb.StreamReader(object())
    with pytest.raises(xb.InvalidArgumentError):
        xb.StreamWriter(object())
    a, b = socket.socketpair()
    b.close()
    with pytest.raises(OSError):
        w = xb.StreamWriter(a)
        for _ in range(1000):
            w.write_bytes(xb.Codec.JSON, 0, b"x" * 4096)
    a.close()


def test_closed() -> None:
    w = xb.StreamWriter(io.BytesIO())
    w.close()
    w.close()
    with pytest.raises(xb.ClosedError):
        w.write_bytes(xb.Codec.JSON, 0, b"{}")
