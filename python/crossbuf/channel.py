"""Channels: named shared rings of frames that run forever, across processes.

    import crossbuf as xb
    with xb.Channel.create("ticks", 1 << 20) as ch, ch.subscribe() as sub:
        ch.publish(b"hello")
        frame = sub.receive(timeout=1.0)
        print(bytes(frame.payload))   # read in place from the ring
    xb.Channel.unlink("ticks")        # the name lives until unlinked

A received frame's payload is a read-only memoryview into the ring, no copy.
It is valid until the subscriber's next receive, receive_many or release
(each receive first releases what the previous one returned), and checked:
afterwards the frame raises StaleFrameError and memoryviews handed out by
`payload` are released. A view derived from one (a slice, a numpy array)
cannot be released for you, so a release while one is alive raises
FrameInUseError and keeps the frames pinned: copy what you keep
(bytes(frame.payload)).

A stream that has no future never hangs a receive: after Channel.end() a
subscriber gets the frames published before, then ChannelEndedError (a
`for frame in sub` loop stops); once every open that published has closed
or died, a subscriber that has received everything gets PublisherGoneError
(the next receive gets the frames of a publisher that comes later).

Under the "overwrite" policy a publisher may reclaim a frame while it is
read, however it is held: release() (and the next receive) raise OverrunError
when that happened, and whatever was read since the previous release must be
discarded. Copies made before the check are copies of possibly torn bytes.

Waits (receive, and publish under "block") run in slices of 50 ms, so
Ctrl-C (KeyboardInterrupt) interrupts them promptly; the GIL is released
while the library waits. The slices of one wait count once in the
channel's full_waits and parked_waits.

asyncio: `await sub.receive_async()` and `async for frame in sub` take a
frame that is ready at once in the event loop's thread; otherwise the wait
goes to one thread of the subscriber's (started at the first such wait),
which sleeps in the library and hands the frame to the loop. A cancelled
wait ends within one slice; a frame that arrived meanwhile is kept for the
next receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import queue
import sys
import threading
import time
from array import array
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from ctypes import byref, c_double, c_int32, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, NoReturn

from . import _lib, errors
from ._lib import FRAME_FMT, check_fork, lib, raise_status
from .records import Codec
from .region import _buffer_arg, _name_bytes

_POLICIES = {"block": 0, "fail": 1, "overwrite": 2}
_POLICY_NAMES = {v: k for k, v in _POLICIES.items()}
_WAITS = {"spin_then_park": 0, "spin": 1, "park": 2}
_XB_OPEN_READ_ONLY = 1
_ERR_TIMEOUT = errors.ChannelTimeoutError.code
_SLICE_NS = 50_000_000
_DEFER_FRAMES = 64  # frames retired in Python before they are given back to the ring
_FOREVER = -1
_FOREVER_S = ((1 << 63) - 1) / 1e9  # a timeout in seconds at least this long never ends
_receive = lib.xb_subscriber_receive
_receive_batch = lib.xb_subscriber_receive_batch
_release = lib.xb_subscriber_release
_publish = lib.xb_channel_publish


def unlink(name: str) -> None:
    """Removes a channel's name; open channels keep working."""
    check_fork()
    st = lib.xb_channel_unlink(_name_bytes(name))
    if st:
        raise_status(st)


def _timeout_ns(timeout: float | None) -> int:
    """None (or infinity): for ever (-1); else seconds >= 0 as ns."""
    if timeout is None:
        return _FOREVER
    if not isinstance(timeout, (int, float)) or (isinstance(timeout, float) and math.isnan(timeout)) or timeout < 0:
        raise errors.InvalidArgumentError(f"timeout must be None or seconds >= 0, not {timeout!r}")
    if timeout >= _FOREVER_S:  # beyond any wait the library takes (infinity too): for ever
        return _FOREVER
    return int(timeout * 1e9)


def _codec_id(codec: Any) -> int:
    return _lib.codec_arg(int(codec) if isinstance(codec, Codec) else codec)


class _Busy:
    __slots__ = ("busy",)

    def __init__(self) -> None:
        self.busy = False


@dataclass(frozen=True)
class ChannelStats:
    """A channel's gauges and counters, the same in every process."""

    capacity: int  #: data ring bytes
    used: int  #: ring bytes between the slowest subscriber and the tail
    tail: int  #: stream position (bytes since creation) of the next frame
    frames_published: int
    bytes_published: int  #: payload bytes
    full_waits: int  #: publishes that found the ring full and waited (block) or overwrote (overwrite)
    full_fails: int  #: publishes refused with ChannelFullError (fail)
    parked_waits: int  #: waits that slept on the futex, publishers and subscribers
    dead_publishers: int  #: slots of dead publishers aborted
    dead_subscribers: int  #: entries of dead subscribers freed
    dropped_frames: int  #: frames subscribers lost to the overwrite policy
    latency_count: int  #: publish->receive latencies recorded
    latency_overflow: int  #: latencies above 100 s
    policy: str
    subscribers: int  #: active subscriber entries (a consumer group's cursor counts as one)
    latency_p50_ns: int  #: publish->receive latency over every subscriber (0 when none recorded)
    latency_p99_ns: int
    latency_p999_ns: int


