"""Regions against races, hostile peers and bad arguments: close racing
threads, truncation, stale and forged frames, read-only and sealed regions,
calls that fail committing nothing, and only crossbuf errors."""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from typing import List

import msgspec
import pytest

import crossbuf as xb
from crossbuf import _lib, testdata


def test_close_racing_threads() -> None:
    """8 threads encode, decode and read fields while the main thread closes
    the region: every call completes or raises ClosedError; nothing crashes."""
    recs = [testdata.log_entry(s) for s in range(8)]
    unexpected: List[BaseException] = []
    for round_ in range(150):
        r = xb.Region.anonymous(4 << 20)
        codec = (xb.Codec.JSON, xb.Codec.FLATBUFFERS, xb.Codec.CAPNP, xb.Codec.MSGPACK)[round_ % 4]
        frames = r.encode_many(recs, codec)
        start = threading.Barrier(9)

        def work(i: int) -> None:
            start.wait()
            try:
                while True:
                    if i % 4 == 0:
                        r.encode(recs[i], codec)
                    elif i % 4 == 1:
                        assert r.decode_many(frames) == recs
                    elif i % 4 == 2:
                        assert r.view(frames[i]).message == recs[i].message
                    else:
                        assert r.decode(frames[i]) == recs[i]
            except (xb.ClosedError, xb.RegionFullError):
                return
            except BaseException as e:  # pragma: no cover - reported below
                unexpected.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        start.wait()
        r.close()
        for t in threads:
            t.join()
    assert not unexpected, unexpected[:3]


@pytest.mark.parametrize("kind", ["shm", "file"])
def test_truncation_is_an_error(kind: str, shm_name: str, tmp_path: "os.PathLike[str]") -> None:
    if kind == "shm":
        r = xb.Region.create_shm(shm_name, 1 << 20)
        path = "/dev/shm/" + shm_name
    else:
        path = os.path.join(os.fspath(tmp_path), "r.xb")
        r = xb.Region.create_file(path, 1 << 20)
    f = r.encode(testdata.log_entry(1), xb.Codec.FLATBUFFERS)
    off = f.offset
    del f
    os.truncate(path, 0)  # a hostile peer
    with pytest.raises(xb.TruncatedError, match="truncated by another process"):
        r.decode(off)
    with pytest.raises(xb.TruncatedError):
        r.stats()
    with pytest.raises(xb.TruncatedError):
        r.encode(testdata.log_entry(2))
    os.truncate(path, 1 << 20)
    r.close()


def test_frames_have_identity() -> None:
    with xb.Region.anonymous(1 << 20) as a, xb.Region.anonymous(1 << 20) as b:
        assert a.id != b.id
        fa = a.encode(testdata.log_entry(1))
        b.encode(testdata.log_entry(2))
        with pytest.raises(xb.StaleFrameError):
            b.decode(fa)
        with pytest.raises(xb.StaleFrameError):
            b.view(fa)
        with pytest.raises(xb.StaleFrameError):
            b.decode_many([fa])
        a.reset()
        a.encode(testdata.log_entry(3))
        with pytest.raises(xb.StaleFrameError):
            a.decode(fa)
        with pytest.raises(xb.StaleFrameError):
            fa.payload
        del fa


def test_offsets_are_range_checked() -> None:
    with xb.Region.anonymous(1 << 20) as r:
        f = r.encode(testdata.log_entry(1))
        for bad in (2**64 + f.offset, -1, -f.offset, 1 << 63):
            with pytest.raises(xb.OutOfRangeError):
                r.frame(bad)
            with pytest.raises(xb.OutOfRangeError):
                r.decode(bad)
            with pytest.raises(xb.OutOfRangeError):
                r.view(bad)
            with pytest.raises(xb.OutOfRangeError):
                r.decode_many([bad])
        with pytest.raises(xb.OutOfRangeError):
            r.frame("12")  # type: ignore[arg-type]
        del f


def test_forged_header_is_not_a_frame() -> None:
    with xb.Region.anonymous(1 << 20) as r:
        real = r.append_raw(xb.Codec.JSON, 1, b'{"a":1}')
        image = bytes(r.buffer[real.offset : real.offset + 64 + 8])
        outer = r.append_raw(xb.Codec.JSON, 1, image)
        with pytest.raises(xb.OutOfRangeError):
            r.frame(outer.offset + 64)
        assert [f.offset for f in r.frames()] == [real.offset, outer.offset]
        del real, outer


def test_read_only_attach(shm_name: str) -> None:
    with xb.Region.create_shm(shm_name, 1 << 20, 0o640) as w:
        rec = testdata.log_entry(4)
        w.encode(rec, xb.Codec.CAPNP)
        with xb.Region.open_shm(shm_name, readonly=True) as ro:
            assert ro.read_only and ro.stats().read_only
            assert [ro.decode(f) for f in ro.frames()] == [rec]
            with pytest.raises(xb.ReadOnlyError):
                ro.encode(rec)
            with pytest.raises(xb.ReadOnlyError):
                ro.reset()
            with pytest.raises(PermissionError):  # ReadOnlyError is one
                ro.append_raw(xb.Codec.JSON, 1, b"{}")


