"""Channels from Python: round trips, batches, policies, frame lifetime,
waits interrupted by close and by SIGINT, a C publisher in another process,
stats and latency percentiles."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import zlib
from collections.abc import Iterator

import crossbuf as xb
import numpy as np
import pytest
from conftest import PYTHON_DIR, ROOT


@pytest.fixture
def name() -> Iterator[str]:
    n = f"xb-test-ch-{uuid.uuid4().hex[:12]}"
    yield n
    try:
        xb.Channel.unlink(n)
    except xb.RegionNotFoundError:
        pass


@pytest.fixture
def ch(name: str) -> Iterator[xb.Channel]:
    c = xb.Channel.create(name, 1 << 16)
    yield c
    if not c.closed:
        c.close()


def test_round_trip(ch: xb.Channel, name: str) -> None:
    reader = xb.Channel.open(name, readonly=True)
    sub = reader.subscribe()
    ch.publish(b"hello", codec=xb.Codec.FLATBUFFERS, type_id=42)
    ch.publish(bytearray(b"world"))
    ch.publish(np.arange(4, dtype=np.uint32))
    ch.publish(b"")
    f = sub.receive(timeout=1)
    assert (bytes(f.payload), f.codec, f.type_id) == (b"hello", xb.Codec.FLATBUFFERS, 42)
    assert f.publish_ns > 0 and len(f) == 5
    assert sub.receive(timeout=1).tobytes() == b"world"
    assert np.frombuffer(sub.receive(timeout=1).tobytes(), dtype=np.uint32).tolist() == [0, 1, 2, 3]
    assert sub.receive(timeout=1).tobytes() == b""
    with pytest.raises(xb.ChannelTimeoutError):
        sub.receive(timeout=0)
    with pytest.raises(xb.ReadOnlyError):
        reader.publish(b"x")
    assert reader.ring_size == 1 << 16 and reader.policy == "block"
    reader.close()
    with pytest.raises(xb.ClosedError):
        sub.receive(timeout=0)
    with pytest.raises(xb.ClosedError):
        reader.close()


def test_batches_and_iteration(ch: xb.Channel) -> None:
    sub = ch.subscribe(wait="spin")
    items = [bytes([i % 256]) * (i % 97) for i in range(300)]
    assert ch.publish_many(items, type_id=5) == 300
    got: list[bytes] = []
    while len(got) < 300:
        frames = sub.receive_many(max=64, timeout=1)
        assert 1 <= len(frames) <= 64
        got += [f.tobytes() for f in frames]
    assert got == items
    ch.publish_many([b"a", b"b", b"c"])
    seen = []
    for frame in sub:
        seen.append(frame.tobytes())
        if len(seen) == 3:
            break
    assert seen == [b"a", b"b", b"c"]
    assert ch.publish_many([]) == 0
    with pytest.raises(xb.InvalidArgumentError):
        ch.publish_many([1, 2])


def test_publish_and_receive_in_one_thread(name: str) -> None:
    """Frames a subscriber has moved past are given back to the ring in time
    for a publisher in the same thread (a deferred release never holds more
    than an eighth of the ring)."""
    with xb.Channel.create(name, 4096, policy="block") as ch, ch.subscribe() as sub:
        for i in range(200):
            ch.publish(bytes([i % 256]) * 100, timeout=1)
            assert sub.receive(timeout=1).tobytes() == bytes([i % 256]) * 100


def test_frame_lifetime_is_checked(ch: xb.Channel) -> None:
    sub = ch.subscribe()
    ch.publish_many([b"one", b"two", b"three"])
    f1 = sub.receive(timeout=1)
    view = f1.payload
    f2 = sub.receive(timeout=1)  # releases f1
    assert not f1.valid and f2.valid
    with pytest.raises(xb.StaleFrameError):
        _ = f1.payload
    with pytest.raises(ValueError):
        view[0]  # the view handed out was released with its frame
    part = f2.payload[1:]
    with pytest.raises(xb.FrameInUseError):
        sub.release()
    with pytest.raises(xb.FrameInUseError):
        ch.close()
    assert bytes(part) == b"wo"
    del part
    sub.release()
    f3 = sub.receive(timeout=1)
    arr = np.frombuffer(f3.payload, dtype=np.uint8)
    with pytest.raises(xb.FrameInUseError):
        sub.receive(timeout=0)
    assert arr.tobytes() == b"three"
    del arr
    sub.release()
    sub.close()
    with pytest.raises(xb.StaleFrameError):
        _ = f3.payload


def test_an_export_of_the_payload_view_itself_pins_until_dropped(ch: xb.Channel) -> None:
    """An export taken from the payload view itself (struct.iter_unpack holds
    one; so do C extensions) makes a release fail; once it is dropped the
    next release succeeds, and the payload handed out meanwhile is the
    tracked view, for receive and receive_many alike."""
    sub = ch.subscribe()
    ch.publish_many([b"abcd", b"efgh"])
    for take in (lambda: sub.receive_many(max=1, timeout=1)[0], lambda: sub.receive(timeout=1)):
        f = take()
        it = struct.iter_unpack("<I", f.payload)
        with pytest.raises(xb.FrameInUseError):
            sub.release()
        assert f.valid and f.payload.tobytes() in (b"abcd", b"efgh")
        with pytest.raises(xb.FrameInUseError):
            sub.release()
        del it
        sub.release()
        assert not f.valid
        with pytest.raises(xb.StaleFrameError):
            _ = f.payload
    sub.close()


def test_fail_policy(name: str) -> None:
    with xb.Channel.create(name, 4096, policy="fail") as ch:
        sub = ch.subscribe()
        with pytest.raises(xb.ChannelFullError) as info:
            ch.publish_many([bytes(1000)] * 10)
        published = info.value.published  # type: ignore[attr-defined]
        assert 1 <= published < 10
        with pytest.raises(xb.RegionFullError):
            ch.publish(bytes(1000))
        assert len(sub.receive_many(max=20, timeout=0)) == published
        sub.release()
        ch.publish(bytes(1000))
        assert ch.stats().full_fails >= 2


def test_block_policy_times_out(name: str) -> None:
    with xb.Channel.create(name, 4096, policy="block") as ch:
        ch.subscribe()
        t0 = time.monotonic()
        with pytest.raises(xb.ChannelTimeoutError):
            for _ in range(10):
                ch.publish(bytes(1000), timeout=0.12)
        assert time.monotonic() - t0 >= 0.1
        assert ch.stats().full_waits >= 1


def test_overwrite_reports_drops_and_overruns(name: str) -> None:
    with xb.Channel.create(name, 4096, policy="overwrite") as ch:
        sub = ch.subscribe()
        for i in range(30):
            ch.publish(bytes([i]) * 500, type_id=i)
        got = []
        while True:
            try:
                got.append(sub.receive(timeout=0).type_id)
            except xb.ChannelTimeoutError:
                break
        sub.release()
        dropped, dropped_bytes = sub.dropped()
        assert got == list(range(30 - len(got), 30))
        assert dropped == 30 - len(got) and dropped_bytes == 500 * dropped
        assert ch.stats().dropped_frames == dropped
        ch.publish(b"held")
        sub.receive(timeout=0)
        for i in range(30):
            ch.publish(bytes(500))
        with pytest.raises(xb.OverrunError):
            sub.release()
        with pytest.raises(xb.InvalidArgumentError):
            ch.subscribe(group="workers")  # groups need block or fail


def test_consumer_group_shares_the_stream(ch: xb.Channel) -> None:
    a = ch.subscribe(group="workers")
    b = ch.subscribe(group="workers")
    ch.publish_many([struct.pack("<I", i) for i in range(100)])
    seen: list[int] = []
    for s in (a, b, a, b):
        try:
            seen += [struct.unpack("<I", f.payload)[0] for f in s.receive_many(max=40, timeout=0)]
        except xb.ChannelTimeoutError:
            pass
        s.release()
    assert sorted(seen) == list(range(100))


def test_group_member_acknowledges_by_release(ch: xb.Channel) -> None:
    """A group member's frames that were not released go to another member
    when it closes or its with block ends with an exception; released ones
    (a receive releases the one before, a with block that ends normally the
    last) stay acknowledged."""
    stay = ch.subscribe(group="workers")

    def drain() -> list[bytes]:
        out = []
        while True:
            try:
                out.append(stay.receive(timeout=0.2).tobytes())
            except xb.ChannelTimeoutError:
                return out

    def take_two(leave: xb.Subscriber, tag: bytes) -> None:
        ch.publish_many([tag + b"1", tag + b"2", tag + b"3"])
        assert leave.receive(timeout=1).tobytes() == tag + b"1"
        assert leave.receive(timeout=1).tobytes() == tag + b"2"  # 1 is released now

    leave = ch.subscribe(group="workers")
    take_two(leave, b"c")
    leave.close()
    assert sorted(drain()) == [b"c2", b"c3"]
    with pytest.raises(RuntimeError):
        with ch.subscribe(group="workers") as leave:
            take_two(leave, b"e")
            raise RuntimeError("the worker failed")
    assert sorted(drain()) == [b"e2", b"e3"]
    with ch.subscribe(group="workers") as leave:
        take_two(leave, b"n")
    assert drain() == [b"n3"]


def test_argument_edges(ch: xb.Channel) -> None:
    sub = ch.subscribe()
    ch.publish_many([np.arange(10)[::2], b"xy"])  # a strided array is copied, as publish copies it
    assert np.frombuffer(sub.receive(timeout=float("inf")).tobytes(), dtype=np.int64).tolist() == [0, 2, 4, 6, 8]
    f = sub.receive(timeout=10**400)  # beyond any wait: for ever, like None
    assert f.tobytes() == b"xy"
    with xb.Region.anonymous(1 << 16) as r:
        with pytest.raises(xb.InvalidArgumentError, match="not ChannelFrame"):
            r.decode(f)  # type: ignore[arg-type]
    with pytest.raises(xb.InvalidArgumentError):
        sub.receive(timeout=float("nan"))
    del f
    sub.close()


def test_end_of_stream(ch: xb.Channel, name: str) -> None:
    """end(): subscribers get what was published before, then the iteration
    stops; publishing after it is ChannelEndedError, in every open."""
    with xb.Channel.open(name, readonly=True) as ro:
        sub = ro.subscribe(wait="park")
        ch.publish_many([b"a", b"b"])
        with pytest.raises(xb.ReadOnlyError):
            ro.end()
        ch.end()
        assert [f.tobytes() for f in sub] == [b"a", b"b"]  # waits for ever, but the end comes
        with pytest.raises(xb.ChannelEndedError):
            sub.receive()
        with pytest.raises(xb.ChannelEndedError):
            ch.publish(b"late")
        sub.close()


def test_publisher_gone(name: str) -> None:
    """Every open that published closed: a receive that would wait for ever
    raises PublisherGoneError once everything was received; a later
    publisher's frames are received."""
    with xb.Channel.create(name, 1 << 16) as ch:
        sub = ch.subscribe()
        with xb.Channel.open(name) as pub:
            pub.publish(b"x")
        assert sub.receive().tobytes() == b"x"
        with pytest.raises(xb.PublisherGoneError):
            sub.receive()
        with xb.Channel.open(name) as pub:
            pub.publish(b"y")
            assert sub.receive().tobytes() == b"y"
        sub.close()


