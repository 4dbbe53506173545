"""ctypes binding of include/crossbuf.h: loading, ABI check, structs, status -> exception.

The library is looked up in the CROSSBUF_LIBRARY environment variable (a path,
an override for development) and otherwise next to this file.
"""

from __future__ import annotations

import ctypes
import operator
import os
import struct
import time
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int32,
    c_int64,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, NoReturn

from . import _faulthandler, errors

#: The ABI this package was written against (XB_ABI_VERSION in crossbuf.h).
ABI_VERSION = 2
#: The region layout version this package knows (XB_LAYOUT_VERSION).
LAYOUT_VERSION = 2

LIBRARY_ENV = "CROSSBUF_LIBRARY"
_HERE = os.path.dirname(os.path.abspath(__file__))


def library_path() -> str:
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return env
    return os.path.join(_HERE, "libcrossbuf.so")


#: The codec id of frames that hold a binary schema (XB_CODEC_SCHEMA).
CODEC_SCHEMA = 0x5343

# ---- structs (layout checked below against the header's static_asserts) ----


class XbStr(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_uint64)]


class XbArray(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_uint64), ("dtype", c_int32), ("elem_size", c_uint32)]


class XbFrame(Structure):
    _fields_ = [
        ("offset", c_uint64),
        ("region_id", c_uint64),
        ("generation", c_uint64),
        ("type_id", c_uint64),
        ("publish_ns", c_uint64),
        ("codec", c_uint16),
        ("_pad0", c_uint16),
        ("_pad1", c_uint32),
        ("payload", c_void_p),
        ("payload_len", c_uint64),
    ]


class XbRegionStats(Structure):
    _fields_ = [
        ("capacity", c_uint64),
        ("data_offset", c_uint64),
        ("used", c_uint64),
        ("high_water", c_uint64),
        ("frame_count", c_uint64),
        ("generation", c_uint64),
        ("aborted", c_uint64),
        ("region_id", c_uint64),
        ("sealed", c_uint32),
        ("read_only", c_uint32),
    ]




class XbRegionHeader(Structure):
    """The header at the start of a region's mapping (in-place readers check
    its generation before they read a frame)."""

    _fields_ = [
        ("magic", c_uint64),
        ("layout_version", c_uint32),
        ("header_size", c_uint32),
        ("capacity", c_uint64),
        ("data_offset", c_uint64),
        ("cursor", c_uint64),
        ("generation", c_uint64),
        ("frame_count", c_uint64),
        ("high_water", c_uint64),
        ("region_id", c_uint64),
        ("flags", c_uint64),
        ("aborted", c_uint64),
        ("peer_hint", c_uint64),
        ("_reserved", c_uint64 * 4),
    ]


class XbChannelStats(Structure):
    _fields_ = [
        ("capacity", c_uint64),
        ("used", c_uint64),
        ("tail", c_uint64),
        ("frames_published", c_uint64),
        ("bytes_published", c_uint64),
        ("full_waits", c_uint64),
        ("full_fails", c_uint64),
        ("parked_waits", c_uint64),
        ("dead_publishers", c_uint64),
        ("dead_subscribers", c_uint64),
        ("dropped_frames", c_uint64),
        ("latency_count", c_uint64),
        ("latency_overflow", c_uint64),
        ("policy", c_uint32),
        ("subscribers", c_uint32),
    ]


class XbSubscriberStats(Structure):
    _fields_ = [
        ("index", c_int32),
        ("group", c_int32),
        ("peer", c_uint32),
        ("group_cursor", c_uint32),
        ("position", c_uint64),
        ("lag_bytes", c_uint64),
        ("lag_frames", c_uint64),
        ("frames", c_uint64),
        ("bytes", c_uint64),
        ("dropped", c_uint64),
        ("dropped_bytes", c_uint64),
        ("parked_waits", c_uint64),
        ("heartbeat_ns", c_uint64),
    ]