@dataclass(frozen=True)
class SubscriberStats:
    """One active entry of a channel's subscriber table, any process's."""

    index: int  #: entry in the table (Subscriber.index)
    group: int  #: a group member: index of its group's cursor entry; else -1
    group_cursor: bool  #: the cursor entry of a consumer group
    peer: int  #: peer id of the open that joined (0: a group cursor)
    position: int  #: everything before it is released
    lag_bytes: int
    lag_frames: int  #: committed frames not yet released
    frames: int  #: received
    bytes: int  #: payload bytes received
    dropped: int  #: frames lost to the overwrite policy
    dropped_bytes: int
    parked_waits: int
    heartbeat_ns: int  #: CLOCK_MONOTONIC of its last receive or wait


class Channel:
    """An open channel. Create one with Channel.create, attach with
    Channel.open; use as a context manager. Methods are thread-safe; a
    Subscriber is used by one thread at a time.

    close() refuses (FrameInUseError) while views derived from received
    payloads are alive, and then nothing changes for other threads; once it
    closes, receives blocked in other threads end with ClosedError within
    about 50 ms."""

    def __init__(self, handle: int, name: str) -> None:
        # Use create() or open().
        self._h = handle
        self.name = name
        self._pid = os.getpid()
        base, size = c_void_p(), c_uint64()
        st = lib.xb_channel_base(handle, byref(base), byref(size))
        if st:
            lib.xb_channel_close(handle)
            raise_status(st)
        self._base = base.value or 0
        self._size = size.value
        self._local = threading.local()
        self._states: list[_Busy] = []
        self._lock = threading.Lock()
        self._checking = False  # close() looks at the views of every subscriber
        self._close_lock = threading.Lock()
        self._subs: list[Subscriber] = []
        stats = self._raw_stats()
        #: Data ring size in bytes; the largest payload is ring_size - 128.
        self.ring_size: int = stats.capacity
        #: "block", "fail" or "overwrite".
        self.policy: str = _POLICY_NAMES.get(stats.policy, str(stats.policy))

    # ---- constructors ------------------------------------------------------

    @classmethod
    def create(cls, name: str, capacity: int, policy: str = "block", mode: int = 0o600) -> Channel:
        """Creates the channel name exclusively (RegionExistsError if taken).
        capacity: the ring size in bytes, rounded up to a power of two (at
        least 4096). policy, when the ring is full: "block" waits for the
        slowest subscriber, "fail" raises ChannelFullError, "overwrite"
        reclaims the oldest frames (lagging subscribers learn how many they
        lost)."""
        check_fork()
        if policy not in _POLICIES:
            raise errors.InvalidArgumentError(f"policy must be one of {sorted(_POLICIES)}, not {policy!r}")
        capacity = _lib.check_int(capacity, 1, 1 << 40, "capacity")
        mode = _lib.check_int(mode, 0, 0o777, "mode")
        h = c_void_p()
        st = lib.xb_channel_create(_name_bytes(name), capacity, _POLICIES[policy], mode, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, name)

    @classmethod
    def open(cls, name: str, readonly: bool = False) -> Channel:
        """Attaches to a channel any process created. readonly: subscribe
        only (the ring is mapped read-only; publish raises ReadOnlyError)."""
        check_fork()
        h = c_void_p()
        st = lib.xb_channel_open(_name_bytes(name), _XB_OPEN_READ_ONLY if readonly else 0, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, name)

    unlink = staticmethod(unlink)

    # ---- lifetime ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        return not self._h

    def _handle(self) -> int:
        if not self._h:
            raise errors.ClosedError("channel is closed")
        if _lib._forked:
            _lib.fork_error()
        return self._h

    def _enter(self) -> _Busy:
        """Marks this thread inside a call whose results point into the
        mapping; the caller clears busy when done. busy is set before the
        checks, and close() sets _checking before it looks at busy flags, so
        under the GIL either the call waits for close() to decide (and then
        sees the channel closed, or goes on) or close() waits for it."""
        b: _Busy | None = getattr(self._local, "b", None)
        if b is None:
            b = _Busy()
            self._local.b = b
            with self._lock:
                self._states.append(b)
        b.busy = True
        try:
            self._between(b)
            if _lib._forked:
                _lib.fork_error()
        except BaseException:  # a KeyboardInterrupt too: the flag must not stay up for ever
            b.busy = False
            raise
        return b

    def _between(self, b: _Busy) -> None:
        """Where an entered call may let close() in: on entry, and between
        the slices of a wait. While close() decides, the call waits with its
        busy flag down; ClosedError if it closed."""
        while self._checking:
            b.busy = False
            time.sleep(0.0005)
            b.busy = True
        if not self._h:
            raise errors.ClosedError("channel is closed")

    @contextlib.contextmanager
    def _exclusive(self, what: str) -> Iterator[None]:
        """Calls of other threads that use the mapping finish, or wait
        between the slices of their waits (_between), and new ones wait
        (_enter) until the block ends, so the views it checks do not change
        under it. One close at a time; one from inside a call of this thread
        (a finalizer, a signal handler) is refused."""
        me = getattr(self._local, "b", None)
        if me is not None and me.busy:
            raise errors.FrameInUseError(f"cannot {what} from inside a call that uses it")
        with self._close_lock:
            self._handle()
            self._checking = True
            try:
                with self._lock:
                    states = list(self._states)
                _lib.wait_for_others(states, me, 0.0005)
                yield
            finally:
                self._checking = False

    def end(self) -> None:
        """Ends the stream for good, in every process: publishing raises
        ChannelEndedError from now on, and subscribers receive the frames
        published before, then ChannelEndedError (iterating one stops).
        ReadOnlyError on a channel opened readonly."""
        st = lib.xb_channel_end(self._handle())
        if st:
            raise_status(st)

    def close(self) -> None:
        """Closes the channel and its subscribers. ClosedError the second
        time; FrameInUseError while views derived from received payloads are
        alive (nothing is closed then, and other threads go on). Calls of
        other threads finish first (a blocked receive within one wait
        slice, with ClosedError); one from inside a call of this thread (a
        finalizer, a signal handler) is refused."""
        with self._exclusive("close the channel"):
            h = self._h
            subs = list(self._subs)
            # Only now: other threads' receives make views from the
            # subscribers' master views, which the check replaces.
            for s in subs:
                s._check_unused("close the channel")
            self._h = 0
        for s in subs:
            s._drop()
        self._subs.clear()
        st = lib.xb_channel_close(h)
        if st:
            raise_status(st)

    def __del__(self) -> None:
        h = getattr(self, "_h", 0)
        try:
            if not h or _lib.forked() or os.getpid() != self._pid:
                return
            for s in self._subs:
                s._check_unused("close the channel")
        except Exception:  # noqa: BLE001
            return  # still in use (keep the mapping: leak, never crash) or interpreter teardown
        self._h = 0
        for s in self._subs:
            s._drop()
        lib.xb_channel_close(h)

    def __enter__(self) -> Channel:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._h:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if not self._h else f"{self.policy}, ring {self.ring_size}"
        return f"Channel({self.name!r}, {state})"

    # ---- publishing ----------------------------------------------------------

    def publish(self, data: Any, codec: Any = Codec.MSGPACK, type_id: int = 0,
                timeout: float | None = None) -> None:
        """Copies data (any bytes-like object) into a new frame tagged with
        codec and type_id (the bytes are not checked). When the ring is full:
        "block" waits up to timeout seconds (None: for ever;
        ChannelTimeoutError), "fail" raises ChannelFullError, "overwrite"
        reclaims the oldest frames."""
        cid = _codec_id(codec)
        tid = _lib.check_int(type_id, 0, _lib.U64_MAX, "type_id")
        ptr, n, _keep = _buffer_arg(data)
        total = _timeout_ns(timeout)
        deadline = 0 if total <= 0 else time.monotonic_ns() + total
        while True:
            t = _slice(total, deadline)
            st = _publish(self._handle(), cid, tid, ptr, n, t, None)
            if st == 0:
                return
            if st != _ERR_TIMEOUT or t == total or (deadline and time.monotonic_ns() >= deadline):
                raise_status(st)

    def publish_many(self, items: Sequence[Any], codec: Any = Codec.MSGPACK, type_id: int = 0,
                     timeout: float | None = None) -> int:
        """Publishes each item as a frame, in order, in one library call per
        batch. Returns len(items). On an error, the exception's `published`
        attribute says how many frames were committed (the first ones)."""
        cid = _codec_id(codec)
        tid = _lib.check_int(type_id, 0, _lib.U64_MAX, "type_id")
        try:
            lens = array("Q", [len(x) if type(x) is bytes else memoryview(x).nbytes for x in items])
            try:
                data = b"".join(items)
            except (TypeError, BufferError):  # a strided buffer (a numpy slice): copied, as publish does
                data = b"".join(x if type(x) is bytes else memoryview(x).tobytes() for x in items)
        except TypeError as e:
            raise errors.InvalidArgumentError(f"items must be bytes-like objects: {e}") from None
        total = _timeout_ns(timeout)
        deadline = 0 if total <= 0 else time.monotonic_ns() + total
        done, count, off = c_uint64(), len(lens), 0
        base = ctypes.cast(ctypes.c_char_p(data), c_void_p).value or 0
        lens_addr = lens.buffer_info()[0]
        published = 0
        while published < count:
            t = _slice(total, deadline)
            st = lib.xb_channel_publish_batch(self._handle(), cid, tid, base + off, lens_addr + 8 * published,
                                              count - published, t, byref(done))
            off += sum(lens[published : published + done.value])
            published += done.value
            if st == 0:
                continue
            if st != _ERR_TIMEOUT or t == total or (deadline and time.monotonic_ns() >= deadline):
                try:
                    raise_status(st)
                except errors.CrossbufError as e:
                    e.published = published  # type: ignore[attr-defined]
                    raise
        return published

    # ---- subscribing ---------------------------------------------------------

    def subscribe(self, group: str | None = None, wait: str = "spin_then_park") -> Subscriber:
        """A new subscriber. group None: broadcast, it receives every frame
        published after this call. group "name": a member of that consumer
        group, which shares the stream with the other members (each frame
        goes to one member). A member acknowledges a frame by releasing it
        (its next receive does); frames a member had not released when it
        closed, or when its process died, go to another member. The group
        lives while it has members: frames published while it has none are
        not kept for it. wait:
        "spin_then_park" (poll ~20 us, then sleep), "spin" (poll only),
        "park" (sleep at once)."""
        if wait not in _WAITS:
            raise errors.InvalidArgumentError(f"wait must be one of {sorted(_WAITS)}, not {wait!r}")
        g: bytes | None = None
        if group is not None:
            if not isinstance(group, str) or not group or "\0" in group:
                raise errors.InvalidArgumentError(f"group must be a non-empty str without NUL, not {group!r}")
            g = group.encode()
        h = c_void_p()
        st = lib.xb_channel_subscribe(self._handle(), _WAITS[wait], g, byref(h))
        if st:
            raise_status(st)
        s = Subscriber(self, h.value or 0, group)
        self._subs.append(s)
        return s

    # ---- observability -------------------------------------------------------

    def _raw_stats(self) -> _lib.XbChannelStats:
        out = _lib.XbChannelStats()
        st = lib.xb_channel_get_stats(self._handle(), byref(out))
        if st:
            raise_status(st)
        return out

    def latency(self, quantiles: Iterable[float] = (0.5, 0.99, 0.999),
                subscriber: Subscriber | None = None) -> dict[float, int]:
        """Publish->receive latency in ns at each quantile (0.999 is p99.9),
        over every subscriber or one, from the shared HDR histograms (2
        significant digits). All 0 when nothing was recorded."""
        return self._latency(list(quantiles), -1 if subscriber is None else subscriber.index)[0]

    def _latency(self, qs: list[float], index: int) -> tuple[dict[float, int], int]:
        for q in qs:
            if not isinstance(q, (int, float)) or not 0 <= q <= 1:
                raise errors.InvalidArgumentError(f"quantiles must be in [0, 1], not {q!r}")
        n = len(qs)
        qa = (c_double * max(n, 1))(*qs)
        out = (c_uint64 * max(n, 1))()
        count = c_uint64()
        st = lib.xb_channel_latency(self._handle(), index, qa, out, n, byref(count))
        if st:
            raise_status(st)
        return {q: int(out[i]) for i, q in enumerate(qs)}, count.value

    def subscriber_stats(self) -> list[SubscriberStats]:
        """Position, lag and counters of every active subscriber entry."""
        n = c_uint64()
        while True:
            cap = max(n.value, 16)
            arr = (_lib.XbSubscriberStats * cap)()
            st = lib.xb_channel_subscribers(self._handle(), arr, cap, byref(n))
            if st:
                raise_status(st)
            if n.value <= cap:
                break
        return [SubscriberStats(index=e.index, group=e.group, group_cursor=bool(e.group_cursor), peer=e.peer,
                                position=e.position, lag_bytes=e.lag_bytes, lag_frames=e.lag_frames, frames=e.frames,
                                bytes=e.bytes, dropped=e.dropped, dropped_bytes=e.dropped_bytes,
                                parked_waits=e.parked_waits, heartbeat_ns=e.heartbeat_ns) for e in arr[: n.value]]

    def stats(self) -> ChannelStats:
        """Gauges, counters and the p50/p99/p99.9 publish->receive latency."""
        s = self._raw_stats()
        lat, _ = self._latency([0.5, 0.99, 0.999], -1)
        return ChannelStats(
            capacity=s.capacity, used=s.used, tail=s.tail, frames_published=s.frames_published,
            bytes_published=s.bytes_published, full_waits=s.full_waits, full_fails=s.full_fails,
            parked_waits=s.parked_waits, dead_publishers=s.dead_publishers, dead_subscribers=s.dead_subscribers,
            dropped_frames=s.dropped_frames, latency_count=s.latency_count, latency_overflow=s.latency_overflow,
            policy=_POLICY_NAMES.get(s.policy, str(s.policy)), subscribers=s.subscribers,
            latency_p50_ns=lat[0.5], latency_p99_ns=lat[0.99], latency_p999_ns=lat[0.999],
        )


