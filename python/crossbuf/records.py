"""The bundled records (LogEntry, Sample, Tensor), the data model every
codec, language and benchmark shares (see schemas/)."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Tuple, Union

import msgspec
import numpy as np


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


# The records are msgspec Structs in the MessagePack shape of the bundled
# records (go/codec/msgpack, the XB_CODEC_MSGPACK frames): the library hands
# records over in that shape both ways, and msgspec builds and reads these
# objects from it faster than anything else in Python. Their fields follow
# schemas/crossbuf.fbs (python/tests/test_records.py checks them against
# the bundled schema).


class Http(msgspec.Struct):
    method: str = ""
    path: str = ""
    status: int = 0
    latency_ns: int = 0


class LogEntry(msgspec.Struct):
    """A structured log event of about 1 KB. attributes keep their order."""

    timestamp_ns: int = 0
    level: Level = Level.TRACE
    service: str = ""
    host: str = ""
    message: str = ""
    trace_id: bytes = bytes(TRACE_ID_LEN)
    tags: List[str] = msgspec.field(default_factory=list)
    attributes: Dict[str, str] = msgspec.field(default_factory=dict)
    http: Http = msgspec.field(default_factory=Http)

    record_type: ClassVar[RecordType] = RecordType.LOG_ENTRY


class Sample(msgspec.Struct):
    """A small fixed record: 16 float32 features (values are exact float32)."""

    timestamp_ns: int = 0
    features: List[float] = msgspec.field(default_factory=lambda: [0.0] * SAMPLE_FEATURES)
    label: int = 0

    record_type: ClassVar[RecordType] = RecordType.SAMPLE


class Tensor(msgspec.Struct):
    """A named n-dimensional array; data is row-major, little-endian."""

    name: str = ""
    dtype: DType = DType.U8
    shape: Tuple[int, ...] = ()
    if TYPE_CHECKING:
        # Encoding takes any bytes-like data without a copy (from_array);
        # decoding always gives bytes, which is what msgspec is told.
        data: Union[bytes, memoryview] = b""
    else:
        data: bytes = b""

    record_type: ClassVar[RecordType] = RecordType.TENSOR

    @classmethod
    def from_array(cls, name: str, array: np.ndarray) -> "Tensor":
        """A Tensor over a C-contiguous little-endian copy of array (no copy if it already is one)."""
        dtype = DType.from_numpy(array.dtype)
        arr = np.ascontiguousarray(array, dtype=dtype.numpy)
        return cls(name=name, dtype=dtype, shape=tuple(int(d) for d in arr.shape), data=arr.data.cast("B"))

    def array(self) -> np.ndarray:
        """The data as a numpy array (no copy; read-only when data is bytes)."""
        return np.frombuffer(self.data, dtype=self.dtype.numpy).reshape(self.shape)


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