def _check_layout() -> None:
    def o(s: Any, f: str) -> int:
        return int(getattr(s, f).offset)

    checks = [
        ctypes.sizeof(XbStr) == 16,
        ctypes.sizeof(XbArray) == 24 and o(XbArray, "dtype") == 16,
        o(XbFrame, "codec") == 40 and o(XbFrame, "payload") == 48 and ctypes.sizeof(XbFrame) == 64,
        o(XbRegionStats, "region_id") == 56 and ctypes.sizeof(XbRegionStats) == 72,
        o(XbRegionHeader, "generation") == 40 and o(XbRegionHeader, "region_id") == 64,
        ctypes.sizeof(XbRegionHeader) == 128,
        o(XbChannelStats, "frames_published") == 24 and o(XbChannelStats, "dropped_frames") == 80,
        o(XbChannelStats, "policy") == 104 and ctypes.sizeof(XbChannelStats) == 112,
        o(XbSubscriberStats, "position") == 16 and o(XbSubscriberStats, "heartbeat_ns") == 80,
        ctypes.sizeof(XbSubscriberStats) == 88,
    ]
    if not all(checks):  # pragma: no cover - only on an unexpected platform ABI
        raise ImportError("crossbuf: ctypes struct layout does not match crossbuf.h")


_check_layout()

# xb_frame as Frame's constructor takes it: offset, region_id, generation,
# type_id, publish_ns, codec, payload, payload_len
FRAME_FMT = struct.Struct("<5QH6x2Q")
STR_FMT = struct.Struct("<QQ")
assert FRAME_FMT.size == 64

# ---- loading ---------------------------------------------------------------


def _load() -> ctypes.CDLL:
    path = library_path()
    handlers = _faulthandler.snapshot()
    try:
        loaded = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            f"crossbuf: cannot load the native library {path!r}: {e}. "
            f"Build it with ./build.sh lib, or point {LIBRARY_ENV} at libcrossbuf.so"
        ) from e
    _faulthandler.keep_go_handlers(handlers)
    return loaded


lib = _load()

