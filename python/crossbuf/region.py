"""Regions (mmap'd blocks of frames) and frames, over the C ABI."""

from __future__ import annotations

import ctypes
import gc
import marshal
import os
import struct
import sys
import socket
import threading
import time
from array import array
from ctypes import byref, c_int32, c_uint64, c_void_p
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _encode, _lib, errors
from ._lib import FRAME_FMT, LOG_ENTRY_FMT, SAMPLE_FMT, STR_FMT, TENSOR_FMT, check_fork, lib, raise_status
from .records import Codec, Http, Level, LogEntry, Record, Sample
from .views import LogEntryView, SampleView, TensorView, View

_XB_OPEN_READ_ONLY = 1
_LIST_BATCH = 256
_STRUCT_SIZE = {1: 160, 2: 80, 3: 104}
_ZERO_COPY = (False, True, True, False, False, False)  # by codec id
_LEVELS = tuple(Level)
_SPAN = STR_FMT  # (ptr, len) of an xb_str
_string_at = ctypes.string_at
_fast = lib.xbp_fast
_FAST_READ_STR = _lib.XBP_FAST_READ_STR
_FAST_DECODE_PYMARSHAL = _lib.XBP_FAST_DECODE_PYMARSHAL
_FAST_ENCODE_PYMARSHAL = _lib.XBP_FAST_ENCODE_PYMARSHAL
_FAST_DECODE = _lib.XBP_FAST_DECODE
_FAST_IN = struct.Struct("<ii8xQ")  # xbp_fast_call op, arg, offset (at +16)
_FAST_GEN = struct.Struct("<Q")  # xbp_fast_call generation (at +80)
_FAST_ENC_OUT = struct.Struct("<QQ")  # xbp_fast_call generation, publish_ns (at +80)
_FAST_ENC = struct.Struct("<iiiIQQ")  # xbp_fast_call op, arg, codec, pad, offset, in_len
_FAST_OUT = struct.Struct("<QQ")  # xbp_fast_call out, out_len
_FAST_RES = struct.Struct("<QQQQ")  # xbp_fast_call offset, in_len, out, out_len
_dumps = marshal.dumps


class Field(IntEnum):
    """String fields that Region.read_str reads alone (XB_FIELD_*)."""

    LOG_SERVICE = 1
    LOG_HOST = 2
    LOG_MESSAGE = 3
    LOG_HTTP_METHOD = 4
    LOG_HTTP_PATH = 5
    TENSOR_NAME = 6


@dataclass(frozen=True)
class RegionStats:
    capacity: int
    data_offset: int
    used: int
    high_water: int
    frame_count: int
    generation: int
    aborted: int  #: slots of dead writers aborted since creation
    region_id: int  #: random, fixed at creation, the same in every process
    sealed: bool  #: a memfd sealed against shrinking (Region.memfd)
    read_only: bool  #: this open maps the region read-only


class Frame:
    """One committed frame: where it is (offset, and the region_id and
    generation it belongs to), what it holds (codec, type_id), when it was
    published (publish_ns, CLOCK_MONOTONIC) and its payload.

    A Frame names one frame of one region: using it with another region, or
    after the region was reset, raises StaleFrameError. A Frame alone does
    not pin the mapping; its `payload` memoryview (read-only region memory,
    no copy) does, like views and arrays do."""

    __slots__ = ("offset", "region_id", "generation", "type_id", "publish_ns", "codec", "_region", "_paddr", "_plen",
                 "__weakref__")

    def __init__(self, region: "Region", offset: int, region_id: int, generation: int, type_id: int, publish_ns: int,
                 codec: int, paddr: int, plen: int) -> None:
        self.offset = offset
        self.region_id = region_id
        self.generation = generation
        self.type_id = type_id
        self.publish_ns = publish_ns
        self.codec = codec
        self._region = region
        self._paddr = paddr
        self._plen = plen

    @property
    def payload(self) -> memoryview:
        """The encoded bytes in region memory (ClosedError once the region is
        closed, StaleFrameError once it was reset)."""
        r = self._region
        ts = r._enter()
        try:
            _, gen = r._offset(self)
            if gen != r._generation():
                raise errors.StaleFrameError(f"frame of generation {gen}; the region was reset since")
            o = self._paddr - r._base
            return r._mv[o : o + self._plen]
        finally:
            ts.busy = False

    @property
    def len(self) -> int:
        return self._plen

    def __len__(self) -> int:
        return self._plen

    def __repr__(self) -> str:
        try:
            c = Codec(self.codec).name
        except ValueError:
            c = str(self.codec)
        return f"Frame(offset={self.offset}, codec={c}, type_id={self.type_id}, len={self._plen})"


