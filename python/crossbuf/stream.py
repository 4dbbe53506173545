"""Streams: frames of a region or channel over any byte stream.

    import socket, crossbuf as xb
    a, b = socket.socketpair()
    with xb.StreamWriter(a) as w:
        w.write_region(region)            # every committed frame, in order
    with xb.StreamReader(b) as r, xb.Region.anonymous(1 << 20) as dst:
        for frame in r.frames(dst):       # landed in dst, read in place
            ...

A stream is the frame format of regions on the wire (include/crossbuf.h
describes it): the library checks every header before it takes the payload,
so a hostile or truncated stream raises MalformedError, never crashes.

The file object is anything with readinto() (files) or recv_into()
(sockets) for reading, and write() or sendall() for writing. The library
calls back into Python for the bytes: payloads are read straight into the
region or channel, and written straight from it. An exception raised by the
file object (a timeout, KeyboardInterrupt) is raised again by the call.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Iterable, Iterator
from ctypes import CFUNCTYPE, byref, c_int64, c_uint64, c_void_p
from typing import Any

from . import _lib, errors
from ._lib import check_fork, lib, raise_status
from .channel import Channel, ChannelFrame, _slice, _timeout_ns
from .region import Frame, Region

_IO_FN = CFUNCTYPE(c_int64, c_void_p, c_void_p, c_uint64)
_ERR_TIMEOUT = errors.ChannelTimeoutError.code


class _Stream:
    """A stream handle and the callback it calls."""

    def __init__(self) -> None:
        self._h = 0
        self._exc: BaseException | None = None
        self._fn: Any = None  # the ctypes callback: kept alive as long as the handle

    def _wrap(self, op: Callable[[memoryview], int | None]) -> Any:
        def call(_ctx: int | None, buf: int | None, n: int) -> int:
            try:
                mv = memoryview((ctypes.c_ubyte * n).from_address(buf or 0)).cast("B")
                try:
                    k = op(mv)
                finally:
                    mv.release()
                if k is None:  # a non-blocking file with nothing to read
                    raise BlockingIOError("the stream's file object returned None (non-blocking, no data)")
                return k
            except BaseException as e:  # noqa: BLE001 (re-raised by _check after the library returns)
                self._exc = e
                return -1

        self._fn = _IO_FN(call)
        return self._fn

    def _check(self, st: int) -> None:
        exc, self._exc = self._exc, None
        if exc is not None:
            raise exc
        if st:
            raise_status(st)

    def _handle(self) -> int:
        if not self._h:
            raise errors.ClosedError("stream is closed")
        if _lib._forked:
            _lib.fork_error()
        return self._h

    @property
    def closed(self) -> bool:
        return not self._h

    def close(self) -> None:
        """Frees the stream; the file object is not closed. Closing twice does nothing."""
        h, self._h = self._h, 0
        if h:
            lib.xb_stream_close(h)

    def __del__(self) -> None:
        if not self._h or _lib._forked:
            return
        try:
            self.close()
        except Exception:  # noqa: BLE001
            return  # interpreter teardown


class StreamWriter(_Stream):
    """Writes frames to f (write() or sendall()); the stream header is
    written at once. Use as a context manager; one thread at a time."""

    def __init__(self, f: Any) -> None:
        super().__init__()
        check_fork()
        if hasattr(f, "sendall"):
            send = f.sendall

            def op(mv: memoryview) -> int:
                send(mv)
                return len(mv)
        elif hasattr(f, "write"):
            write = f.write

            def op(mv: memoryview) -> int:
                k = write(mv)
                return len(mv) if k is None else int(k)
        else:
            raise errors.InvalidArgumentError(f"{type(f).__name__} has neither sendall() nor write()")
        h = c_void_p()
        st = lib.xb_stream_writer(-1, self._wrap(op), None, byref(h))
        self._check(st)
        self._h = h.value or 0

    def __enter__(self) -> StreamWriter:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, frames: Frame | ChannelFrame | Iterable[Frame | ChannelFrame]) -> None:
        """Writes a frame, or frames, of any region or channel (a channel
        frame must still be valid: StaleFrameError once released)."""
        items = [frames] if isinstance(frames, (Frame, ChannelFrame)) else list(frames)
        if not items:
            return
        arr = (_lib.XbFrame * len(items))()
        busy: list[Any] = []
        try:
            for i, f in enumerate(items):
                x = arr[i]
                if isinstance(f, Frame):
                    r = f._region
                    busy.append(r._enter())
                    r._offset(f)
                    x.payload, x.payload_len = f._paddr or None, f._plen
                elif isinstance(f, ChannelFrame):
                    s = f._sub
                    busy.append(s._ch._enter())
                    if f._epoch != s._epoch:
                        raise errors.StaleFrameError("channel frame was released; write it before the next receive")
                    x.payload, x.payload_len = (s._ch._base + f._o) if f._n else None, f._n
                else:
                    raise errors.InvalidArgumentError(f"not a Frame or ChannelFrame: {type(f).__name__}")
                x.codec, x.type_id, x.publish_ns = f.codec, f.type_id, f.publish_ns
            self._check(lib.xb_stream_write(self._handle(), arr, len(items)))
        finally:
            for b in busy:
                b.busy = False

    def write_bytes(self, codec: int, type_id: int, data: Any, publish_ns: int = 0) -> None:
        """Writes a frame made of any bytes-like data."""
        from .region import _buffer_arg

        arg, n, keep = _buffer_arg(data)
        x = _lib.XbFrame()
        x.codec = _lib.check_int(codec, 1, 0xFFFF, "codec", errors.UnknownCodecError)
        x.type_id = _lib.check_int(type_id, 0, _lib.U64_MAX, "type id")
        x.publish_ns = _lib.check_int(publish_ns, 0, _lib.U64_MAX, "publish_ns")
        x.payload_len = n
        x.payload = ctypes.cast(ctypes.c_char_p(arg), c_void_p).value if isinstance(arg, bytes) else arg
        self._check(lib.xb_stream_write(self._handle(), byref(x), 1))
        del keep

    def write_region(self, region: Region, cursor: int = 0) -> tuple[int, int]:
        """Writes the committed frames of region visible now from cursor (0:
        the first); returns (frames written, cursor to continue from)."""
        cur, n = c_uint64(cursor), c_uint64()
        ts = region._enter()
        try:
            self._check(lib.xb_stream_write_region(self._handle(), region._handle(), byref(cur), byref(n)))
        finally:
            ts.busy = False
        return n.value, cur.value


class StreamReader(_Stream):
    """Reads frames from f (readinto() or recv_into()); the stream header
    is read and checked at once (MalformedError). max_payload (0: no limit
    but the destination's) bounds every frame's payload. Use as a context
    manager; one thread at a time."""

    def __init__(self, f: Any, max_payload: int = 0) -> None:
        super().__init__()
        check_fork()
        if hasattr(f, "recv_into"):
            op: Callable[[memoryview], int | None] = f.recv_into
        elif hasattr(f, "readinto"):
            op = f.readinto
        else:
            raise errors.InvalidArgumentError(f"{type(f).__name__} has neither recv_into() nor readinto()")
        max_payload = _lib.check_int(max_payload, 0, _lib.U64_MAX, "max_payload")
        h = c_void_p()
        st = lib.xb_stream_reader(-1, self._wrap(op), None, max_payload, byref(h))
        self._check(st)
        self._h = h.value or 0

    def __enter__(self) -> StreamReader:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_region(self, region: Region, max_frames: int = 64) -> list[Frame]:
        """Reads up to max_frames frames into new frames of region and returns
        them (read in place there). Fewer only at the end of the stream; []
        once it has ended. RegionFullError when region has no room: the frame
        stays pending and lands at the next call (after a reset, or into
        another region), or skip() drops it; InvalidArgumentError, the frame
        pending too, when it is larger than region can hold even empty.
        Frames landed before an error stay in region (region.frames() lists
        them)."""
        cap = _lib.check_int(max_frames, 1, 1 << 20, "max_frames")
        arr = (_lib.XbFrame * cap)()
        n = c_uint64()
        ts = region._enter()
        try:
            st = lib.xb_stream_read_region(self._handle(), region._handle(), arr, cap, byref(n))
            frames = region._frames_from(arr, n.value)
            self._check(st)
        finally:
            ts.busy = False
        return frames

    def frames(self, region: Region) -> Iterator[Frame]:
        """Every frame of the stream, landed in region one by one."""
        while True:
            got = self.read_region(region, 1)
            if not got:
                return
            yield got[0]

    def read_channel(self, channel: Channel, max_frames: int = 64, timeout: float | None = None) -> int:
        """Reads up to max_frames frames and publishes each on channel,
        waiting for space up to timeout seconds per frame under "block"
        (None: for ever; ChannelTimeoutError). Returns how many; fewer only
        at the end of the stream, 0 once it has ended. A frame that found no
        room stays pending for the next call."""
        cap = _lib.check_int(max_frames, 1, 1 << 20, "max_frames")
        total = _timeout_ns(timeout)
        deadline = 0 if total <= 0 else time.monotonic_ns() + total
        done = 0
        n = c_uint64()
        while done < cap:
            t = _slice(total, deadline)
            b = channel._enter()
            try:
                st = lib.xb_stream_read_channel(self._handle(), channel._handle(), t, cap - done, byref(n))
            finally:
                b.busy = False
            done += n.value
            if st == _ERR_TIMEOUT and t != total and not (deadline and time.monotonic_ns() >= deadline):
                continue  # one slice passed: Ctrl-C is handled between two
            self._check(st)
            break  # XB_OK: all of them, or the stream ended
        return done

    def skip(self) -> None:
        """Reads past the next frame (the pending one, if any) without landing it."""
        self._check(lib.xb_stream_skip(self._handle()))


__all__ = ["StreamReader", "StreamWriter"]