_u64p = POINTER(c_uint64)
# Handles are opaque pointers in the header; ctypes passes them as integers.
_h = c_void_p
_hp = POINTER(c_void_p)
_SIGS = {
    "xb_abi_version": ([], c_int32),
    "xb_version": ([], c_char_p),
    "xb_last_error_code": ([], c_int32),
    "xb_last_error": ([], c_char_p),
    "xb_status_name": ([c_int32], c_char_p),
    "xb_region_create_anon": ([c_uint64, _hp], c_int32),
    "xb_region_create_shm": ([c_char_p, c_uint64, c_uint32, _hp], c_int32),
    "xb_region_open_shm": ([c_char_p, c_uint32, _hp], c_int32),
    "xb_region_unlink_shm": ([c_char_p], c_int32),
    "xb_region_create_file": ([c_char_p, c_uint64, c_uint32, _hp], c_int32),
    "xb_region_open_file": ([c_char_p, c_uint32, _hp], c_int32),
    "xb_region_create_memfd": ([c_char_p, c_uint64, _hp], c_int32),
    "xb_region_open_fd": ([c_int32, c_uint32, _hp], c_int32),
    "xb_region_fd": ([_h, POINTER(c_int32)], c_int32),
    "xb_region_recover": ([_h, _u64p], c_int32),
    "xb_region_close": ([_h], c_int32),
    "xb_region_reset": ([_h], c_int32),
    "xb_region_prefault": ([_h], c_int32),
    "xb_region_get_stats": ([_h, POINTER(XbRegionStats)], c_int32),
    "xb_region_base": ([_h, POINTER(c_void_p), _u64p], c_int32),
    "xb_frame_get": ([_h, c_uint64, c_void_p], c_int32),
    "xb_frame_list": ([_h, _u64p, c_void_p, c_uint64, _u64p], c_int32),
    "xb_frame_append": ([_h, c_int32, c_uint64, c_void_p, c_uint64, c_void_p], c_int32),
    "xb_encode": ([_h, c_int32, c_int32, c_void_p, c_uint64, c_uint64, c_void_p, _u64p], c_int32),
    "xb_scratch_new": ([_hp], c_int32),
    "xb_scratch_free": ([_h], c_int32),
    "xb_decode": ([_h, _h, c_void_p, c_uint64, c_int32, POINTER(c_void_p), _u64p], c_int32),
    "xb_decode_bytes": ([_h, c_int32, c_int32, c_void_p, c_uint64, c_int32, POINTER(c_void_p), _u64p], c_int32),
    "xb_generate": ([_h, c_int32, c_uint64, c_uint64, c_int32, POINTER(c_void_p), _u64p], c_int32),
    "xbp_debug_fault": ([c_int32], c_int32),  # private (go/capi/crossbuf_private.h): the fault test hook
    "xb_schema_load": ([c_void_p, c_uint64, c_int32, _hp], c_int32),
    "xb_schema_compile": ([c_char_p, POINTER(c_char_p), c_uint64, _hp], c_int32),
    "xb_schema_free": ([_h], c_int32),
    "xb_schema_type_id": ([_h, c_char_p, _u64p], c_int32),
    "xb_schema_root_type": ([_h, _u64p], c_int32),
    "xb_schema_type_name": ([_h, c_uint64, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_verify": ([_h, c_uint64, c_void_p, c_uint64, c_uint32], c_int32),
    "xb_schema_to_json": ([_h, _h, c_uint64, c_void_p, c_uint64, c_uint32, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_to_msgpack": ([_h, _h, c_uint64, c_void_p, c_uint64, c_uint32, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_frame_to_json": ([_h, _h, _h, c_void_p, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_frame_to_msgpack": ([_h, _h, _h, c_void_p, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_frames_to_msgpack": ([_h, _h, _h, c_void_p, c_uint64, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_binary": ([_h, _h, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_describe": ([_h, _h, POINTER(c_void_p), _u64p], c_int32),
    "xb_schema_encode": ([_h, _h, c_uint64, c_char_p, c_uint64, c_void_p], c_int32),
    "xb_schema_encode_json": ([_h, _h, c_uint64, c_char_p, c_uint64, c_void_p], c_int32),
    "xb_path_compile": ([_h, c_uint64, c_char_p, _hp, POINTER(c_int32)], c_int32),
    "xb_path_free": ([_h], c_int32),
    "xb_path_read": ([_h, _h, c_void_p, c_uint64, c_void_p, c_void_p], c_int32),
    "xb_path_program": ([_h, POINTER(c_void_p), _u64p, _u64p], c_int32),
    "xb_path_read_received": ([_h, _h, c_void_p, c_uint64, c_void_p, c_void_p], c_int32),
    "xb_region_store_schema": ([_h, _h, c_void_p], c_int32),
    "xb_channel_create": ([c_char_p, c_uint64, c_int32, c_uint32, _hp], c_int32),
    "xb_channel_open": ([c_char_p, c_uint32, _hp], c_int32),
    "xb_channel_unlink": ([c_char_p], c_int32),
    "xb_channel_base": ([_h, POINTER(c_void_p), _u64p], c_int32),
    "xb_channel_close": ([_h], c_int32),
    "xb_channel_end": ([_h], c_int32),
    "xb_channel_store_schema": ([_h, _h], c_int32),
    "xb_subscriber_check": ([_h], c_int32),
    "xb_channel_schemas": ([_h, c_void_p, c_uint64, _u64p, _u64p], c_int32),
    "xb_channel_publish": ([_h, c_int32, c_uint64, c_void_p, c_uint64, c_int64, c_void_p], c_int32),
    "xb_channel_publish_batch": ([_h, c_int32, c_uint64, c_void_p, c_void_p, c_uint64, c_int64, _u64p], c_int32),
    "xb_channel_subscribe": ([_h, c_int32, c_char_p, _hp], c_int32),
    "xb_subscriber_receive": ([_h, c_int64, c_void_p], c_int32),
    "xb_subscriber_receive_batch": ([_h, c_void_p, c_uint64, c_int64, _u64p], c_int32),
    "xb_subscriber_release": ([_h], c_int32),
    "xb_subscriber_dropped": ([_h, _u64p, _u64p], c_int32),
    "xb_subscriber_index": ([_h, POINTER(c_int32)], c_int32),
    "xb_subscriber_close": ([_h], c_int32),
    "xb_channel_get_stats": ([_h, POINTER(XbChannelStats)], c_int32),
    "xb_channel_subscribers": ([_h, c_void_p, c_uint64, _u64p], c_int32),
    "xb_channel_latency": ([_h, c_int32, c_void_p, c_void_p, c_uint64, _u64p], c_int32),
    "xb_stream_writer": ([c_int32, c_void_p, c_void_p, _hp], c_int32),
    "xb_stream_reader": ([c_int32, c_void_p, c_void_p, c_uint64, _hp], c_int32),
    "xb_stream_write": ([_h, c_void_p, c_uint64], c_int32),
    "xb_stream_write_region": ([_h, _h, _u64p, _u64p], c_int32),
    "xb_stream_read_region": ([_h, _h, c_void_p, c_uint64, _u64p], c_int32),
    "xb_stream_read_channel": ([_h, _h, c_int64, c_uint64, _u64p], c_int32),
    "xb_stream_skip": ([_h], c_int32),
    "xb_stream_close": ([_h], c_int32),
}
for _name, (_args, _res) in _SIGS.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError as e:
        raise ImportError(f"crossbuf: {library_path()} lacks {_name}; is it an older libcrossbuf?") from e
    _fn.argtypes = _args
    _fn.restype = _res

_lib_abi = lib.xb_abi_version()
if _lib_abi != ABI_VERSION:
    raise ImportError(
        f"crossbuf: ABI mismatch: the Python package needs ABI version {ABI_VERSION}, "
        f"but {library_path()} reports ABI version {_lib_abi}; rebuild or reinstall crossbuf"
    )

LIBRARY_VERSION: str = lib.xb_version().decode()


# ---- fork guard --------------------------------------------------------------

_pid = os.getpid()
_forked = False


def _after_fork_in_child() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def forked() -> bool:
    """True in a child process forked after the library was loaded."""
    return _forked or os.getpid() != _pid


def fork_error() -> NoReturn:
    raise errors.ForkError(
        "crossbuf cannot be used in a process forked after the library was loaded: "
        "the Go runtime inside it does not survive fork. Use multiprocessing's "
        "'spawn' or 'forkserver' start method, or fork+exec"
    )


def wait_for_others(states: Any, me: Any, pause: float) -> None:
    """Waits until no thread state but me has its busy flag up: the calls of
    other threads that use a mapping have finished, or stepped aside (see
    Region._exclusive, Channel._exclusive)."""
    for s in states:
        while s.busy and s is not me:
            time.sleep(pause)


def check_fork() -> None:
    if _forked or os.getpid() != _pid:
        fork_error()


# ---- status ------------------------------------------------------------------


def raise_status(status: int) -> NoReturn:
    msg = lib.xb_last_error()
    raise errors.error_for(status, msg.decode("utf-8", "replace") if msg else "")


def status_name(status: int) -> str:
    check_fork()
    s = lib.xb_status_name(status)
    return s.decode() if s else f"status {status}"


def debug_fault(kind: int) -> None:
    """Make the library panic (1) or fault (2) inside; raises InternalError."""
    check_fork()
    st = lib.xbp_debug_fault(kind)
    if st:
        raise_status(st)


U64_MAX = (1 << 64) - 1
I32_MAX = (1 << 31) - 1


def check_int(value: object, lo: int, hi: int, what: str, exc: "type[errors.CrossbufError]" = errors.InvalidArgumentError) -> int:
    """value as an int in [lo, hi], or a crossbuf error naming what: never a
    silently wrapped integer, never a builtin OverflowError from ctypes."""
    try:
        v = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise exc(f"{what} must be an integer, not {type(value).__name__}") from None
    if not lo <= v <= hi:
        raise exc(f"{what} {v} is out of range [{lo}, {hi}]")
    return v


def record_type_arg(value: object) -> int:
    return check_int(value, 1, 3, "record type", errors.RecordTypeError)


def codec_arg(value: object) -> int:
    return check_int(value, 1, I32_MAX, "codec", errors.UnknownCodecError)


def addr_of(buf: "ctypes.Array[c_char]") -> int:
    return ctypes.addressof(buf)


def c_buffer_from(ba: bytearray) -> "ctypes.Array[c_char]":
    """A ctypes view of a bytearray (locks its size while alive)."""
    return (c_char * len(ba)).from_buffer(ba)