def _name_bytes(name: Any) -> bytes:
    try:
        b = os.fsencode(name)
    except TypeError:
        raise errors.BadNameError(f"a region name or path must be str, bytes or os.PathLike, not {type(name).__name__}") from None
    if b"\0" in b:
        raise errors.BadNameError(f"region name {name!r} contains a NUL byte")
    return b


def _buffer_arg(data: Any) -> Tuple[Any, int, Any]:
    """(argument for a const uint8_t* parameter, length, object to keep alive)."""
    if isinstance(data, bytes):
        return data, len(data), data
    try:
        arr = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    except (TypeError, ValueError) as e:
        raise errors.InvalidArgumentError(f"data must be a bytes-like object: {e}") from None
    if isinstance(arr, np.ndarray):
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        arr = arr.reshape(-1).view(np.uint8)
    return arr.ctypes.data, arr.nbytes, arr


def _loads_acyclic(b: bytes) -> Any:
    """marshal.loads with the cyclic GC paused: a batch of records creates
    thousands of containers, none of them in a cycle, and the collections they
    would trigger cost more than decoding them (measured: about a third)."""
    if not gc.isenabled():
        return marshal.loads(b)
    gc.disable()
    try:
        return marshal.loads(b)
    finally:
        gc.enable()


class _ThreadState:
    """Per-thread decode scratch and reusable output buffers."""

    __slots__ = ("scratch", "busy", "out", "out_c", "out_addr", "offs", "offs_addr", "mp", "mn", "mp_ref", "mn_ref",
                 "fast", "fast_ptr", "fast_mv", "pybuf", "pybuf_c", "pybuf_addr")

    def __init__(self, scratch: int, region: int) -> None:
        self.scratch = scratch
        # True while this thread is inside a call that uses the scratch or
        # region memory, from before the library call until the results are
        # copied out: close() waits for it (see Region._enter).
        self.busy = False
        self._grow_out(160 * 16)
        self.offs = (c_uint64 * 1)()
        self.offs_addr = ctypes.addressof(self.offs)
        # Out-parameters of the marshal calls, with their byref made once:
        # argument conversion is most of what a ctypes call costs.
        self.mp, self.mn = c_void_p(), c_uint64()
        self.mp_ref, self.mn_ref = byref(self.mp), byref(self.mn)
        # The xbp_fast argument block: one prebuilt pointer argument per call.
        # Marshal results land in pybuf when they fit; marshal.loads reads it
        # directly (it ignores the bytes after the object), so no copy.
        self.pybuf = bytearray(1 << 16)
        self.pybuf_c = (ctypes.c_char * len(self.pybuf)).from_buffer(self.pybuf)  # pins it: no resize
        self.pybuf_addr = ctypes.addressof(self.pybuf_c)
        self.fast = _lib.XbFastCall(region=region, scratch=scratch, buf=self.pybuf_addr, buf_cap=len(self.pybuf))
        self.fast_ptr = c_void_p(ctypes.addressof(self.fast))
        self.fast_mv = memoryview(self.fast).cast("B")  # struct packing beats ctypes attribute access

    def _grow_out(self, n: int) -> None:
        self.out = bytearray(n)
        self.out_c = (ctypes.c_char * n).from_buffer(self.out)
        self.out_addr = ctypes.addressof(self.out_c)

    def out_for(self, n: int) -> None:
        if len(self.out) < n:
            del self.out_c  # release the export before dropping the buffer
            self._grow_out(max(n, 2 * len(self.out)))


