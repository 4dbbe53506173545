"""The data model shared by every codec and language (see schemas/)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union

import numpy as np

# slots=True needs Python 3.10; on 3.9 the dataclasses simply keep a __dict__.
if TYPE_CHECKING:
    from dataclasses import dataclass as _dataclass
else:
    _dataclass = (lambda cls: dataclass(slots=True)(cls)) if sys.version_info >= (3, 10) else dataclass


class Codec(IntEnum):
    FLATBUFFERS = 1
    CAPNP = 2
    JSON = 3
    MSGPACK = 4
    PROTOBUF = 5

    @property
    def zero_copy(self) -> bool:
        """Decoded views point into the frame itself (no copy of any field)."""
        return self in (Codec.FLATBUFFERS, Codec.CAPNP)


class RecordType(IntEnum):
    LOG_ENTRY = 1
    SAMPLE = 2
    TENSOR = 3


class Level(IntEnum):
    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4
    FATAL = 5


class DType(IntEnum):
    U8 = 0
    I8 = 1
    U16 = 2
    I16 = 3
    U32 = 4
    I32 = 5
    U64 = 6
    I64 = 7
    F16 = 8
    F32 = 9
    F64 = 10

    @property
    def numpy(self) -> np.dtype:
        """The little-endian numpy dtype of one element."""
        return _NUMPY[self]

    @property
    def itemsize(self) -> int:
        return _NUMPY[self].itemsize

    @classmethod
    def from_numpy(cls, dtype: Any) -> "DType":
        """The DType of a numpy dtype of any byte order (matched by kind and size)."""
        dt = np.dtype(dtype)
        for d, nd in _NUMPY.items():
            if nd.kind == dt.kind and nd.itemsize == dt.itemsize:
                return d
        raise ValueError(f"no crossbuf dtype for numpy dtype {dt}")


_NUMPY: Dict[DType, np.dtype] = {
    DType.U8: np.dtype("|u1"),
    DType.I8: np.dtype("|i1"),
    DType.U16: np.dtype("<u2"),
    DType.I16: np.dtype("<i2"),
    DType.U32: np.dtype("<u4"),
    DType.I32: np.dtype("<i4"),
    DType.U64: np.dtype("<u8"),
    DType.I64: np.dtype("<i8"),
    DType.F16: np.dtype("<f2"),
    DType.F32: np.dtype("<f4"),
    DType.F64: np.dtype("<f8"),
}

TRACE_ID_LEN = 16
SAMPLE_FEATURES = 16
MAX_TENSOR_DIMS = 8


@_dataclass
class Http:
    method: str = ""
    path: str = ""
    status: int = 0
    latency_ns: int = 0


@_dataclass
class LogEntry:
    """A structured log event of about 1 KB. attributes keep their order."""

    timestamp_ns: int = 0
    level: Level = Level.TRACE
    service: str = ""
    host: str = ""
    message: str = ""
    trace_id: bytes = bytes(TRACE_ID_LEN)
    tags: List[str] = field(default_factory=list)
    attributes: Dict[str, str] = field(default_factory=dict)
    http: Http = field(default_factory=Http)

    record_type = RecordType.LOG_ENTRY


@_dataclass
class Sample:
    """A small fixed record: 16 float32 features (values are exact float32)."""

    timestamp_ns: int = 0
    features: List[float] = field(default_factory=lambda: [0.0] * SAMPLE_FEATURES)
    label: int = 0

    record_type = RecordType.SAMPLE


@_dataclass
class Tensor:
    """A named n-dimensional array; data is row-major, little-endian."""

    name: str = ""
    dtype: DType = DType.U8
    shape: Tuple[int, ...] = ()
    data: Union[bytes, memoryview] = b""

    record_type = RecordType.TENSOR

    @classmethod
    def from_array(cls, name: str, array: np.ndarray) -> "Tensor":
        """A Tensor over a C-contiguous little-endian copy of array (no copy if it already is one)."""
        dtype = DType.from_numpy(array.dtype)
        arr = np.ascontiguousarray(array, dtype=dtype.numpy)
        return cls(name=name, dtype=dtype, shape=tuple(int(d) for d in arr.shape), data=arr.data.cast("B"))

    def array(self) -> np.ndarray:
        """The data as a numpy array (no copy; read-only when data is bytes)."""
        return np.frombuffer(self.data, dtype=self.dtype.numpy).reshape(self.shape)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tensor):
            return NotImplemented
        return (
            self.name == other.name
            and self.dtype == other.dtype
            and tuple(self.shape) == tuple(other.shape)
            and bytes(self.data) == bytes(other.data)
        )


Record = Union[LogEntry, Sample, Tensor]

__all__ = [
    "Codec",
    "RecordType",
    "Level",
    "DType",
    "Http",
    "LogEntry",
    "Sample",
    "Tensor",
    "Record",
    "TRACE_ID_LEN",
    "SAMPLE_FEATURES",
    "MAX_TENSOR_DIMS",
]
