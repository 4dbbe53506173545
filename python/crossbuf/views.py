"""Decoded records that read their fields in place.

A view of a FlatBuffers or Cap'n Proto frame keeps a memoryview of the frame's
payload and decodes a field only when it is read: strings are UTF-8 decoded
from region memory, Tensor data is a memoryview (and `.array` a numpy array)
over region memory, with no copy. While such a view (or anything taken from it)
is alive, the region refuses to close.

The baseline codecs (JSON, MessagePack, Protobuf) decode into per-thread
scratch memory that the next decode reuses, so their views copy every field
when they are built and do not point into the region.
"""

from __future__ import annotations

import ctypes
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import errors
from ._lib import STR_FMT
from .records import DType, Http, Level, LogEntry, Sample, Tensor

_LEVELS = tuple(Level)
_DTYPES = tuple(DType)
_string_at = ctypes.string_at
_iter_spans = STR_FMT.iter_unpack


def _level(v: int) -> Level:
    try:
        return _LEVELS[v]
    except IndexError:
        raise errors.MalformedError(f"level {v} out of range") from None


def _dtype(v: int) -> DType:
    try:
        return _DTYPES[v]
    except IndexError:
        raise errors.MalformedError(f"dtype {v} out of range") from None


def _outside(ptr: int, n: int) -> errors.InternalError:
    return errors.InternalError(f"zero-copy field at {ptr:#x}+{n} lies outside its frame payload")


def _zstr(p: memoryview, pa: int, ptr: int, n: int) -> str:
    """A string in the payload p, which starts at address pa."""
    if not n:
        return ""
    o = ptr - pa
    if o < 0 or o + n > len(p):
        raise _outside(ptr, n)
    return str(p[o : o + n], "utf-8")


def _cstr(ptr: int, n: int) -> str:
    """A string copied from library memory (scratch); valid only right now."""
    return _string_at(ptr, n).decode("utf-8") if n else ""


class LogEntryView:
    """A decoded LogEntry. Fields are read on access (zero-copy codecs)."""

    __slots__ = ("_attrs", "_eager", "_p", "_pa", "_t", "_tags")

    def __init__(self, t: Tuple[Any, ...], payload: Optional[memoryview], payload_addr: int) -> None:
        self._t = t
        self._p = payload
        self._pa = payload_addr
        # The arrays of spans behind tags and attributes live in scratch: copy
        # them now, whichever codec. Zero-copy spans point into the payload.
        nt, na = t[10], t[12]
        if payload is not None:
            self._eager: Optional[Tuple[str, str, str, str, str]] = None
            self._tags: object = _string_at(t[9], 16 * nt) if nt else b""
            self._attrs: object = _string_at(t[11], 32 * na) if na else b""
        else:
            self._eager = (_cstr(t[2], t[3]), _cstr(t[4], t[5]), _cstr(t[6], t[7]), _cstr(t[13], t[14]), _cstr(t[15], t[16]))
            spans = _string_at(t[9], 16 * nt) if nt else b""
            self._tags = [_cstr(a, n) for a, n in _iter_spans(spans)]
            spans = _string_at(t[11], 32 * na) if na else b""
            it = _iter_spans(spans)
            self._attrs = [(_cstr(ka, kn), _cstr(*next(it))) for ka, kn in it]

    def _s(self, i: int) -> str:
        e = self._eager
        if e is not None:
            return e[i]
        j = (2, 4, 6, 13, 15)[i]
        t = self._t
        return _zstr(self._p, self._pa, t[j], t[j + 1])  # type: ignore[arg-type]

    @property
    def zero_copy(self) -> bool:
        return self._p is not None

    @property
    def payload(self) -> Optional[memoryview]:
        """The frame payload the fields are read from (None for baseline codecs)."""
        return self._p

    @property
    def timestamp_ns(self) -> int:
        return int(self._t[0])

    @property
    def level(self) -> Level:
        return _level(self._t[1])

    @property
    def service(self) -> str:
        return self._s(0)

    @property
    def host(self) -> str:
        return self._s(1)

    @property
    def message(self) -> str:
        return self._s(2)

    @property
    def trace_id(self) -> bytes:
        """16 bytes (held inline in the decoded struct, so always a copy)."""
        return bytes(self._t[8])

    @property
    def tags(self) -> List[str]:
        if self._eager is not None:
            return list(self._tags)  # type: ignore[call-overload,no-any-return]
        p, pa = self._p, self._pa
        return [_zstr(p, pa, a, n) for a, n in _iter_spans(self._tags)]  # type: ignore[arg-type]

    @property
    def attribute_pairs(self) -> List[Tuple[str, str]]:
        """Attributes in order, duplicates kept."""
        if self._eager is not None:
            return list(self._attrs)  # type: ignore[call-overload,no-any-return]
        p, pa = self._p, self._pa
        it = _iter_spans(self._attrs)  # type: ignore[arg-type]
        return [(_zstr(p, pa, ka, kn), _zstr(p, pa, *next(it))) for ka, kn in it]  # type: ignore[arg-type]

    @property
    def attributes(self) -> Dict[str, str]:
        return dict(self.attribute_pairs)

    @property
    def http(self) -> Http:
        t = self._t
        return Http(method=self._s(3), path=self._s(4), status=t[17], latency_ns=t[18])

    def to_record(self) -> LogEntry:
        """A LogEntry that owns all its data (copied out of the region)."""
        t = self._t
        return LogEntry(
            timestamp_ns=t[0],
            level=_level(t[1]),
            service=self._s(0),
            host=self._s(1),
            message=self._s(2),
            trace_id=t[8],
            tags=self.tags,
            attributes=self.attributes,
            http=self.http,
        )

    def __repr__(self) -> str:
        return f"LogEntryView(timestamp_ns={self.timestamp_ns}, service={self.service!r}, zero_copy={self.zero_copy})"