def _slot(payload_len: int) -> int:
    """Ring bytes of a frame: its 64-byte header and payload, in 64-byte units."""
    return (payload_len + 127) & ~63


def _slice(total: int, deadline: int) -> int:
    """The timeout of the next library wait: at most one slice, so signals
    are handled between two."""
    if total == 0:
        return 0
    if total < 0:
        return _SLICE_NS
    return max(0, min(_SLICE_NS, deadline - time.monotonic_ns()))


class ChannelFrame:
    """One received frame: codec, type_id, publish_ns (CLOCK_MONOTONIC),
    position in the ring (offset, and generation: the ring lap) and the
    payload, a read-only memoryview into the ring. Valid until the
    subscriber's next receive or release; then StaleFrameError."""

    __slots__ = ("_epoch", "_mv", "_n", "_o", "_sub", "codec", "generation", "offset", "publish_ns", "type_id")

    def __init__(self, sub: Subscriber, epoch: int, offset: int, generation: int, type_id: int, publish_ns: int,
                 codec: int, o: int, n: int, mv: memoryview | None = None) -> None:
        self.offset = offset
        self.generation = generation
        self.type_id = type_id
        self.publish_ns = publish_ns
        self.codec = codec
        self._sub = sub
        self._epoch = epoch
        self._o = o
        self._n = n
        self._mv = mv  # the payload view, once made (receive_many makes it up front)

    @property
    def valid(self) -> bool:
        """False once released (by the subscriber's next receive, release or close)."""
        return self._epoch == self._sub._epoch

    def _check_held(self) -> None:
        """StaleFrameError once the frame was released."""
        if self._epoch != self._sub._epoch:
            raise errors.StaleFrameError(
                "frame was released (by the subscriber's next receive, release or close); "
                "copy its payload (bytes(frame.payload)) or what was read from it to keep it")

    def _ref(self) -> tuple[int, ...]:
        """The frame as the library's xb_frame (FRAME_FMT fields) names a
        received frame: type id and payload pointer and length; checked held."""
        self._check_held()
        n = self._n
        return (self.offset, 0, self.generation, self.type_id, self.publish_ns, self.codec,
                self._sub._ch._base + self._o if n else 0, n)  # fmt: skip

    @property
    def payload(self) -> memoryview:
        """The payload in the ring, zero-copy (StaleFrameError once released).
        Every access while the frame is held returns the same view; releasing
        it yourself (a with block) is fine, the next access makes another."""
        s = self._sub
        mv = self._mv
        if mv is not None and self._epoch == s._epoch and not _lib._forked:
            try:
                mv.readonly  # noqa: B018 - ValueError once the caller released it (a with block)
                return mv
            except ValueError:
                pass
        b = s._ch._enter()  # a close in another thread waits until the view is registered
        try:
            self._check_held()
            mv = self._mv = s._payload_view(self._o, self._n)
            return mv
        finally:
            b.busy = False

    def tobytes(self) -> bytes:
        """A copy of the payload."""
        return self.payload.tobytes()

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        try:
            c = Codec(self.codec).name
        except ValueError:
            c = str(self.codec)
        state = "" if self.valid else ", released"
        return f"ChannelFrame(offset={self.offset}, codec={c}, type_id={self.type_id}, len={self._n}{state})"