def test_close_wakes_a_blocked_receive(ch: xb.Channel) -> None:
    sub = ch.subscribe(wait="park")
    result: list[object] = []

    def wait() -> None:
        t0 = time.monotonic()
        try:
            sub.receive()
        except xb.ClosedError as e:
            result.append(e)
        result.append(time.monotonic() - t0)

    th = threading.Thread(target=wait)
    th.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    ch.close()
    th.join(5)
    assert not th.is_alive()
    assert isinstance(result[0], xb.ClosedError)
    assert time.monotonic() - t0 < 1
    assert list(sub) == []  # iteration ends on a closed channel
    with pytest.raises(xb.ClosedError):
        ch.publish(b"x")


def test_refused_close_leaves_other_threads_receiving(name: str) -> None:
    """A close refused because a view is alive changes nothing for the
    threads iterating other subscribers: they go on receiving, and end
    cleanly once the channel does close."""
    with xb.Channel.create(name, 1 << 16) as ch:
        holder, reader = ch.subscribe(), ch.subscribe(wait="park")
        got: list[bytes] = []
        errors: list[BaseException] = []

        def read() -> None:
            try:
                for frame in reader:
                    got.append(frame.tobytes())
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        th = threading.Thread(target=read)
        th.start()
        ch.publish(b"first")
        pinned = holder.receive(timeout=1).payload[1:]  # a derived view pins the frame
        for _ in range(20):  # refused, again and again, while the reader waits
            with pytest.raises(xb.FrameInUseError):
                ch.close()
        ch.publish(b"second")
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == [b"first", b"second"] and not errors and th.is_alive()
        del pinned
        ch.close()
        th.join(5)
        assert not th.is_alive() and not errors  # the loop ended: no exception


