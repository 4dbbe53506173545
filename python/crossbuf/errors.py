"""Exceptions raised by crossbuf: one class per C status code (include/crossbuf.h)."""

from __future__ import annotations

from typing import Dict, Type


class CrossbufError(Exception):
    """Base class of every error crossbuf raises."""

    #: The XB_ERR_* status code, or 0 for errors raised on the Python side.
    code: int = 0


class InvalidArgumentError(CrossbufError, ValueError):
    code = -1


class ClosedError(CrossbufError, ValueError):
    code = -2


class MalformedError(CrossbufError, ValueError):
    code = -3


class UnknownCodecError(CrossbufError, ValueError):
    code = -4


class RecordTypeError(CrossbufError, TypeError):
    code = -5


class RegionFullError(CrossbufError, MemoryError):
    code = -6


class BadNameError(CrossbufError, ValueError):
    code = -7


class VersionError(CrossbufError):
    code = -8


class RegionOSError(CrossbufError, OSError):
    code = -9


class RegionExistsError(RegionOSError, FileExistsError):
    code = -10


class RegionNotFoundError(RegionOSError, FileNotFoundError):
    code = -11


class OutOfRangeError(CrossbufError, IndexError):
    code = -12


class NotCommittedError(CrossbufError):
    code = -13


class InvalidRecordError(CrossbufError, ValueError):
    code = -14


class InternalError(CrossbufError):
    """A bug inside the library (a recovered Go panic or memory fault)."""

    code = -15


class ReadOnlyError(CrossbufError, PermissionError):
    """A write to a region opened read-only."""

    code = -16


class TruncatedError(CrossbufError, OSError):
    """Another process shrank the file behind a named or file region; the
    pages a call needed are gone. Sealed memfd regions (Region.memfd) cannot
    be truncated."""

    code = -17


class StaleFrameError(CrossbufError, ValueError):
    """A Frame of another region, or from before the region was reset."""

    code = -18


class NoSpaceError(RegionOSError):
    """The file system cannot hold the region's capacity (checked at create)."""

    code = -19


class CorruptFrameError(CrossbufError):
    """A frame header in the region breaks the layout; the message names its offset."""

    code = -20


class UnknownTypeError(CrossbufError, LookupError):
    """A type name or type id the schema does not define (the message names it),
    e.g. a frame whose type id is not in the schema it is decoded with."""

    code = -21


class SchemaError(CrossbufError, ValueError):
    """Schema bytes or text rejected, or the compiler a text schema needs is
    missing or failed (the message says what to install, or what it reported)."""

    code = -22


class SchemaNotFoundError(SchemaError, FileNotFoundError):
    """A schema file, or a file it includes or imports, does not exist."""


class ChannelTimeoutError(CrossbufError, TimeoutError):
    """A channel wait ended: nothing arrived, or no space came free, in time."""

    code = -23


class OverrunError(CrossbufError):
    """Overwrite policy: frames received since the last release were
    overwritten while held; what was read from them may be torn. They are
    counted as dropped."""

    code = -24


class RangeError(CrossbufError, OverflowError):
    """A value read does not fit the type asked for (a uint64 above the int64
    range read as a signed integer, say)."""

    code = -25


class ChannelEndedError(CrossbufError, EOFError):
    """The channel's stream was ended (Channel.end()): every frame committed
    before it was received, and nothing more comes. Iterating a subscriber
    stops here."""

    code = -26


class PublisherGoneError(CrossbufError, ConnectionError):
    """Everything was received, and every open that published on the
    channel has closed or died: nothing will come unless a new publisher
    starts (the next receive gets its frames)."""

    code = -27


class HeldFramesError(CrossbufError):
    """A consumer-group member that holds frames reached the end of the
    stream while frames another member handed back wait: release, then
    receive them. (Python's receive releases first, so only a caller of
    the C API meets it.)"""

    code = -28


#: A channel with no room under the "fail" policy raises the region's error
#: (the C ABI's XB_ERR_FULL is XB_ERR_REGION_FULL).
ChannelFullError = RegionFullError


class ForkError(CrossbufError, RuntimeError):
    """The library was used in a child process forked after it was loaded."""


class RegionInUseError(CrossbufError, BufferError):
    """close() or reset() while frames, views or arrays still point into the region."""


class FrameInUseError(CrossbufError, BufferError):
    """A channel subscriber's release, receive or close while a view derived
    from a received frame's payload (a slice, a numpy array) is still alive:
    the frame's space must not be reused under it. Drop it, or copy the
    bytes (bytes(frame.payload)) to keep them."""


_BY_CODE: Dict[int, Type[CrossbufError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        ClosedError,
        MalformedError,
        UnknownCodecError,
        RecordTypeError,
        RegionFullError,
        BadNameError,
        VersionError,
        RegionOSError,
        RegionExistsError,
        RegionNotFoundError,
        OutOfRangeError,
        NotCommittedError,
        InvalidRecordError,
        InternalError,
        ReadOnlyError,
        TruncatedError,
        StaleFrameError,
        NoSpaceError,
        CorruptFrameError,
        UnknownTypeError,
        SchemaError,
        ChannelTimeoutError,
        OverrunError,
        RangeError,
        ChannelEndedError,
        PublisherGoneError,
        HeldFramesError,
    )
}


def error_for(code: int, message: str) -> CrossbufError:
    """The exception for a status code (unknown codes map to CrossbufError)."""
    cls = _BY_CODE.get(code, CrossbufError)
    err = cls(message or f"crossbuf status {code}")
    if cls is CrossbufError:
        err.code = code
    return err


__all__ = [
    "CrossbufError",
    "InvalidArgumentError",
    "ClosedError",
    "MalformedError",
    "UnknownCodecError",
    "RecordTypeError",
    "RegionFullError",
    "BadNameError",
    "VersionError",
    "RegionOSError",
    "RegionExistsError",
    "RegionNotFoundError",
    "SchemaNotFoundError",
    "OutOfRangeError",
    "NotCommittedError",
    "InvalidRecordError",
    "InternalError",
    "ReadOnlyError",
    "TruncatedError",
    "StaleFrameError",
    "NoSpaceError",
    "CorruptFrameError",
    "UnknownTypeError",
    "SchemaError",
    "ChannelTimeoutError",
    "OverrunError",
    "RangeError",
    "ChannelEndedError",
    "PublisherGoneError",
    "HeldFramesError",
    "ChannelFullError",
    "ForkError",
    "RegionInUseError",
    "FrameInUseError",
    "error_for",
]