class Region:
    """An mmap'd region of frames: anonymous, named shared memory, or a file.

    Use as a context manager. Frames, views, payloads and numpy arrays taken
    from a region point into its mapping; close() and reset() raise
    RegionInUseError while any of them is alive, instead of unmapping memory
    under them. Not usable in a child process forked after import (ForkError).
    """

    def __init__(self, handle: int, kind: str, name: Optional[str] = None) -> None:
        # Use the constructors (anonymous, create_shm, ...).
        self._h = handle
        self.kind = kind
        self.name = name
        self._pid = os.getpid()
        base = c_void_p()
        cap = c_uint64()
        st = lib.xb_region_base(handle, byref(base), byref(cap))
        if st:
            lib.xb_region_close(handle)
            raise_status(st)
        self._base = base.value or 0
        self._cap = cap.value
        self._arr = (ctypes.c_uint8 * self._cap).from_address(self._base)
        self._arr_refs = sys.getrefcount(self._arr)
        self._mv = self._new_master()
        self._local = threading.local()
        self._states: List[_ThreadState] = []
        self._lock = threading.Lock()
        stats = self.stats()
        self.id: int = stats.region_id
        self.read_only: bool = stats.read_only

    def _new_master(self) -> memoryview:
        # Every memoryview handed out is a slice of this one: they share one
        # buffer export of self._arr, whose refcount tells whether any is alive.
        return memoryview(self._arr).cast("B").toreadonly()

    # ---- constructors ----------------------------------------------------

    @classmethod
    def anonymous(cls, capacity: int) -> "Region":
        """A private region of this process."""
        check_fork()
        capacity = _capacity(capacity)
        h = c_void_p()
        st = lib.xb_region_create_anon(capacity, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, "anonymous")

    @classmethod
    def create_shm(cls, name: str, capacity: int, mode: int = 0o600) -> "Region":
        """Creates the shared-memory region name exclusively (RegionExistsError
        if taken). The whole capacity is reserved now: NoSpaceError if
        /dev/shm cannot hold it."""
        check_fork()
        b, capacity, mode = _name_bytes(name), _capacity(capacity), _mode(mode)
        h = c_void_p()
        st = lib.xb_region_create_shm(b, capacity, mode, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, "shm", name)

    @classmethod
    def open_shm(cls, name: str, readonly: bool = False) -> "Region":
        """Attaches to a shared-memory region created by any process.
        readonly maps it PROT_READ (needs only read permission); writes then
        raise ReadOnlyError."""
        check_fork()
        h = c_void_p()
        st = lib.xb_region_open_shm(_name_bytes(name), _XB_OPEN_READ_ONLY if readonly else 0, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, "shm", name)

    @classmethod
    def memfd(cls, capacity: int, name: str = "crossbuf") -> "Region":
        """A region in a sealed memfd: shared memory without a name, handed to
        other processes with send() (or any SCM_RIGHTS transport). It cannot
        shrink, so no peer can make a reader fault, unlike named and file
        regions."""
        check_fork()
        b, capacity = _name_bytes(name), _capacity(capacity)
        h = c_void_p()
        st = lib.xb_region_create_memfd(b, capacity, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, "memfd", name)

    @classmethod
    def from_fd(cls, fd: int, readonly: bool = False) -> "Region":
        """Opens the region in a memfd received from another process. Refuses
        (InvalidArgumentError) a descriptor not sealed against shrinking. fd is
        duplicated; the caller still owns it."""
        check_fork()
        fd = _lib.check_int(fd, 0, _lib.I32_MAX, "fd")
        h = c_void_p()
        st = lib.xb_region_open_fd(fd, _XB_OPEN_READ_ONLY if readonly else 0, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, "memfd")

    def fileno(self) -> int:
        """The descriptor behind a memfd, file or shm region; owned by the
        region (valid until close; do not close it)."""
        fd = c_int32()
        st = lib.xb_region_fd(self._handle(), byref(fd))
        if st:
            raise_status(st)
        return fd.value

    def send(self, sock: socket.socket) -> None:
        """Passes the region's descriptor over a Unix socket (SCM_RIGHTS)."""
        socket.send_fds(sock, [b"X"], [self.fileno()])

    @classmethod
    def receive(cls, sock: socket.socket, readonly: bool = False) -> "Region":
        """Receives a region descriptor that send() passed over sock, and opens it."""
        _, fds, _, _ = socket.recv_fds(sock, 1, 1)
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise errors.InvalidArgumentError("no region descriptor in the message")
        try:
            return cls.from_fd(fds[0], readonly)
        finally:
            os.close(fds[0])

    def recover(self) -> int:
        """Aborts the slots left by writers whose process is proven dead and
        returns how many. A writable open does this already."""
        n = c_uint64()
        st = lib.xb_region_recover(self._handle(), byref(n))
        if st:
            raise_status(st)
        return n.value

    @staticmethod
    def unlink_shm(name: str) -> None:
        """Removes a shared-memory name; open mappings stay valid."""
        unlink_shm(name)

    @classmethod
    def create_file(cls, path: Union[str, "os.PathLike[str]"], capacity: int, mode: int = 0o600) -> "Region":
        check_fork()
        b, capacity, mode = _name_bytes(path), _capacity(capacity), _mode(mode)
        h = c_void_p()
        st = lib.xb_region_create_file(b, capacity, mode, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, "file", os.fsdecode(b))

    @classmethod
    def open_file(cls, path: Union[str, "os.PathLike[str]"], readonly: bool = False) -> "Region":
        check_fork()
        b = _name_bytes(path)
        h = c_void_p()
        st = lib.xb_region_open_file(b, _XB_OPEN_READ_ONLY if readonly else 0, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0, "file", os.fsdecode(b))

    # ---- lifetime --------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._h == 0

    def _handle(self) -> int:
        h = self._h
        if not h:
            raise errors.ClosedError("region is closed")
        # The at-fork hook sets _forked in every child that os.fork (and so
        # multiprocessing) makes; the pid check at open and close catches the rest.
        if _lib._forked:
            _lib.fork_error()
        return h

    def _ensure_unused(self, what: str) -> None:
        """Raises RegionInUseError if any memoryview into the mapping is alive."""
        try:
            self._mv.release()
        except BufferError:
            raise errors.RegionInUseError(
                f"cannot {what} the region: a buffer export of region.buffer is alive "
                "(e.g. a numpy array or memoryview made from it)"
            ) from None
        if sys.getrefcount(self._arr) != self._arr_refs:
            self._mv = self._new_master()
            raise errors.RegionInUseError(
                f"cannot {what} the region: frames, views, payload memoryviews or numpy arrays "
                "still point into it; drop them (del) first"
            )

    def _enter(self) -> _ThreadState:
        """Starts a call that uses the scratch or region memory after the
        library returns; the caller sets ts.busy = False when done. busy is
        set before the closed check and close() clears the handle before it
        looks at busy flags, so under the GIL either the call sees the region
        closed or close() sees the call and waits for it."""
        ts = self._state()
        ts.busy = True
        if not self._h:
            ts.busy = False
            raise errors.ClosedError("region is closed")
        if _lib._forked:
            ts.busy = False
            _lib.fork_error()
        return ts

    def _wait_idle(self) -> None:
        me = getattr(self._local, "st", None)
        with self._lock:
            states = list(self._states)
        for ts in states:
            while ts.busy and ts is not me:
                time.sleep(0.0001)

    def close(self) -> None:
        """Unmaps the region. A second close raises ClosedError. Calls running
        in other threads finish first; later ones raise ClosedError."""
        h = self._handle()
        self._ensure_unused("close")
        self._h = 0
        self._wait_idle()
        try:
            self._ensure_unused("close")  # a call that just finished may have handed out a view
        except errors.RegionInUseError:
            self._h = h
            raise
        with self._lock:
            states, self._states = self._states, []
        for ts in states:
            lib.xb_scratch_free(ts.scratch)
        st = lib.xb_region_close(h)
        if st:
            raise_status(st)

    def reset(self) -> None:
        """Drops every frame (generation + 1). Needs exclusive use of the region."""
        h = self._handle()
        self._ensure_unused("reset")
        self._mv = self._new_master()
        st = lib.xb_region_reset(h)
        if st:
            raise_status(st)

    def __enter__(self) -> "Region":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._h == 0:
            return
        if exc_type is not None:
            # Don't hide the original error; leave a busy region to __del__.
            try:
                self.close()
            except errors.CrossbufError:
                pass
            return
        self.close()

    def __del__(self) -> None:
        h = getattr(self, "_h", 0)
        try:
            if not h or _lib._forked or os.getpid() != self._pid:
                return
            self._ensure_unused("close")
        except Exception:
            return  # still in use (keep the mapping: leak, never crash) or interpreter teardown
        self._h = 0
        for ts in self._states:
            lib.xb_scratch_free(ts.scratch)
        lib.xb_region_close(h)

    def __repr__(self) -> str:
        state = "closed" if self._h == 0 else f"capacity={self._cap}"
        return f"Region({self.kind}{' ' + repr(self.name) if self.name else ''}, {state})"

    # ---- memory ------------------------------------------------------------

    @property
    def buffer(self) -> memoryview:
        """A read-only memoryview of the whole mapping (header included)."""
        self._handle()
        return self._mv[:]

    @property
    def address(self) -> int:
        """Base address of the mapping."""
        return self._base

    @property
    def capacity(self) -> int:
        return self._cap

    def prefault(self) -> None:
        """Maps every page in now, so later frames do not each pay a
        first-touch page fault (steady encode latency for producers)."""
        st = lib.xb_region_prefault(self._handle())
        if st:
            raise_status(st)

    def stats(self) -> RegionStats:
        h = self._handle()
        s = _lib.XbRegionStats()
        st = lib.xb_region_get_stats(h, byref(s))
        if st:
            raise_status(st)
        return RegionStats(s.capacity, s.data_offset, s.used, s.high_water, s.frame_count, s.generation, s.aborted,
                           s.region_id, bool(s.sealed), bool(s.read_only))

    def _state(self) -> _ThreadState:
        try:
            return self._local.st  # type: ignore[no-any-return]
        except AttributeError:
            pass
        h = self._handle()
        s = c_void_p()
        st = lib.xb_scratch_new(byref(s))
        if st:
            raise_status(st)
        ts = _ThreadState(s.value or 0, h)
        with self._lock:
            self._states.append(ts)
        self._local.st = ts
        return ts

    def _frames_from(self, buf: Any, n: int) -> List[Frame]:
        return [Frame(self, *t) for t in FRAME_FMT.iter_unpack(memoryview(buf).cast("B")[: n * FRAME_FMT.size])]

    def _frame_of(self, f: "_lib.XbFrame") -> Frame:
        return Frame(self, f.offset, f.region_id, f.generation, f.type_id, f.publish_ns, f.codec, f.payload or 0,
                     f.payload_len)

    def _offset(self, frame: Union[Frame, int]) -> Tuple[int, int]:
        """(offset, generation) of a frame argument. A Frame of another region
        is StaleFrameError here; its generation goes to the library, which
        checks it (reading the region header from Python could fault on a
        truncated file). An int is an offset of the current generation
        (generation 0); the library checks that a frame starts there."""
        if type(frame) is Frame:
            if frame.region_id != self.id:  # type: ignore[union-attr]
                raise errors.StaleFrameError(
                    f"frame of region {frame.region_id:#x} used with region {self.id:#x}")  # type: ignore[union-attr]
            return frame.offset, frame.generation  # type: ignore[union-attr]
        return _lib.check_int(frame, 0, self._cap, "frame offset", errors.OutOfRangeError), 0

    def _generation(self) -> int:
        return self.stats().generation

    def _lookup(self, frame: Union[Frame, int]) -> Frame:
        """frame as a Frame: an offset is looked up (one library call)."""
        if type(frame) is Frame:
            self._offset(frame)
            return frame  # type: ignore[return-value]
        return self.frame(self._offset(frame)[0])

    # ---- frames ------------------------------------------------------------

    def frame(self, offset: int) -> Frame:
        """The committed frame at offset."""
        h = self._handle()
        offset = _lib.check_int(offset, 0, self._cap, "frame offset", errors.OutOfRangeError)
        f = _lib.XbFrame()
        st = lib.xb_frame_get(h, offset, byref(f))
        if st:
            raise_status(st)
        return self._frame_of(f)

    def list_frames(self, cursor: int = 0, max_frames: int = _LIST_BATCH) -> Tuple[List[Frame], int]:
        """Up to max_frames committed frames from cursor (0: the first), and the
        cursor to continue from. An empty list means none yet: poll again later."""
        h = self._handle()
        cursor = _lib.check_int(cursor, 0, self._cap, "cursor", errors.OutOfRangeError)
        max_frames = _lib.check_int(max_frames, 1, 1 << 20, "max_frames")
        buf = (_lib.XbFrame * max_frames)()
        cur = c_uint64(cursor)
        n = c_uint64()
        st = lib.xb_frame_list(h, byref(cur), ctypes.addressof(buf), max_frames, byref(n))
        if st:
            raise_status(st)
        return self._frames_from(buf, n.value), cur.value

    def frames(self, cursor: int = 0, skip_corrupt: bool = False) -> Iterator[Frame]:
        """Every committed frame, in region order (listed 256 per call).

        A corrupt frame header raises CorruptFrameError naming its offset;
        with skip_corrupt=True iteration goes on past it instead, wherever
        the slot chain allows."""
        while True:
            try:
                batch, cursor = self.list_frames(cursor)
            except errors.CorruptFrameError:
                if not skip_corrupt:
                    raise
                cur = c_uint64(cursor)
                n = c_uint64()
                one = _lib.XbFrame()
                lib.xb_frame_list(self._handle(), byref(cur), byref(one), 1, byref(n))
                if cur.value <= cursor:
                    return  # the chain cannot be followed past it
                cursor = cur.value
                continue
            if not batch:
                return
            yield from batch

    def append_raw(self, codec: int, type_id: int, data: Any) -> Frame:
        """Copies bytes encoded elsewhere (any buffer) into a new committed frame, unvalidated."""
        h = self._handle()
        codec = _lib.codec_arg(codec)
        type_id = _lib.check_int(type_id, 0, _lib.U64_MAX, "type id")
        arg, n, keep = _buffer_arg(data)
        f = _lib.XbFrame()
        st = lib.xb_frame_append(h, codec, type_id, arg, n, byref(f))
        del keep
        if st:
            raise_status(st)
        return self._frame_of(f)

    # ---- encode ------------------------------------------------------------

    def encode(self, record: Record, codec: int = Codec.FLATBUFFERS) -> Frame:
        """Encodes one record into a new frame."""
        cls = type(record)
        if cls is LogEntry or cls is Sample:
            if not _lib.HAS_PYMARSHAL:
                return self.encode_many((record,), codec)[0]
            codec = _lib.codec_arg(codec)
            # One marshal.dumps (C speed) and one library call with a prebuilt
            # argument block, instead of building C structs field by field.
            rt = 1 if cls is LogEntry else 2
            buf = _dumps([_encode.as_tuple(record)], 2)
            ts = self._enter()
            try:
                _FAST_ENC.pack_into(ts.fast_mv, 16, _FAST_ENCODE_PYMARSHAL, rt, codec, 0, 0, len(buf))
                st = _fast(ts.fast_ptr, buf)
                if st:
                    raise_status(st)
                off, _, paddr, plen = _FAST_RES.unpack_from(ts.fast_mv, 32)
                gen, publish = _FAST_ENC_OUT.unpack_from(ts.fast_mv, 80)
                return Frame(self, off, self.id, gen, rt, publish, codec, paddr, plen)
            finally:
                ts.busy = False
        return self.encode_many((record,), codec)[0]

    def encode_many(self, records: Sequence[Record], codec: int = Codec.FLATBUFFERS) -> List[Frame]:
        """Encodes records (all of one type) with one library call.

        On failure the frames before the failing record stay committed; the
        exception's `frames` attribute lists them."""
        h = self._handle()
        codec = _lib.codec_arg(codec)
        n = len(records)
        if n == 0:
            return []
        rt = _encode.record_type(records[0])
        for r in records:
            if _encode.record_type(r) != rt:
                raise errors.RecordTypeError("encode_many needs records of one type; got mixed")
        frames_out = (_lib.XbFrame * n)()
        done = c_uint64()
        if rt != 3 and _lib.HAS_PYMARSHAL:
            buf = _dumps([_encode.as_tuple(r) for r in records], 2)
            st = lib.xbp_encode_pymarshal(h, codec, rt, buf, len(buf), ctypes.addressof(frames_out), n, byref(done))
        else:
            packed, keep = _encode.pack(rt, records)
            st = lib.xb_encode(h, codec, rt, ctypes.addressof(packed), n, ctypes.addressof(frames_out), byref(done))
            del keep, packed
        if st:
            try:
                raise_status(st)
            except errors.CrossbufError as e:
                e.frames = self._frames_from(frames_out, done.value)  # type: ignore[attr-defined]
                raise
        return self._frames_from(frames_out, n)

    # ---- decode ------------------------------------------------------------

    def _refs(self, frames: List[Union[Frame, int]]) -> Tuple["ctypes.Array[ctypes.c_char]", List[Frame]]:
        """The xb_frame array that names frames to the library, and the
        frames (offsets looked up)."""
        fs = [self._lookup(f) for f in frames]
        buf = bytearray(FRAME_FMT.size * len(fs))
        for i, f in enumerate(fs):
            FRAME_FMT.pack_into(buf, FRAME_FMT.size * i, f.offset, f.region_id, f.generation, 0, 0, 0, 0, 0)
        return (ctypes.c_char * len(buf)).from_buffer(buf), fs

    def _refs_fast(self, frames: List[Union[Frame, int]]) -> "ctypes.Array[ctypes.c_char]":
        """The xb_frame array for frames without looking offsets up: an int
        goes as {offset, this region, generation 0 (current)}."""
        buf = bytearray(FRAME_FMT.size * len(frames))
        for i, f in enumerate(frames):
            off, gen = self._offset(f)
            FRAME_FMT.pack_into(buf, FRAME_FMT.size * i, off, self.id, gen, 0, 0, 0, 0, 0)
        return (ctypes.c_char * len(buf)).from_buffer(buf)

    def _view(self, rt: int, frame: Frame, buf: Any, i: int) -> View:
        if rt == 1:
            t = LOG_ENTRY_FMT.unpack_from(buf, 160 * i)
        elif rt == 2:
            return SampleView(SAMPLE_FMT.unpack_from(buf, 80 * i))
        else:
            t = TENSOR_FMT.unpack_from(buf, 104 * i)
        codec = frame.codec
        if codec < 6 and _ZERO_COPY[codec]:
            o = frame._paddr - self._base
            payload = self._mv[o : o + frame._plen]
            pa = frame._paddr
        else:
            payload, pa = None, 0
        return LogEntryView(t, payload, pa) if rt == 1 else TensorView(t, payload, pa)

    def decode(self, frame: Union[Frame, int]) -> View:
        """Decodes one frame (a Frame or its offset) into a view."""
        ts = self._enter()
        try:
            f = self._lookup(frame)
            codec, rt = f.codec, f.type_id
            if rt == 1 and _lib.HAS_PYMARSHAL and not (codec < 6 and _ZERO_COPY[codec]):
                ts.busy = False
                return self.decode_many((f,))[0]
            if rt not in _STRUCT_SIZE:
                raise errors.RecordTypeError(f"frame at {f.offset} has unknown record type {rt}")
            _FAST_IN.pack_into(ts.fast_mv, 16, _FAST_DECODE, rt, f.offset)
            _FAST_GEN.pack_into(ts.fast_mv, 80, f.generation)
            st = _fast(ts.fast_ptr, None)  # the view struct lands in ts.pybuf
            if st:
                raise_status(st)
            return self._view(rt, f, ts.pybuf, 0)
        finally:
            ts.busy = False

    def _decode_marshal(self, h: int, ts: _ThreadState, rt: int, fs: List[Frame]) -> list:
        refs, _ = self._refs(fs)  # type: ignore[arg-type]
        st = _lib.lib.xbp_decode_pymarshal(h, ts.scratch, rt, ctypes.addressof(refs), len(fs), ts.mp_ref, ts.mn_ref)
        if st:
            raise_status(st)
        return _loads_acyclic(_string_at(ts.mp.value or 0, ts.mn.value))

    def decode_many(self, frames: Iterable[Union[Frame, int]]) -> List[View]:
        """Decodes many frames with one library call per record type present
        (two for LogEntry frames of mixed zero-copy and baseline codecs)."""
        frames = list(frames)
        if not frames:
            self._handle()
            return []
        ts = self._enter()
        try:
            h = self._h
            fs = [self._lookup(f) for f in frames]
            n = len(fs)
            types = {f.type_id for f in fs}
            for rt in types:
                if rt not in _STRUCT_SIZE:
                    f = next(f for f in fs if f.type_id == rt)
                    raise errors.RecordTypeError(f"frame at {f.offset} has unknown record type {rt}")
            out: List[Optional[View]] = [None] * n
            for rt in sorted(types):
                idx = [i for i in range(n) if fs[i].type_id == rt] if len(types) > 1 else list(range(n))
                if rt == 1 and _lib.HAS_PYMARSHAL:
                    # Baseline LogEntries: every field is copied anyway, and one
                    # marshal buffer beats a foreign call per string.
                    base_idx = [i for i in idx if not (fs[i].codec < 6 and _ZERO_COPY[fs[i].codec])]
                    if base_idx:
                        for i, m in zip(base_idx, self._decode_marshal(h, ts, 1, [fs[i] for i in base_idx])):
                            out[i] = LogEntryView._from_marshal(m)
                        if len(base_idx) == len(idx):
                            continue
                        done = set(base_idx)
                        idx = [i for i in idx if i not in done]
                refs, _ = self._refs([fs[i] for i in idx])  # type: ignore[misc]
                ts.out_for(_STRUCT_SIZE[rt] * len(idx))
                st = lib.xb_decode(h, ts.scratch, rt, ctypes.addressof(refs), len(idx), ts.out_addr)
                if st:
                    raise_status(st)
                buf = ts.out
                for k, i in enumerate(idx):
                    out[i] = self._view(rt, fs[i], buf, k)
            return out  # type: ignore[return-value]
        finally:
            ts.busy = False

    def read_field(self, frame: Union[Frame, int], field: int) -> str:
        """One string field of one frame, read in place with one library call
        (no view is built). For many frames, read_str is faster per frame."""
        ts = self._enter()
        try:
            if type(frame) is Frame and frame.region_id == self.id:  # the hot path, checks inlined
                off, gen = frame.offset, frame.generation  # type: ignore[union-attr]
            else:
                off, gen = self._offset(frame)
            if type(field) is not int or not 0 < field <= _lib.I32_MAX:
                field = _lib.check_int(field, 1, _lib.I32_MAX, "field")
            _FAST_IN.pack_into(ts.fast_mv, 16, _FAST_READ_STR, field, off)
            _FAST_GEN.pack_into(ts.fast_mv, 80, gen)
            st = _fast(ts.fast_ptr, None)
            if st:
                raise_status(st)
            p, n = _FAST_OUT.unpack_from(ts.fast_mv, 48)
            if p == ts.pybuf_addr:
                return marshal.loads(ts.pybuf)  # type: ignore[no-any-return]
            o = p - self._base
            if 0 <= o <= self._cap - n:
                return str(self._mv[o : o + n], "utf-8")
            return _string_at(p, n).decode("utf-8") if n else ""
        finally:
            ts.busy = False

    def decode_record(self, frame: Union[Frame, int]) -> Record:
        """One frame decoded into a record that owns its data (no view)."""
        if not _lib.HAS_PYMARSHAL:
            return self.decode_records((frame,))[0]
        ts = self._enter()
        try:
            f = self._lookup(frame)
            rt = f.type_id
            if rt == 3:
                ts.busy = False
                return self.decode(f).to_record()
            _FAST_IN.pack_into(ts.fast_mv, 16, _FAST_DECODE_PYMARSHAL, rt if rt < 1 << 31 else 0, f.offset)
            _FAST_GEN.pack_into(ts.fast_mv, 80, f.generation)
            st = _fast(ts.fast_ptr, None)
            if st:
                raise_status(st)
            p, n = _FAST_OUT.unpack_from(ts.fast_mv, 48)
            t = marshal.loads(ts.pybuf if p == ts.pybuf_addr else _string_at(p, n))[0]
        finally:
            ts.busy = False
        if rt == 1:
            m, path, status, lat = t[8]
            return LogEntry(t[0], _LEVELS[t[1]], t[2], t[3], t[4], t[5], t[6], t[7], Http(m, path, status, lat))
        return Sample(*t)

    def decode_records(self, frames: Iterable[Union[Frame, int]]) -> List[Record]:
        """Decodes frames straight into records that own their data (no views).

        With a library that has the marshal fast path, LogEntry and Sample
        frames come back as one buffer that a single marshal.loads turns into
        Python objects: the fastest way to get many whole records."""
        frames = list(frames)
        if not _lib.HAS_PYMARSHAL:
            return [v.to_record() for v in self.decode_many(frames)]
        ts = self._enter()
        try:
            h = self._h
            fs = [self._lookup(f) for f in frames]
            rts = [f.type_id for f in fs]
            out: List[Optional[Record]] = [None] * len(fs)
            for rt in set(rts):
                idx = [i for i, t in enumerate(rts) if t == rt] if len(set(rts)) > 1 else list(range(len(fs)))
                if rt not in (1, 2):
                    ts.busy = False
                    for i, v in zip(idx, self.decode_many([fs[i] for i in idx])):
                        out[i] = v.to_record()
                    ts.busy = True
                    continue
                tuples = self._decode_marshal(h, ts, rt, [fs[i] for i in idx])
                if rt == 1:
                    for i, (t0, lv, svc, host, msg, tid, tags, attrs, (m, path, status, lat)) in zip(idx, tuples):
                        out[i] = LogEntry(t0, _LEVELS[lv], svc, host, msg, tid, tags, attrs, Http(m, path, status, lat))
                else:
                    for i, (t0, feats, label) in zip(idx, tuples):
                        out[i] = Sample(t0, feats, label)
            return out  # type: ignore[return-value]
        finally:
            ts.busy = False

    def read_str(self, frames: Iterable[Union[Frame, int]], field: int) -> List[str]:
        """One string field of each frame, with one library call."""
        frames = list(frames)
        field = _lib.check_int(field, 1, _lib.I32_MAX, "field")
        if not frames:
            self._handle()
            return []
        ts = self._enter()
        try:
            h = self._h
            refs = self._refs_fast(frames)
            n = len(frames)
            if _lib.HAS_PYMARSHAL:
                st = _lib.lib.xbp_read_str_pymarshal(h, ts.scratch, field, ctypes.addressof(refs), n, ts.mp_ref, ts.mn_ref)
                if st:
                    raise_status(st)
                return _loads_acyclic(_string_at(ts.mp.value or 0, ts.mn.value))  # type: ignore[no-any-return]
            ts.out_for(16 * n)
            st = lib.xb_read_str(h, ts.scratch, field, ctypes.addressof(refs), n, ts.out_addr)
            if st:
                raise_status(st)
            base, end, mv = self._base, self._base + self._cap, self._mv
            res = []
            for p, ln in STR_FMT.iter_unpack(memoryview(ts.out)[: 16 * n]):
                if not ln:
                    res.append("")
                elif base <= p and p + ln <= end:
                    res.append(str(mv[p - base : p - base + ln], "utf-8"))
                else:
                    res.append(ctypes.string_at(p, ln).decode("utf-8"))
            return res
        finally:
            ts.busy = False


def _capacity(capacity: object) -> int:
    return _lib.check_int(capacity, 1, 1 << 40, "capacity")


def _mode(mode: object) -> int:
    return _lib.check_int(mode, 0, 0o7777, "mode")


def unlink_shm(name: str) -> None:
    """Removes a shared-memory region name; open mappings stay valid."""
    check_fork()
    st = lib.xb_region_unlink_shm(_name_bytes(name))
    if st:
        raise_status(st)


__all__ = ["Region", "Frame", "RegionStats", "Field", "unlink_shm"]