def test_subscriber_close_racing_a_receive(name: str) -> None:
    """A subscriber closed while another thread waits in receive: that
    receive ends with ClosedError, or returns a frame that is stale at once
    (its payload is StaleFrameError, never ring memory another publisher
    reuses), and the channel then closes cleanly."""
    for attempt in range(10):
        with xb.Channel.create(f"{name}-{attempt}", 1 << 16) as ch:
            xb.Channel.unlink(f"{name}-{attempt}")
            sub = ch.subscribe()
            out: dict[str, object] = {}

            def rx() -> None:
                try:
                    out["frame"] = sub.receive(timeout=5)
                except BaseException as e:  # noqa: BLE001 - checked below
                    out["error"] = e

            th = threading.Thread(target=rx)
            th.start()
            time.sleep(0.02)
            ch.publish(b"A" * 1000)
            sub.close()
            th.join(5)
            assert not th.is_alive()
            f = out.get("frame")
            if f is None:
                assert isinstance(out["error"], xb.ClosedError)
                continue
            assert isinstance(f, xb.ChannelFrame) and not f.valid
            with pytest.raises(xb.StaleFrameError):
                f.payload  # noqa: B018
            del f, out


def test_interrupt_while_views_are_swapped(ch: xb.Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    """A KeyboardInterrupt as a receive swaps the subscriber's master view
    (where payload views are cut from) leaves the subscriber usable."""
    from crossbuf import channel

    sub = ch.subscribe()
    for i in range(3):
        ch.publish(b"%d" % i)
    assert sub.receive(timeout=1).payload.tobytes() == b"0"  # a tracked view
    orig = channel.Subscriber._new_master

    def interrupted(self: xb.Subscriber) -> memoryview:
        monkeypatch.setattr(channel.Subscriber, "_new_master", orig)
        raise KeyboardInterrupt

    monkeypatch.setattr(channel.Subscriber, "_new_master", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sub.receive(timeout=1)
    assert [sub.receive(timeout=1).payload.tobytes() for _ in range(2)] in ([b"1", b"2"], [b"0", b"1"])
    sub.close()


def test_stats_and_latency(ch: xb.Channel) -> None:
    sub = ch.subscribe()
    for i in range(50):
        ch.publish(b"x" * i)
        sub.receive(timeout=1)
    sub.release()
    st = ch.stats()
    assert st.frames_published == 50 and st.bytes_published == sum(range(50))
    assert st.subscribers == 1 and st.policy == "block" and st.capacity == 1 << 16 and st.used == 0
    assert st.latency_count == 50
    assert 0 < st.latency_p50_ns <= st.latency_p99_ns <= st.latency_p999_ns
    mine = sub.latency((0.5, 0.9))
    assert set(mine) == {0.5, 0.9} and 0 < mine[0.5] <= mine[0.9]
    assert ch.latency((0.5,))[0.5] == st.latency_p50_ns
    ch.publish(b"unread")
    (entry,) = ch.subscriber_stats()
    assert (entry.index, entry.group, entry.frames, entry.lag_frames) == (sub.index, -1, 50, 1)
    assert entry.lag_bytes == 128 and entry.bytes == sum(range(50))
    with pytest.raises(xb.InvalidArgumentError):
        ch.latency((1.5,))


def test_bad_arguments(name: str) -> None:
    with pytest.raises(xb.InvalidArgumentError):
        xb.Channel.create(name, 4096, policy="drop")
    with pytest.raises(xb.BadNameError):
        xb.Channel.create("a/b", 4096)
    with pytest.raises(xb.RegionNotFoundError):
        xb.Channel.open(name)
    with xb.Channel.create(name, 4096) as ch:
        with pytest.raises(xb.RegionExistsError):
            xb.Channel.create(name, 4096)
        with pytest.raises(xb.InvalidArgumentError):
            ch.subscribe(wait="sometimes")
        with pytest.raises(xb.InvalidArgumentError):
            ch.publish(bytes(8192))
        with pytest.raises(xb.UnknownCodecError):
            ch.publish(b"x", codec=99)
        sub = ch.subscribe()
        with pytest.raises(xb.InvalidArgumentError):
            sub.receive(timeout=-1)
        with pytest.raises(xb.InvalidArgumentError):
            sub.receive_many(max=0)


def _check_payload(mv: memoryview) -> int:
    seq, crc, size = struct.unpack_from("<QII", mv)
    assert size == len(mv), f"frame {seq}: size {size}, len {len(mv)}"
    assert zlib.crc32(mv[16:]) == crc, f"frame {seq}: checksum"
    return int(seq)


@pytest.mark.parametrize("batch", [1, 32])
def test_c_publisher_process(name: str, batch: int) -> None:
    """A C process publishes checksummed frames into a small ring under the
    block policy; Python receives every one once, in order, intact."""
    pub = os.path.join(ROOT, "build", "bin", "xb_chanpub")
    if not os.access(pub, os.X_OK):
        pytest.skip("build/bin/xb_chanpub is missing: run ./build.sh lib")
    count, size = 20000, 200
    with xb.Channel.create(name, 1 << 14, policy="block") as ch, ch.subscribe() as sub:
        p = subprocess.Popen([pub, name, str(count), str(size), str(batch)], stdout=subprocess.PIPE, text=True)
        try:
            expect = 0
            while expect < count:
                for f in sub.receive_many(max=256, timeout=10):
                    assert _check_payload(f.payload) == expect
                    expect += 1
            sub.release()
            out = p.communicate(timeout=30)[0]
            assert p.returncode == 0 and out.startswith(f"done {count} ")
            with pytest.raises(xb.PublisherGoneError):
                sub.receive()  # nothing more (no duplicates), and the publisher has exited: no hang
            st = ch.stats()
            assert st.frames_published == count and st.dropped_frames == 0
            assert st.latency_count == count and st.latency_p50_ns > 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_two_c_publishers_two_subscribers(name: str) -> None:
    """Two C publisher processes into one small block-policy ring, read by
    two subscribers (one through a subscribe-only open): each subscriber gets
    every frame of each publisher once, in that publisher's order, intact."""
    pub = os.path.join(ROOT, "build", "bin", "xb_chanpub")
    if not os.access(pub, os.X_OK):
        pytest.skip("build/bin/xb_chanpub is missing: run ./build.sh lib")
    count, size = 5000, 120
    with xb.Channel.create(name, 1 << 14, policy="block") as ch, xb.Channel.open(name, readonly=True) as ro:
        subs = [ch.subscribe(), ro.subscribe()]
        procs = [subprocess.Popen([pub, name, str(count), str(size), str(batch), "0", str(pid)], stdout=subprocess.PIPE,
                                  text=True) for pid, batch in ((1, 1), (2, 16))]
        try:
            nxt = [{1: 0, 2: 0} for _ in subs]
            deadline = time.monotonic() + 60
            while any(sum(n.values()) < 2 * count for n in nxt):
                assert time.monotonic() < deadline, f"stalled at {nxt}"
                for s, n in zip(subs, nxt):
                    try:
                        frames = s.receive_many(max=128, timeout=0)
                    except (xb.ChannelTimeoutError, xb.PublisherGoneError):  # publisher 2 may not have begun yet
                        continue
                    for f in frames:
                        seq = _check_payload(f.payload)
                        pid, i = seq >> 48, seq & ((1 << 48) - 1)
                        assert i == n[pid], f"publisher {pid}: frame {i}, expected {n[pid]}"
                        n[pid] += 1
            for p in procs:
                out = p.communicate(timeout=30)[0]
                assert p.returncode == 0 and out.startswith(f"done {count} ")
            assert ch.stats().frames_published == 2 * count
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


SIGINT_CHILD = textwrap.dedent(
    """
    import signal
    import sys
    import crossbuf as xb
    # A shell starts background jobs with SIGINT ignored, and Python then
    # installs no handler: install it, so the test does not depend on how it was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ch = xb.Channel.create(sys.argv[1], 4096)
    sub = ch.subscribe(wait="park")
    if sys.argv[2] == "publish":
        while True:  # fill the ring: the next publish waits for the subscriber
            try:
                ch.publish(bytes(500), timeout=0)
            except xb.ChannelTimeoutError:
                break
    print("ready", flush=True)
    try:
        if sys.argv[2] == "publish":
            ch.publish(bytes(500))
        else:
            sub.receive()
        print("returned", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        ch.close()
        xb.Channel.unlink(sys.argv[1])
    """
)


@pytest.mark.parametrize("what", ["receive", "publish"])
def test_sigint_interrupts_a_blocked_wait(name: str, what: str) -> None:
    """Ctrl-C ends a receive waiting for frames, and a block-policy publish
    waiting for space, promptly."""
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    p = subprocess.Popen([sys.executable, "-c", SIGINT_CHILD, name, what], stdout=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(30, p.kill)  # a child that never answers fails the test instead of hanging it
    watchdog.start()
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # well inside the blocking receive
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGINT)
        assert p.stdout.readline().strip() == "interrupted"
        took = time.monotonic() - t0
        assert p.wait(timeout=10) == 0
        assert took < 1.0, f"KeyboardInterrupt came {took:.3f} s after SIGINT"
    finally:
        watchdog.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()


def test_schema_calls_take_received_frames(ch: xb.Channel) -> None:
    """A frame received from a channel decodes, transcodes and reads by path
    with the calls a region's frame takes, and the checks are the same."""
    fb = xb.bundled.schema()
    LogEntry, Http = fb["crossbuf_fb.LogEntry"], fb["crossbuf_fb.Http"]
    tid = fb.type_id("crossbuf_fb.LogEntry")
    region = xb.Region.anonymous(1 << 20)
    made = [LogEntry(timestamp_ns=i, service=f"svc-{i}", trace_id=list(range(i, i + 16)), tags=["a", "b"][: i % 3],
                     http=Http(path=f"/p/{i}", status=200 + i) if i % 2 else None) for i in range(5)]  # fmt: skip
    frames = [region.encode(m) for m in made]
    sub = ch.subscribe()
    for f in frames:
        ch.publish(f.payload, codec=xb.Codec.FLATBUFFERS, type_id=tid)
    ch.publish(b"not a flatbuffer", codec=xb.Codec.FLATBUFFERS, type_id=tid)
    got = sub.receive_many(max=5, timeout=1)
    assert len(got) == 5
    service, path, status = (fb.path(tid, p) for p in ("service", "http.path", "http.status"))
    trace = fb.path(tid, "trace_id")
    assert service.read_many(got) == service.read_many(frames) == [m.service for m in made]
    assert path.read_many(got) == [None, "/p/1", None, "/p/3", None]
    assert [status.read(f) for f in got] == [status.read(f) for f in frames]
    ids = trace.read_many(got)
    assert [np.frombuffer(b, np.uint8).tolist() for b in ids] == [m.trace_id for m in made]
    assert bytes(trace.read(got[2])) == bytes(made[2].trace_id) and service.read(got[4]) == "svc-4"
    assert [fb.to_record(f) for f in got] == [region.decode(f) for f in frames] == made
    assert fb.to_json(got[3]) == fb.to_json(frames[3])
    with pytest.raises(xb.RecordTypeError):
        fb.to_record(got[0], type="crossbuf_fb.Sample")
    with pytest.raises(xb.RecordTypeError):
        fb.path("crossbuf_fb.Sample", "label").read(got[0])
    with pytest.raises(xb.InvalidArgumentError):
        service.read_many([got[0], frames[0]])
    kept = got[1]
    ids = None
    bad = sub.receive(timeout=1)  # releases the batch
    with pytest.raises(xb.StaleFrameError):
        service.read(kept)
    with pytest.raises(xb.StaleFrameError):
        fb.to_record(kept)
    with pytest.raises(xb.MalformedError):
        fb.to_record(bad)
    with pytest.raises(xb.MalformedError):
        service.read(bad)
    sub.close()
    with pytest.raises(xb.StaleFrameError):  # close releases the frames held
        service.read(bad)
    region.close()


def test_path_receive_many_reads_a_batch_in_place(ch: xb.Channel) -> None:
    """FieldPath.receive_many: a batch received and one field read from each
    frame, the frames held until the next receive like receive_many's."""
    fb = xb.bundled.schema()
    LogEntry = fb["crossbuf_fb.LogEntry"]
    tid = fb.type_id("crossbuf_fb.LogEntry")
    region = xb.Region.anonymous(1 << 20)
    sub = ch.subscribe()
    for i in range(10):
        ch.publish(region.encode(LogEntry(message=f"m{i}", trace_id=[i] * 16)).payload, codec=xb.Codec.FLATBUFFERS,
                   type_id=tid)  # fmt: skip
    message, trace = fb.path(tid, "message"), fb.path(tid, "trace_id")
    assert message.receive_many(sub, max=4, timeout=1) == ["m0", "m1", "m2", "m3"]
    ids = trace.receive_many(sub, max=3, timeout=1)
    assert [bytes(b) for b in ids] == [bytes([i] * 16) for i in (4, 5, 6)]
    arr = np.frombuffer(ids[0], np.uint8)
    with pytest.raises(xb.FrameInUseError):  # a view of a held frame pins it
        message.receive_many(sub, timeout=1)
    del arr, ids
    assert message.receive_many(sub, timeout=1) == ["m7", "m8", "m9"]
    with pytest.raises(xb.ChannelTimeoutError):
        message.receive_many(sub, timeout=0)
    ch.publish(b"\x00" * 8, codec=xb.Codec.FLATBUFFERS, type_id=tid + 1)
    with pytest.raises(xb.RecordTypeError):
        message.receive_many(sub, timeout=1)
    with pytest.raises(xb.InvalidArgumentError):
        message.receive_many(sub, max=0)
    sub.close()
    with pytest.raises(xb.ClosedError):
        message.receive_many(sub, timeout=0)
    region.close()


def test_received_string_views_are_released_with_their_frames(ch: xb.Channel) -> None:
    """A string path with text="view" hands out views into the ring: valid
    while the frame is held, released by the next receive; a view derived
    from one pins the frames (FrameInUseError) like a payload's."""
    fb = xb.bundled.schema()
    LogEntry = fb["crossbuf_fb.LogEntry"]
    tid = fb.type_id("crossbuf_fb.LogEntry")
    region = xb.Region.anonymous(1 << 20)
    sub = ch.subscribe()
    for m in ["é", "", "b", "c"]:
        ch.publish(region.encode(LogEntry(message=m)).payload, codec=xb.Codec.FLATBUFFERS, type_id=tid)
    message = fb.path(tid, "message", text="view")
    one = message.read(sub.receive(timeout=1))
    assert isinstance(one, memoryview) and bytes(one) == "é".encode()
    views = message.receive_many(sub, max=2, timeout=1)
    assert [bytes(v) for v in views] == [b"", b"b"]
    with pytest.raises(ValueError):  # released by receive_many
        bytes(one)
    derived = views[1][:1]
    with pytest.raises(xb.FrameInUseError):
        sub.receive(timeout=1)
    del derived, views
    assert bytes(message.read(sub.receive(timeout=1))) == b"c"
    sub.close()
    region.close()


def test_schemas_stored_in_a_channel(ch: xb.Channel, name: str) -> None:
    """A schema stored in a channel is loaded by another open, which decodes
    frames with it; storing it again keeps one copy; a read-only open cannot
    store; the schema area outlives the frames."""
    from conftest import conformance

    d = conformance("flatbuffers")
    with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:
        assert s.store_in(ch) is None
        s.store_in(ch)
        Monster = s["MyGame.Example.Monster"]
        with xb.Region.anonymous(1 << 16) as r:
            f = s.encode(r, Monster(name="Orc", hp=7))
            payload = bytes(f.payload)
            del f
        reader = xb.Channel.open(name, readonly=True)
        sub = reader.subscribe()
        for _ in range(600):  # laps of the ring: the schemas stay
            ch.publish(payload, xb.Codec.FLATBUFFERS, s.root_type)
            sub.receive(timeout=1)
        stored = xb.Schema.from_channel(reader)
        assert len(stored) == 1 and stored[0].binary() == s.binary()
        assert stored[0].format == "flatbuffers"
        assert ("MyGame.Example.Monster", s.root_type, "table") in stored[0].types()
        ch.publish(payload, xb.Codec.FLATBUFFERS, s.root_type)
        rec = stored[0].to_record(sub.receive(timeout=1))
        assert (rec.name, rec.hp) == ("Orc", 7)
        with pytest.raises(xb.ReadOnlyError):
            s.store_in(reader)
        sub.close()
        reader.close()
    with pytest.raises(xb.ClosedError):
        xb.Schema.from_channel(reader)


def test_receive_payloads(ch: xb.Channel) -> None:
    """Payload views alone, in order, empty payloads too; released by the
    next receive; an export of one alive is FrameInUseError."""
    sub = ch.subscribe()
    items = [bytes([i % 256]) * (i % 50) for i in range(200)]
    ch.publish_many(items)
    got: list[bytes] = []
    while len(got) < 200:
        views = sub.receive_payloads(max=64, timeout=1)
        assert 1 <= len(views) <= 64 and all(v.readonly for v in views)
        got += [bytes(v) for v in views]
    assert got == items
    with pytest.raises(xb.ChannelTimeoutError):
        sub.receive_payloads(timeout=0)
    with pytest.raises(ValueError):
        views[-1][:1].tobytes()  # released by the receive after it
    ch.publish(b"abcd")
    (v,) = sub.receive_payloads(timeout=1)
    arr = np.frombuffer(v, dtype=np.uint8)
    ch.publish(b"next")
    with pytest.raises(xb.FrameInUseError):
        sub.receive_payloads(timeout=1)
    assert arr.tobytes() == b"abcd"  # still intact: the frame was not given back
    del arr
    assert [bytes(x) for x in sub.receive_payloads(timeout=1)] == [b"next"]
    with pytest.raises(xb.InvalidArgumentError):
        sub.receive_payloads(max=0)
    sub.close()
    with pytest.raises(xb.ClosedError):
        sub.receive_payloads()


def test_overwritten_while_decoded_is_overrun(name: str) -> None:
    """Under "overwrite", a held frame a publisher overwrote no longer
    parses: its decode and path reads raise OverrunError (the frame was
    torn), not MalformedError; check() says so without giving anything
    back. An intact frame passes check()."""
    from conftest import conformance

    d = conformance("flatbuffers")
    with xb.Channel.create(name, 4096, policy="overwrite") as ch, \
            xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:  # fmt: skip
        sub = ch.subscribe()
        with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
            mon = fh.read()
        path = s.path(s.root_type, "name")
        ch.publish(mon, xb.Codec.FLATBUFFERS, s.root_type)
        f = sub.receive(timeout=1)
        sub.check()
        assert s.to_dict(f)["name"] == "MyMonster" and path.read(f) == "MyMonster"
        for _ in range(40):  # lap the ring with bytes that parse as nothing
            ch.publish(b"\xff" * 300)
        with pytest.raises(xb.OverrunError):
            sub.check()
        with pytest.raises(xb.OverrunError) as e:
            s.to_dict(f)
        assert isinstance(e.value.__cause__, xb.MalformedError)
        with pytest.raises(xb.OverrunError):
            path.read(f)
        with pytest.raises(xb.OverrunError):
            sub.release()
    with xb.Channel.create(name + "-b", 4096) as ch:
        try:
            sub = ch.subscribe()
            ch.publish(b"x")
            sub.receive(timeout=1)
            sub.check()  # never raises under "block"
            sub.close()
            with pytest.raises(xb.ClosedError):
                sub.check()
        finally:
            xb.Channel.unlink(name + "-b")
