"""fork safety, threads, and regions shared between processes."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import crossbuf as xb

from conftest import ALL_CODECS, PYTHON_DIR, ROOT, close_region

CODEC_CYCLE = [xb.Codec.FLATBUFFERS, xb.Codec.CAPNP, xb.Codec.JSON, xb.Codec.MSGPACK, xb.Codec.PROTOBUF]


def test_forked_child_gets_fork_error(region: xb.Region) -> None:
    frame = region.encode(xb.testdata.log_entry(1))
    off = frame.offset
    del frame
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 0
        for call in (lambda: region.view(off), lambda: xb.Region.anonymous(1 << 16), lambda: xb.debug_fault(1)):
            try:
                call()
                code |= 1
            except xb.ForkError:
                pass
            except BaseException:
                code |= 2
        os._exit(10 + code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 10, "the child did not get ForkError from every call"
    # the parent is unaffected
    assert region.decode(off) == xb.testdata.log_entry(1)


def test_forked_child_leaves_the_parents_subscriber_alone() -> None:
    """Every subscriber call in a forked child is ForkError, before it can
    release or free the parent's entry in the shared ring."""
    name = f"xb-fork-sub-{os.getpid()}"
    with xb.Channel.create(name, 1 << 16, policy="overwrite") as ch:
        xb.Channel.unlink(name)
        sub = ch.subscribe()
        ch.publish(b"x")
        ch.publish(b"y")
        assert sub.receive(timeout=1).tobytes() == b"x"
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            code = 0
            for i, call in enumerate((sub.release, sub.dropped, lambda: sub.receive(timeout=0), sub.close)):
                try:
                    call()
                    code |= 1 << i
                except xb.ForkError:
                    pass
                except BaseException:
                    code |= 16
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status:#x}"
        assert sub.receive(timeout=1).tobytes() == b"y", "the parent's subscriber is intact"
        sub.close()


def test_threads_decode_concurrently(region: xb.Region) -> None:
    recs = [xb.testdata.log_entry(i) for i in range(50)]
    frames = []
    for c in ALL_CODECS:
        frames += region.encode_many(recs, c)
    expect = recs * len(ALL_CODECS)
    errors: list = []

    def work() -> None:
        try:
            for _ in range(5):
                got = region.decode_many(frames)
                assert got == expect
                for f, e in zip(frames[::7], expect[::7]):
                    assert region.view(f).message == e.message
        except BaseException as ex:  # pragma: no cover - reported below
            errors.append(ex)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    gc.collect()
    assert len(region._states) <= 1  # one scratch per thread, freed when the thread is gone
    del frames


def _read_until(region: xb.Region, count: int, timeout: float = 60.0) -> list:
    got: list = []
    cursor = 0
    deadline = time.monotonic() + timeout
    while len(got) < count:
        batch, cursor = region.list_frames(cursor)
        if not batch:
            assert time.monotonic() < deadline, f"only {len(got)} of {count} frames arrived"
            time.sleep(0.001)
            continue
        for f, rec in zip(batch, region.decode_many(batch)):
            got.append((f.codec, rec))
        del batch
    return got


def _check_frames(got: list, count: int) -> None:
    assert len(got) == count
    for i, (codec, rec) in enumerate(got):
        assert codec == CODEC_CYCLE[i % 5]
        assert rec == xb.testdata.log_entry(i), f"frame {i}"


def test_c_writer_process(shm_name: str) -> None:
    writer = os.path.join(ROOT, "build", "bin", "xb_writer")
    if not os.access(writer, os.X_OK):
        pytest.skip("build/bin/xb_writer is missing: run ./build.sh lib")
    count = 500
    p = subprocess.Popen([writer, shm_name, str(count), "50"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        region = xb.Region.open_shm(shm_name)
        got = _read_until(region, count)  # frames arrive while we read
        assert p.stdout.readline().strip() == "done"
        _check_frames(got, count)
        close_region(region)
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


WRITER = textwrap.dedent(
    """
    import sys
    import crossbuf as xb
    name, count = sys.argv[1], int(sys.argv[2])
    codecs = [xb.Codec.FLATBUFFERS, xb.Codec.CAPNP, xb.Codec.JSON, xb.Codec.MSGPACK, xb.Codec.PROTOBUF]
    r = xb.Region.create_shm(name, 64 << 20)
    print("ready", flush=True)
    for i in range(count):
        f = r.encode(xb.testdata.log_entry(i), codecs[i % 5])
    del f
    print("done", flush=True)
    sys.stdin.readline()
    xb.unlink_shm(name)
    r.close()
    """
)


def test_python_writer_process(shm_name: str) -> None:
    count = 300
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", WRITER, shm_name, str(count)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "ready"
        region = xb.Region.open_shm(shm_name)
        got = _read_until(region, count)
        assert p.stdout.readline().strip() == "done"
        _check_frames(got, count)
        assert [region.view(f).service for f in list(region.frames())[:5]] == [
            xb.testdata.log_entry(i).service for i in range(5)
        ]
        close_region(region)
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