class _Wait:
    """One asynchronous receive handed to a subscriber's waiter thread."""

    __slots__ = ("cancelled", "error", "frame", "timeout")

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.cancelled = False
        self.frame: ChannelFrame | None = None
        self.error: BaseException | None = None


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _Waiter:
    """The thread that waits for a subscriber's frames for asyncio, one wait
    at a time, in slices, so a cancelled wait ends soon. A frame received
    for a wait cancelled meanwhile is stashed for the next receive."""

    def __init__(self, sub: Subscriber) -> None:
        self.sub = sub
        self.cond = threading.Condition()
        self.pending = 0  # waits submitted and not finished
        self.closing = False  # the subscriber is closing: waits end with ClosedError
        self.stash: ChannelFrame | None = None
        self.jobs: queue.SimpleQueue[tuple[_Wait, asyncio.AbstractEventLoop, asyncio.Future[None]] | None] = (
            queue.SimpleQueue())
        self.thread = threading.Thread(target=self._run, name=f"crossbuf-subscriber-{sub.index}", daemon=True)
        self.thread.start()

    def submit(self, w: _Wait, loop: asyncio.AbstractEventLoop, fut: asyncio.Future[None]) -> None:
        with self.cond:
            self.pending += 1
        self.jobs.put((w, loop, fut))

    def cancel(self, w: _Wait) -> None:
        with self.cond:
            w.cancelled = True
            if w.frame is not None:  # received, but the loop did not take it
                self.stash, w.frame = w.frame, None

    def settle(self) -> ChannelFrame | None:
        """Waits until no wait is in flight; returns (and forgets) a stashed frame."""
        with self.cond:
            while self.pending:
                self.cond.wait()
            f, self.stash = self.stash, None
            return f

    def stop(self) -> None:
        self.jobs.put(None)
        if threading.current_thread() is not self.thread:
            self.thread.join()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            w, loop, fut = job
            f: ChannelFrame | None = None
            err: BaseException | None = None
            try:
                f = self._wait(w)
            except BaseException as e:  # noqa: BLE001 (handed to the awaiting task)
                err = e
            with self.cond:
                if w.cancelled:
                    if f is not None:
                        self.stash = f
                else:
                    w.frame, w.error = f, err
                    try:
                        loop.call_soon_threadsafe(_wake, fut)
                    except RuntimeError:  # the loop was closed
                        if f is not None:
                            self.stash = f
                self.pending -= 1
                self.cond.notify_all()

    def _wait(self, w: _Wait) -> ChannelFrame | None:
        with self.cond:
            if self.stash is not None:
                f, self.stash = self.stash, None
                return f
        deadline = None if w.timeout is None else time.monotonic() + w.timeout
        while not w.cancelled:
            if self.closing:
                raise errors.ClosedError("subscriber closed while waiting")
            t = _SLICE_NS / 1e9 if deadline is None else min(_SLICE_NS / 1e9, max(0.0, deadline - time.monotonic()))
            try:
                return self.sub._receive(t)
            except errors.ChannelTimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
        return None


