"""Regions (mmap'd blocks of frames) and frames, over the C ABI."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import sys
import threading
import time
import weakref
from ctypes import byref, c_int32, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import msgspec
import numpy as np

from . import _encode, _lib, _registry, errors
from ._lib import FRAME_FMT, check_fork, lib, raise_status
from .records import Codec, Record

_XB_OPEN_READ_ONLY = 1
_LIST_BATCH = 256
_BUNDLED = _encode.CLASSES  # the bundled records' frame type ids
_BUNDLED_CLASSES = frozenset(_BUNDLED.values())
_ONE = c_uint64(1)
_INT32 = [c_int32(i) for i in range(8)]  # codecs and record types as ready-made arguments
_MSGPACK = _INT32[Codec.MSGPACK]
_xb_decode = lib.xb_decode


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

    __slots__ = (
        "__weakref__",
        "_paddr",
        "_plen",
        "_region",
        "codec",
        "generation",
        "offset",
        "publish_ns",
        "region_id",
        "type_id",
    )

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


def _free_scratch(scratch: int) -> None:
    if not _lib.forked():  # a forked child must not call into the Go runtime
        lib.xb_scratch_free(scratch)


class _ThreadState:
    """Per-thread decode scratch and reusable output buffers."""

    __slots__ = ("__weakref__", "busy", "frame", "frame_addr", "frame_arg", "frame_mv", "frame_ref", "free", "mn",
                 "mn_ref", "mp", "mp_ref", "present_arg", "scratch", "scratch_arg", "val", "val_addr", "val_arg",
                 "val_mv")

    def __init__(self, scratch: int) -> None:
        self.scratch = scratch
        # Frees the scratch: at close, or when the thread is gone (its
        # thread-local reference was the last one); once.
        self.free = weakref.finalize(self, _free_scratch, scratch)
        self.free.atexit = False
        # True while this thread is inside a call that uses the scratch or
        # region memory, from before the library call until the results are
        # copied out: close() waits for it (see Region._enter).
        self.busy = False
        # Out-parameters of the schema calls, with their byref made once:
        # argument conversion is most of what a ctypes call costs.
        self.mp, self.mn = c_void_p(), c_uint64()
        self.mp_ref, self.mn_ref = byref(self.mp), byref(self.mn)
        # One xb_frame, in and out, and one path value with its present flag
        # (byte 16): the single-frame calls reuse them instead of building
        # ctypes objects per call.
        self.frame = _lib.XbFrame()
        self.frame_mv = memoryview(self.frame).cast("B")
        self.frame_addr = ctypes.addressof(self.frame)
        self.frame_ref = byref(self.frame)
        self.val = (ctypes.c_uint8 * 24)()
        self.val_mv = memoryview(self.val).cast("B")
        self.val_addr = ctypes.addressof(self.val)
        # ... and as ready-made arguments: converting a Python int costs
        # more per argument than the call into Go.
        self.frame_arg = c_void_p(self.frame_addr)
        self.scratch_arg = c_void_p(scratch)
        self.val_arg = c_void_p(self.val_addr)
        self.present_arg = c_void_p(self.val_addr + 16)


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
        self._h_arg = c_void_p(handle)  # for hot calls, after _enter checked _h
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
        self._states: "weakref.WeakSet[_ThreadState]" = weakref.WeakSet()  # a dead thread's goes
        self._lock = threading.Lock()
        self._checking = False  # close() or reset() looks at what points into the mapping
        self._exclusive_lock = threading.Lock()
        stats = self.stats()
        self.id: int = stats.region_id
        self.read_only: bool = stats.read_only
        # Python reads the mapping itself (FieldPath's in-place reads) only
        # where no other process can shrink it: touching a page a peer
        # truncated away kills the process (SIGBUS), where the library
        # turns the fault into TruncatedError.
        self._in_place = kind == "anonymous" or stats.sealed

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
        try:
            if sys.getrefcount(self._arr) != self._arr_refs:
                raise errors.RegionInUseError(
                    f"cannot {what} the region: frames, views, payload memoryviews or numpy arrays "
                    "still point into it; drop them (del) first"
                )
        except BaseException:  # a KeyboardInterrupt too: the region stays usable
            self._mv = self._new_master()
            raise

    def _enter(self) -> _ThreadState:
        """Starts a call that uses the scratch or region memory after the
        library returns; the caller sets ts.busy = False when done. busy is
        set before the checks and close() and reset() set _checking before
        they look at busy flags, so under the GIL either the call waits for
        their check (and then sees the region closed, or goes on) or they
        see the call and wait for it."""
        ts = self._state()
        ts.busy = True
        try:
            if self._checking:
                self._wait_check(ts)
            if not self._h:
                raise errors.ClosedError("region is closed")
            if _lib._forked:
                _lib.fork_error()
        except BaseException:  # a KeyboardInterrupt too: the flag must not stay up for ever
            ts.busy = False
            raise
        return ts

    def _wait_check(self, ts: _ThreadState) -> None:
        """A call's wait (_enter) while close() or reset() runs, with its
        busy flag down; up again on return."""
        while self._checking:
            ts.busy = False
            time.sleep(0.0001)
            ts.busy = True

    @contextlib.contextmanager
    def _exclusive(self, what: str) -> Iterator[None]:
        """Calls of other threads that use region memory finish first, and
        new ones wait (_enter) until the block ends: what it looks at (the
        master view, which _ensure_unused releases) does not change under
        them. One close() or reset() at a time; one from inside a call of
        this thread (a finalizer, a signal handler) is refused."""
        me = getattr(self._local, "st", None)
        if me is not None and me.busy:
            raise errors.RegionInUseError(f"cannot {what} the region from inside a call that uses it")
        with self._exclusive_lock:
            if not self._h:
                raise errors.ClosedError("region is closed")
            self._checking = True
            try:
                with self._lock:
                    states = list(self._states)
                _lib.wait_for_others(states, me, 0.0001)
                yield
            finally:
                self._checking = False

    def close(self) -> None:
        """Unmaps the region. A second close raises ClosedError. Calls running
        in other threads finish first; later ones raise ClosedError."""
        h = self._handle()
        with self._exclusive("close"):
            self._ensure_unused("close")
            self._h = 0
        try:
            st = lib.xb_region_close(h)
        finally:  # the mapping first: an interrupt here must not leave it mapped
            with self._lock:
                states, self._states = list(self._states), weakref.WeakSet()
            for ts in states:
                ts.free()
        if st:
            raise_status(st)

    def reset(self) -> None:
        """Drops every frame (generation + 1). Needs exclusive use of the region."""
        h = self._handle()
        with self._exclusive("reset"):
            self._ensure_unused("reset")
            self._mv = self._new_master()
            st = lib.xb_region_reset(h)
        if st:
            raise_status(st)

    def __enter__(self) -> "Region":  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
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
        except Exception:  # noqa: BLE001 - __del__ must not raise
            return  # still in use (keep the mapping: leak, never crash) or interpreter teardown
        self._h = 0
        lib.xb_region_close(h)
        for ts in list(self._states):
            ts.free()

    def __repr__(self) -> str:
        state = "closed" if self._h == 0 else f"capacity={self._cap}"
        return f"Region({self.kind}{' ' + repr(self.name) if self.name else ''}, {state})"

    # ---- memory ------------------------------------------------------------

    @property
    def buffer(self) -> memoryview:
        """A read-only memoryview of the whole mapping (header included)."""
        ts = self._enter()
        try:
            return self._mv[:]
        finally:
            ts.busy = False

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
        self._handle()
        s = c_void_p()
        st = lib.xb_scratch_new(byref(s))
        if st:
            raise_status(st)
        ts = _ThreadState(s.value or 0)
        with self._lock:
            self._states.add(ts)
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
            if frame.region_id != self.id:
                raise errors.StaleFrameError(
                    f"frame of region {frame.region_id:#x} used with region {self.id:#x}")
            return frame.offset, frame.generation
        if not isinstance(frame, int):
            raise errors.InvalidArgumentError(
                f"takes a Frame of this region or its offset, not {frame.__class__.__name__} (a channel's frames "
                "read through their Schema: to_record, to_dict, to_json, path)")
        return _lib.check_int(frame, 0, self._cap, "frame offset", errors.OutOfRangeError), 0

    def _view_of(self, addr: int, n: int) -> memoryview:
        """Region memory [addr, addr+n) as a slice of the master memoryview
        (no copy; pins the mapping); a copy if it lies elsewhere."""
        o = addr - self._base
        if 0 <= o and o + n <= self._cap:
            return self._mv[o : o + n]
        return memoryview(ctypes.string_at(addr, n))

    def _generation(self) -> int:
        return self.stats().generation

    def _lookup(self, frame: Union[Frame, int]) -> Frame:
        """frame as a Frame: an offset is looked up (one library call)."""
        if type(frame) is Frame:
            self._offset(frame)
            return frame
        return self.frame(self._offset(frame)[0])

    # ---- frames ------------------------------------------------------------

    def frame(self, offset: int) -> Frame:
        """The committed frame at offset."""
        h = self._handle()
        offset = _lib.check_int(offset, 0, self._cap, "frame offset", errors.OutOfRangeError)
        f = _lib.XbFrame()
        ts = self._enter()
        try:
            st = lib.xb_frame_get(h, offset, byref(f))
        finally:
            ts.busy = False
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
        ts = self._enter()  # a reset() waits for the listing
        try:
            st = lib.xb_frame_list(h, byref(cur), ctypes.addressof(buf), max_frames, byref(n))
        finally:
            ts.busy = False
        if st:
            raise_status(st)
        return self._frames_from(buf, n.value), cur.value

    def frames(self, cursor: int = 0, skip_corrupt: bool = False) -> Iterator[Frame]:
        """Every committed frame, in region order (listed 256 per call).

        A corrupt frame header raises CorruptFrameError naming its offset;
        with skip_corrupt=True iteration goes on past it instead, wherever
        the slot chain allows. A reset() during the iteration makes its next
        step StaleFrameError (its cursor belongs to the old frames)."""
        generation = self._generation()
        while True:
            try:
                batch, cursor = self.list_frames(cursor)
                if batch and batch[0].generation != generation:
                    raise errors.StaleFrameError(
                        f"the region was reset during the iteration (generation {generation}, now "
                        f"{batch[0].generation})")
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
        ts = self._enter()  # a reset() waits for the write
        try:
            st = lib.xb_frame_append(h, codec, type_id, arg, n, byref(f))
        finally:
            ts.busy = False
        del keep
        if st:
            raise_status(st)
        return self._frame_of(f)

    # ---- encode ----------------------------------------------------------

    def encode(self, record: Any, codec: int = Codec.FLATBUFFERS) -> Frame:
        """Encodes one record into a new frame.

        A bundled record (LogEntry, Sample, Tensor) is encoded in codec. A
        record class of a loaded Schema (schema["pkg.Type"]) is encoded by
        the schema engine as that type, in the schema's own format (codec is
        ignored). A value its field cannot hold is InvalidRecordError naming
        the field; nothing is committed then."""
        if type(record) in _BUNDLED_CLASSES:
            return self._encode_one(record, codec)
        if isinstance(record, msgspec.Struct):
            return _registry.schema_of_class(type(record)).encode(self, record)
        raise errors.RecordTypeError(
            f"not a crossbuf record: {type(record).__name__} (a bundled record or a Schema's record class)")

    def _encode_one(self, record: Record, codec: int) -> Frame:
        """encode of one bundled record: encode_many's library call, with the
        thread's reused xb_frame and ready-made arguments."""
        codec = _lib.codec_arg(codec)
        rt, data = _encode.pack_one(record)
        ts = self._enter()
        try:
            c = _INT32[codec] if codec < len(_INT32) else codec  # an unknown codec: the library names it
            st = lib.xb_encode(self._h_arg, c, _INT32[rt], data, len(data), _ONE, ts.frame_arg, None)
            if st:
                raise_status(st)  # one record: nothing was committed
            t = FRAME_FMT.unpack_from(ts.frame_mv)
        finally:
            ts.busy = False
        return Frame(self, *t)

    def encode_many(self, records: Sequence[Record], codec: int = Codec.FLATBUFFERS) -> List[Frame]:
        """Encodes bundled records (all of one type) with one library call.

        On failure the frames before the failing record stay committed; the
        exception's `frames` attribute lists them."""
        h = self._handle()
        codec = _lib.codec_arg(codec)
        n = len(records)
        if n == 0:
            return []
        rt, data = _encode.pack(records)
        frames_out = (_lib.XbFrame * n)()
        done = c_uint64()
        ts = self._enter()  # a reset() waits for the writes
        try:
            st = lib.xb_encode(h, codec, rt, data, len(data), n, ctypes.addressof(frames_out), byref(done))
        finally:
            ts.busy = False
        if st:
            try:
                raise_status(st)
            except errors.CrossbufError as e:
                e.frames = self._frames_from(frames_out, done.value)  # type: ignore[attr-defined]
                raise
        return self._frames_from(frames_out, n)

    # ---- decode ------------------------------------------------------------

    def decode(self, frame: Union[Frame, int]) -> Any:
        """One frame (a Frame or its offset) as a record that owns its data.

        A bundled record frame (LogEntry, Sample, Tensor, any codec)
        decodes into its bundled record. A frame of a type some loaded
        Schema holds decodes through the schema engine into that schema's
        record class (schema["pkg.Type"]); a frame whose type id no schema
        in this process holds is UnknownTypeError naming the id."""
        f = frame if type(frame) is Frame and frame.region_id == self.id else self._lookup(frame)
        tid = f.type_id
        if tid in _BUNDLED:
            return self._decode_bundled(tid, [f], many=False)
        return _registry.schema_for(tid)._record_of(f)

    def decode_many(self, frames: Iterable[Union[Frame, int]]) -> List[Any]:
        """decode of each frame, with one library call per type present."""
        fs = [self._lookup(f) for f in frames]
        if not fs:
            self._handle()
            return []
        out: List[Any] = [None] * len(fs)
        groups: Dict[int, List[int]] = {}
        for i, f in enumerate(fs):
            groups.setdefault(f.type_id, []).append(i)
        for tid, idx in groups.items():
            sub = [fs[i] for i in idx]
            recs = (self._decode_bundled(tid, sub, many=True) if tid in _BUNDLED
                    else _registry.schema_for(tid).to_records(sub))
            for i, r in zip(idx, recs):
                out[i] = r
        return out

    def _decode_bundled(self, rt: int, fs: List[Frame], many: bool) -> Any:
        """The bundled records of type rt in frames fs: the library writes
        them as one MessagePack array into the scratch, msgspec builds the
        objects from it (copying every string and byte out)."""
        n = len(fs)
        refs = self._refs(fs)[0] if n > 1 else None  # type: ignore[arg-type]
        ts = self._enter()
        try:
            if refs is None:  # one frame: the thread's reused xb_frame and ready-made arguments
                f = fs[0]
                FRAME_FMT.pack_into(ts.frame_mv, 0, f.offset, f.region_id, f.generation, 0, 0, 0, 0, 0)
                st = _xb_decode(self._h_arg, ts.scratch_arg, ts.frame_arg, _ONE, _MSGPACK, ts.mp_ref, ts.mn_ref)
            else:
                st = _xb_decode(self._h, ts.scratch, ctypes.addressof(refs), n, int(Codec.MSGPACK), ts.mp_ref,
                                ts.mn_ref)  # fmt: skip
            if st:
                raise_status(st)
            recs = _encode.unpack(rt, (ctypes.c_char * ts.mn.value).from_address(ts.mp.value or 0), many=True)
        finally:
            ts.busy = False
        return recs if many else recs[0]

    def view(self, frame: Union[Frame, int]) -> Any:
        """One frame as a lazy view that reads each field when it is accessed
        (a RecordView: each attribute read goes through a compiled path, byte
        vectors are memoryviews of region memory, no copy).

        Frames of a loaded Schema read as that schema's type. FlatBuffers and
        Cap'n Proto frames of the bundled records read as the bundled
        schema's type (crossbuf.bundled: attributes a list of key/value
        tables, as the schema has them). The baseline codecs (JSON,
        MessagePack, Protobuf) have no in-place form: their frames decode
        into the record. A view holds the frame, not its memory: after
        close its reads raise ClosedError; the memoryviews it hands out
        (byte vectors) pin the mapping, so the region refuses to close
        while one is alive."""
        if type(frame) is Frame and frame.region_id == self.id and self._h and not _lib._forked:
            # A frame of this region (its reads check its generation), of a
            # type viewed before: the view class of its open schema.
            ref = _view_classes.get((frame.type_id, frame.codec))
            cls = ref() if ref is not None else None
            if cls is not None and cls._schema._h:
                return cls(frame)
            f = frame
        else:
            self._handle()
            f = self._lookup(frame)
        tid = f.type_id
        if tid in _BUNDLED:
            if f.codec not in (Codec.FLATBUFFERS, Codec.CAPNP):
                return self.decode(f)
            view = _bundled_view or _import_bundled_view()
            v = view(f)
        else:
            v = _registry.schema_for(tid).view(f)
        # The schema that views a type id stays the same while it is open
        # (see _registry.schema_for), and so does its view class; held
        # weakly, as the registry holds schemas.
        _view_classes[(tid, f.codec)] = weakref.ref(type(v))
        return v

    def _refs(self, frames: List[Union[Frame, int]]) -> Tuple["ctypes.Array[ctypes.c_char]", List[Frame]]:
        """The xb_frame array that names frames to the library, and the
        frames (offsets looked up)."""
        fs = [self._lookup(f) for f in frames]
        buf = bytearray(FRAME_FMT.size * len(fs))
        for i, f in enumerate(fs):
            FRAME_FMT.pack_into(buf, FRAME_FMT.size * i, f.offset, f.region_id, f.generation, 0, 0, 0, 0, 0)
        return (ctypes.c_char * len(buf)).from_buffer(buf), fs


_bundled_view: Optional[Callable[[Frame], Any]] = None
# (type id, codec) -> the RecordView class that views such frames (Region.view)
_view_classes: Dict[Tuple[int, int], "weakref.ref[Any]"] = {}


def _import_bundled_view() -> Callable[[Frame], Any]:
    """bundled.view, imported on first use (bundled imports schema, which
    imports this module) and kept: an import statement per view costs more
    than the view."""
    global _bundled_view
    from .bundled import view

    _bundled_view = view
    return view


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


__all__ = ["Region", "Frame", "RegionStats", "unlink_shm"]