def test_memfd_shared_over_a_socket() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b, xb.Region.memfd(1 << 20) as w:
        assert w.stats().sealed
        rec = testdata.log_entry(5)
        w.encode(rec)
        w.send(a)
        with xb.Region.receive(b) as r:
            assert r.id == w.id
            assert [r.decode(f) for f in r.frames()] == [rec]
            r.encode(testdata.log_entry(6))
        assert len(list(w.frames())) == 2
        with pytest.raises(OSError):
            os.ftruncate(w.fileno(), 0)  # sealed: nobody can shrink it
    fd = os.memfd_create("plain")
    try:
        with pytest.raises(xb.InvalidArgumentError, match="not sealed"):
            xb.Region.from_fd(fd)
    finally:
        os.close(fd)


def test_corrupt_header_is_reported_and_skipped() -> None:
    with xb.Region.anonymous(1 << 20) as r:
        fs = [r.append_raw(xb.Codec.JSON, 1, b"%d" % i) for i in range(3)]
        bad = fs[1].offset
        del fs
        ctypes.c_uint64.from_address(r.address + bad + 24).value = 1 << 40  # payload_len past its slot
        with pytest.raises(xb.CorruptFrameError, match=str(bad)):
            list(r.frames())
        assert [bytes(f.payload) for f in r.frames(skip_corrupt=True)] == [b"0", b"2"]


def test_failed_calls_commit_nothing(region: xb.Region) -> None:
    fb = xb.bundled.schema()
    log_entry = fb["crossbuf_fb.LogEntry"]
    before = region.stats()
    for bad in (log_entry(timestamp_ns=2**64 + 5), log_entry(service="a\ud800"), log_entry(tags=["x", 7])):
        with pytest.raises(xb.InvalidRecordError):
            region.encode(bad)
    after = region.stats()
    assert (after.frame_count, after.used) == (before.frame_count, before.used)


@pytest.mark.parametrize("codec", list(xb.Codec), ids=lambda c: c.name)
def test_bundled_record_values_are_checked(region: xb.Region, codec: xb.Codec) -> None:
    """A value its field cannot hold is InvalidRecordError naming the
    field, in every codec, and nothing is committed."""
    e = testdata.log_entry(1)
    bad = [
        (msgspec.structs.replace(e, timestamp_ns=2**64 + 5), "timestamp_ns"),
        (msgspec.structs.replace(e, timestamp_ns=2**63), "timestamp_ns"),
        (msgspec.structs.replace(e, service="a\ud800"), "service"),
        (msgspec.structs.replace(e, tags=["x", 7]), "tags"),
        (msgspec.structs.replace(e, trace_id=b"\0" * 15), "trace_id"),
        (msgspec.structs.replace(e, http=xb.Http(status=2**32)), "status"),
        (xb.Sample(features=[0.0, 1e39] + [0.0] * 14), r"features\[1\]"),
        (xb.Sample(features=[0.0] * 15), "features"),
        (xb.Sample(label=2**31), "label"),
        (xb.Tensor("t", xb.DType.F32, (3,), b"\0" * 8), "Tensor"),
    ]
    before = region.stats()
    for rec, where in bad:
        with pytest.raises(xb.InvalidRecordError, match=where):
            region.encode(rec, codec)
    after = region.stats()
    assert (after.frame_count, after.used) == (before.frame_count, before.used)


@pytest.mark.parametrize(
    "call",
    [
        lambda: xb.decode_bytes(1, 9, b"x"),
        lambda: xb.decode_bytes(1, -1, b"x"),
        lambda: xb.decode_bytes(2**40, 1, b"x"),
        lambda: xb.decode_bytes(1, 1, 12345),
        lambda: xb.generate(1, -1),
        lambda: xb.generate(3, 1, 2**64),
        lambda: xb.generate(3, 1, (1 << 30) + 1),
        lambda: xb.Region.anonymous(-5),
        lambda: xb.Region.anonymous(2**64),
        lambda: xb.Region.anonymous("big"),
        lambda: xb.Region.create_shm("x" * 300, 4096),
        lambda: xb.Region.open_shm(None),  # type: ignore[arg-type]
        lambda: xb.Region.create_file("/tmp/xb-never", 4096, mode=-1),
        lambda: xb.Region.from_fd(-1),
    ],
)
def test_bad_arguments_raise_crossbuf_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(xb.CrossbufError):
        call()


def test_bad_arguments_on_a_region(region: xb.Region) -> None:
    f = region.encode(testdata.log_entry(1))
    for call in (
        lambda: region.decode(2**40),
        lambda: region.view(-1),
        lambda: region.decode_many([2**64]),
        lambda: region.encode(testdata.log_entry(1), 2**40),
        lambda: region.encode(testdata.log_entry(1), -3),
        lambda: region.append_raw(1, -1, b"x"),
        lambda: region.append_raw(1, 1, object()),
        lambda: region.list_frames(0, 0),
        lambda: region.list_frames(-8),
    ):
        with pytest.raises(xb.CrossbufError):
            call()
    del f


@pytest.mark.parametrize("codec", list(xb.Codec), ids=lambda c: c.name)
def test_tensor_shape_that_wraps_64_bits_is_rejected(region: xb.Region, codec: xb.Codec) -> None:
    t = xb.Tensor("t", xb.DType.U8, (16, 2**60 + 1), bytes(16))
    with pytest.raises(xb.CrossbufError):
        region.encode(t, codec)


def test_publish_time_is_the_shared_monotonic_clock(region: xb.Region) -> None:
    import time

    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    f = region.encode(testdata.log_entry(1))
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    assert before <= f.publish_ns <= after
    assert region.frame(f.offset).publish_ns == f.publish_ns
    del f