class Subscriber:
    """A subscriber of a channel (Channel.subscribe). Receive with
    receive(), receive_many() or iteration; each receive first releases
    the frames the previous one returned (they become stale at once; under
    block and fail their ring space is given back in groups, at the latest
    when the subscriber would wait: call release() to give it back now). Use
    as a context manager; used by one thread at a time."""

    def __init__(self, channel: Channel, handle: int, group: str | None) -> None:
        self._ch = channel
        self._h = handle
        self.group = group
        self._epoch = 0
        self._held = False  # frames handed out and still valid
        # Frames retired in Python but not yet given back to the ring: under
        # block and fail, the ring release waits until the next receive
        # would wait, or enough has piled up, saving a library call (and
        # often a wake-up of a blocked publisher) per frame. Under
        # overwrite every release is a check, so it is never deferred; nor
        # is a group member's, which acknowledges frames that would
        # otherwise go to another member when it closes or dies.
        self._pending = 0
        self._pending_bytes = 0
        self._defer = channel.policy != "overwrite" and group is None
        self._defer_bytes = channel.ring_size // 8
        self._pinned = False  # a release was refused: views may be alive
        self._views: list[memoryview] = []
        # Every payload view is a slice of this subscriber's master view:
        # they share one buffer export of _arr, whose refcount tells
        # whether any is alive.
        self._arr = (ctypes.c_uint8 * channel._size).from_address(channel._base)
        self._arr_refs = sys.getrefcount(self._arr)
        self._master = self._new_master()
        self._frame = _lib.XbFrame()
        self._frame_ref = byref(self._frame)
        self._frame_mv = memoryview(self._frame).cast("B")
        self._batch: Any | None = None
        self._batch_cap = 0
        # One xb_frame and one path value with its present flag (byte 16)
        # for FieldPath.read of a received frame, reused across calls.
        self._path_frame = _lib.XbFrame()
        self._path_frame_mv = memoryview(self._path_frame).cast("B")
        self._path_frame_addr = ctypes.addressof(self._path_frame)
        self._path_val = (ctypes.c_uint8 * 24)()
        self._path_val_mv = memoryview(self._path_val).cast("B")
        self._path_val_addr = ctypes.addressof(self._path_val)
        self._path_args = (c_void_p(handle), c_void_p(self._path_frame_addr), c_void_p(self._path_val_addr),
                           c_void_p(self._path_val_addr + 16))  # fmt: skip
        idx = c_int32()
        st = lib.xb_subscriber_index(handle, byref(idx))
        if st:
            raise_status(st)
        #: The subscriber's entry in the channel's table (stats, latency).
        self.index: int = idx.value
        self._waiter: _Waiter | None = None  # started by the first asynchronous wait

    def _new_master(self) -> memoryview:
        return memoryview(self._arr).cast("B").toreadonly()

    def _handle(self) -> int:
        if not self._h:
            raise errors.ClosedError("subscriber is closed")
        if _lib._forked:  # a child must not release or free the parent's entry
            _lib.fork_error()
        return self._h

    def _payload_view(self, offset: int, n: int) -> memoryview:
        """A read-only view of n ring bytes at offset from the mapping's
        base, released with the frames held (FrameInUseError while an
        export of it lives). Bytes outside the ring (a schema default a
        path holds) are copied."""
        master = self._master
        if not (0 <= offset and offset + n <= master.nbytes):
            return memoryview(ctypes.string_at(self._ch._base + offset, n))
        mv = master[offset : offset + n]
        self._views.append(mv)
        return mv

    # ---- frame lifetime -------------------------------------------------------

    def _check_unused(self, what: str) -> None:
        """Releases the payload views handed out; FrameInUseError if a view
        derived from one is still alive (nothing else is done then)."""
        if not self._views and not self._pinned:
            return
        kept = []
        for v in self._views:
            try:
                v.release()
            except BufferError:  # a numpy array or other export of it
                kept.append(v)
        # The views still exported stay tracked: the next check retries
        # them, and a frame's cached payload is never an untracked view.
        alive = bool(kept)
        self._views = kept
        # The new master before the old one goes: an interrupt between the
        # two must not leave a released master behind.
        old, self._master = self._master, self._new_master()
        old.release()
        if alive or sys.getrefcount(self._arr) != self._arr_refs + 1:
            # +1: the new master's export.
            self._pinned = True
            raise errors.FrameInUseError(
                f"cannot {what}: a view derived from a received frame's payload (a slice, a numpy array) "
                "is alive; drop it, or copy the bytes (bytes(frame.payload)) to keep them")
        self._pinned = False

    def _retire(self, what: str) -> None:
        """Makes the frames handed out stale (FrameInUseError if a view
        derived from one is alive)."""
        self._check_unused(what)
        if self._held:
            self._epoch += 1
            self._held = False

    def _ring_release(self) -> None:
        if self._pending:
            self._pending = self._pending_bytes = 0
            st = _release(self._handle())
            if st:
                raise_status(st)

    def _start_receive(self) -> bool:
        """Retires the frames handed out; reports whether frames wait to be
        given back to the ring (the receive then polls before waiting)."""
        self._handle()
        self._retire("receive")
        if not self._defer or self._pending >= _DEFER_FRAMES or self._pending_bytes >= self._defer_bytes:
            self._ring_release()
        return self._pending > 0

    def release(self) -> None:
        """Gives back the frames received so far: they become stale, and
        their space may be reused. FrameInUseError while a view derived from
        their payloads is alive; OverrunError ("overwrite") when they were
        overwritten while held (discard what was read from them)."""
        self._handle()
        self._settle()
        self._retire("release the frames")
        self._ring_release()

    # ---- receiving ------------------------------------------------------------

    def _settle(self) -> ChannelFrame | None:
        """Waits for the asynchronous wait in flight, if any, to end; returns
        the frame it received for a cancelled wait."""
        return self._waiter.settle() if self._waiter is not None else None

    def receive(self, timeout: float | None = None) -> ChannelFrame:
        """The next frame, waiting up to timeout seconds (None: for ever, 0:
        not at all; ChannelTimeoutError when nothing came). Releases the
        frames received before, first."""
        f = self._settle()
        return f if f is not None else self._receive(timeout)

    def _receive(self, timeout: float | None) -> ChannelFrame:
        poll = self._start_receive()
        total = _timeout_ns(timeout)
        deadline = 0 if total <= 0 else time.monotonic_ns() + total
        ch = self._ch
        b = ch._enter()
        try:
            while True:
                t = 0 if poll else _slice(total, deadline)
                st = _receive(self._handle(), t, self._frame_ref)
                if st == 0:
                    break
                if st == _ERR_TIMEOUT and poll:
                    poll = False
                    self._ring_release()  # nothing ready: give the ring back before waiting
                    continue
                if st != _ERR_TIMEOUT or t == total or (deadline and time.monotonic_ns() >= deadline):
                    raise_status(st)
                ch._between(b)
            f = FRAME_FMT.unpack_from(self._frame_mv)
            self._held = True
            self._pending += 1
            self._pending_bytes += _slot(f[7])
            return self._make(f)
        finally:
            b.busy = False

    def _make(self, f: tuple[int, ...]) -> ChannelFrame:
        offset, _cid, generation, type_id, publish_ns, codec, paddr, plen = f
        o = paddr - self._ch._base if plen else 0
        return ChannelFrame(self, self._epoch, offset, generation, type_id, publish_ns, codec, o, plen)

    def receive_many(self, max: int = 64, timeout: float | None = None) -> list[ChannelFrame]:
        """Up to max frames in one library call: waits up to timeout seconds
        for the first (ChannelTimeoutError), then takes those already
        published. Releases the frames received before, first."""
        cap = _lib.check_int(max, 1, 1 << 20, "max")
        f = self._settle()
        if f is not None:
            return [f]
        b = self._ch._enter()
        try:
            n = self._take_batch(b, cap, timeout)
            raw = memoryview(self._batch).cast("B")[: n * FRAME_FMT.size]  # type: ignore[arg-type]
            # The payload views are made here, in one pass, while the channel
            # is entered: a batch is received to be read, and frame.payload
            # is then a field lookup.
            base, master, epoch, frames = self._ch._base, self._master, self._epoch, []
            for offset, _cid, generation, type_id, publish_ns, codec, paddr, plen in FRAME_FMT.iter_unpack(raw):
                o = paddr - base if plen else 0
                frames.append(ChannelFrame(self, epoch, offset, generation, type_id, publish_ns, codec, o, plen,
                                           master[o : o + plen]))  # fmt: skip
            self._views += [f._mv for f in frames]  # type: ignore[misc]
            return frames
        finally:
            b.busy = False

    def receive_payloads(self, max: int = 64, timeout: float | None = None) -> list[memoryview]:
        """receive_many's payloads alone, in order: read-only views into the
        ring, zero-copy, with no frame object around them (for payloads that
        describe themselves, such as MessagePack or JSON, or whose type the
        caller knows). They live as frames' payloads do: released by the
        next receive or release (reading one then raises ValueError), which
        is FrameInUseError while an export of one (a numpy array) lives."""
        cap = _lib.check_int(max, 1, 1 << 20, "max")
        f = self._settle()
        if f is not None:
            return [f.payload]
        b = self._ch._enter()
        try:
            n = self._take_batch(b, cap, timeout)
            words = memoryview(self._batch).cast("B")[: n * FRAME_FMT.size].cast("Q")  # type: ignore[arg-type]
            base, master = self._ch._base, self._master
            views = [master[p - base : p - base + k] if k else master[:0] for p, k in zip(words[6::8], words[7::8])]
            self._views += views
            return views
        finally:
            b.busy = False

    def _take_batch(self, b: _Busy, cap: int, timeout: float | None) -> int:
        """receive_many's library call: up to cap xb_frames into _batch,
        their count returned, after releasing the frames held. The caller
        has entered the channel."""
        poll = self._start_receive()
        if cap > self._batch_cap:
            self._batch = (_lib.XbFrame * cap)()
            self._batch_cap = cap
        arr = self._batch
        total = _timeout_ns(timeout)
        deadline = 0 if total <= 0 else time.monotonic_ns() + total
        n = c_uint64()
        ch = self._ch
        while True:
            t = 0 if poll else _slice(total, deadline)
            st = _receive_batch(self._handle(), arr, cap, t, byref(n))
            if n.value:
                self._held = True
                self._pending += n.value
                lens = memoryview(arr).cast("B")[: n.value * FRAME_FMT.size].cast("Q")[7::8]  # type: ignore[arg-type]
                self._pending_bytes += sum(map(_slot, lens))
            if st == 0:
                return n.value
            if st == _ERR_TIMEOUT and poll:
                poll = False
                self._ring_release()
                continue
            if st != _ERR_TIMEOUT or t == total or (deadline and time.monotonic_ns() >= deadline):
                raise_status(st)
            ch._between(b)

    def __iter__(self) -> Iterator[ChannelFrame]:
        return self

    async def receive_async(self, timeout: float | None = None) -> ChannelFrame:
        """receive() for asyncio: a frame ready now is taken in the loop's
        thread; otherwise the subscriber's waiter thread waits for it, and
        the loop runs on meanwhile. Cancelling the await ends the wait."""
        w = self._waiter
        if w is None or not w.pending:
            f = w.settle() if w is not None else None
            if f is not None:
                return f
            try:
                return self._receive(0)
            except errors.ChannelTimeoutError:
                if timeout is not None and timeout <= 0:
                    raise
        if w is None:
            self._handle()
            w = self._waiter = _Waiter(self)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        job = _Wait(timeout)
        w.submit(job, loop, fut)
        try:
            await fut
        except asyncio.CancelledError:
            w.cancel(job)
            raise
        if job.error is not None:
            raise job.error
        assert job.frame is not None
        return job.frame

    def __aiter__(self) -> AsyncIterator[ChannelFrame]:
        return self

    async def __anext__(self) -> ChannelFrame:
        """The next frame, waiting for ever; the iteration ends when the
        stream was ended (Channel.end()) or the subscriber or its channel is
        closed. PublisherGoneError when every publisher closed or died."""
        try:
            return await self.receive_async()
        except errors.ChannelEndedError:
            raise StopAsyncIteration from None
        except errors.ClosedError:
            if not self._h or not self._ch._h:
                raise StopAsyncIteration from None
            raise

    def __next__(self) -> ChannelFrame:
        """The next frame, waiting for ever; the iteration ends when the
        stream was ended (Channel.end()) or the subscriber or its channel is
        closed. PublisherGoneError when every publisher closed or died."""
        try:
            return self.receive()
        except errors.ChannelEndedError:
            raise StopIteration from None
        except errors.ClosedError:
            if not self._h or not self._ch._h:
                raise StopIteration from None
            raise

    def check(self) -> None:
        """Checks, without giving anything back, that the frames received
        since the last release are intact: OverrunError ("overwrite") once
        a publisher has reclaimed any of them (discard what was read from
        them; the next release raises it too). Under "block" and "fail"
        frames cannot be reclaimed while held, and this never raises."""
        st = lib.xb_subscriber_check(self._handle())
        if st:
            raise_status(st)

    def _torn(self, e: errors.MalformedError) -> NoReturn:
        """Raises OverrunError instead of e when the frames were overwritten
        while read (a torn frame no longer parses), else e."""
        if self._ch.policy == "overwrite":
            try:
                self.check()
            except errors.OverrunError as o:
                raise o from e
        raise e

    # ---- state ------------------------------------------------------------------

    def dropped(self) -> tuple[int, int]:
        """(frames, payload bytes) this subscriber lost to the overwrite policy."""
        f, n = c_uint64(), c_uint64()
        st = lib.xb_subscriber_dropped(self._handle(), byref(f), byref(n))
        if st:
            raise_status(st)
        return f.value, n.value

    def latency(self, quantiles: Iterable[float] = (0.5, 0.99, 0.999)) -> dict[float, int]:
        """This subscriber's publish->receive latency in ns at each quantile."""
        self._handle()
        return self._ch.latency(quantiles, self)

    def _stop_waiter(self) -> None:
        w, self._waiter = self._waiter, None
        if w is not None:
            w.closing = True
            w.stop()

    def _drop(self) -> None:
        """Closes the handle (the channel is closing; views were checked)."""
        self._stop_waiter()
        h, self._h = self._h, 0
        self._epoch += 1
        if h:
            lib.xb_subscriber_close(h)

    def close(self) -> None:
        """Leaves the channel. A group member's frames that were not
        released go back to the group, to another member (release() first
        acknowledges them); a broadcast subscriber's are let go.
        FrameInUseError while views derived from received payloads are
        alive. ClosedError the second time. A receive blocked in another
        thread ends with ClosedError (within one wait slice); a frame it
        returned meanwhile is stale."""
        ch = self._ch
        me = getattr(ch._local, "b", None)
        if me is not None and me.busy:
            raise errors.FrameInUseError("cannot close the subscriber from inside a call that uses it")
        self._handle()
        w = self._waiter
        if w is not None:
            w.closing = True  # a wait in flight ends within a slice, with ClosedError
            w.settle()
            self._stop_waiter()
        # As Channel.close: calls of other threads finish, or wait between
        # their slices, while the views are checked and the frames made stale.
        with ch._exclusive("close the subscriber"):
            h = self._handle()
            self._check_unused("close the subscriber")
            self._h = 0
            self._epoch += 1
        if self in ch._subs:
            ch._subs.remove(self)
        st = lib.xb_subscriber_close(h)
        if st:
            raise_status(st)

    @property
    def closed(self) -> bool:
        return not self._h

    def __enter__(self) -> Subscriber:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """For a group member, a with block that ends normally acknowledges
        the frames received (release, then close), and one that ends with an
        exception hands those not released back to the group (close)."""
        if self._h:
            if exc_type is None and self.group is not None:
                self.release()
            self.close()

    def __repr__(self) -> str:
        kind = "broadcast" if self.group is None else f"group {self.group!r}"
        return f"Subscriber({kind}, index {self.index}{', closed' if not self._h else ''})"


__all__ = ["Channel", "ChannelFrame", "ChannelStats", "Subscriber", "SubscriberStats", "unlink"]