class SampleView:
    """A decoded Sample. Its fields are inline in the decoded struct: no pointers."""

    __slots__ = ("_t",)

    def __init__(self, t: Tuple[Any, ...]) -> None:
        self._t = t

    zero_copy = False
    payload = None

    @property
    def timestamp_ns(self) -> int:
        return int(self._t[0])

    @property
    def features(self) -> List[float]:
        return list(self._t[1:17])

    @property
    def label(self) -> int:
        return int(self._t[17])

    def to_record(self) -> Sample:
        t = self._t
        return Sample(timestamp_ns=t[0], features=list(t[1:17]), label=t[17])

    def __repr__(self) -> str:
        return f"SampleView(timestamp_ns={self.timestamp_ns}, label={self.label})"


class TensorView:
    """A decoded Tensor. For zero-copy codecs `data` and `array` are over region memory."""

    __slots__ = ("_data", "_name", "_p", "_t")

    def __init__(self, t: Tuple[Any, ...], payload: Optional[memoryview], payload_addr: int) -> None:
        self._t = t
        self._p = payload
        n = t[13]
        if payload is not None:
            self._name: Optional[str] = None
            o = t[12] - payload_addr
            if n and (o < 0 or o + n > len(payload)):
                raise _outside(t[12], n)
            self._data = payload[o : o + n] if n else payload[0:0]
        else:
            # Baseline codecs: copy out of scratch before the next decode reuses it.
            self._name = _cstr(t[0], t[1])
            self._data = memoryview(_string_at(t[12], n) if n else b"")
        if payload is not None:
            self._name = _zstr(payload, payload_addr, t[0], t[1])

    @property
    def zero_copy(self) -> bool:
        return self._p is not None

    @property
    def payload(self) -> Optional[memoryview]:
        return self._p

    @property
    def name(self) -> str:
        return self._name  # type: ignore[return-value]

    @property
    def dtype(self) -> DType:
        return _dtype(self._t[2])

    @property
    def shape(self) -> Tuple[int, ...]:
        t = self._t
        return tuple(t[4 : 4 + t[3]])

    @property
    def data(self) -> memoryview:
        """The raw little-endian bytes (read-only; region memory for zero-copy codecs)."""
        return self._data

    @property
    def array(self) -> np.ndarray:
        """A read-only numpy array over data, with no copy."""
        return np.frombuffer(self._data, dtype=self.dtype.numpy).reshape(self.shape)

    def to_record(self) -> Tensor:
        return Tensor(name=self.name, dtype=self.dtype, shape=self.shape, data=bytes(self._data))

    def __repr__(self) -> str:
        return f"TensorView(name={self.name!r}, dtype={self.dtype.name}, shape={self.shape}, zero_copy={self.zero_copy})"


View = Union[LogEntryView, SampleView, TensorView]


__all__ = ["LogEntryView", "SampleView", "TensorView", "View"]
