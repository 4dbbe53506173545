"""crossbuf: zero-copy records in shared memory (FlatBuffers, Cap'n Proto) with
JSON, MessagePack and Protobuf baselines behind the same API.

    import crossbuf as xb
    with xb.Region.anonymous(1 << 20) as region:
        frame = region.encode(xb.testdata.log_entry(1), xb.Codec.FLATBUFFERS)
        view = region.view(frame)
        print(view.service)        # read in place from region memory
        del frame, view            # views pin the mapping: drop them before close

Not fork-safe: the library embeds a Go runtime. In a child forked after import
every call raises ForkError; use multiprocessing's 'spawn' or 'forkserver'.

faulthandler: enable it before importing crossbuf (python -X faulthandler).
Enabled later, it would turn faults the library recovers into crashes, so
crossbuf keeps the Go runtime's handlers in front and warns once.
"""

from __future__ import annotations

from . import bundled, testdata
from ._generate import decode_bytes, generate
from ._lib import ABI_VERSION, LAYOUT_VERSION, LIBRARY_VERSION, debug_fault, library_path, status_name
from .channel import Channel, ChannelFrame, ChannelStats, Subscriber, SubscriberStats
from .errors import (
    BadNameError,
    ChannelEndedError,
    ChannelFullError,
    ChannelTimeoutError,
    ClosedError,
    CorruptFrameError,
    CrossbufError,
    ForkError,
    FrameInUseError,
    HeldFramesError,
    InternalError,
    InvalidArgumentError,
    InvalidRecordError,
    MalformedError,
    NoSpaceError,
    NotCommittedError,
    OutOfRangeError,
    OverrunError,
    PublisherGoneError,
    RangeError,
    ReadOnlyError,
    RecordTypeError,
    RegionExistsError,
    RegionFullError,
    RegionInUseError,
    RegionNotFoundError,
    RegionOSError,
    SchemaError,
    SchemaNotFoundError,
    StaleFrameError,
    TruncatedError,
    UnknownCodecError,
    UnknownTypeError,
    VersionError,
)
from .records import Codec, DType, Http, Level, LogEntry, Record, RecordType, Sample, Tensor
from .region import Frame, Region, RegionStats, unlink_shm
from .schema import FieldPath, Layout, RecordView, Schema, TypeInfo
from .stream import StreamReader, StreamWriter

#: The library's version, which is also the package's: both come from
#: XB_VERSION_* in include/crossbuf.h.
__version__ = LIBRARY_VERSION

__all__ = [
    "__version__",
    "ABI_VERSION",
    "LAYOUT_VERSION",
    "LIBRARY_VERSION",
    "library_path",
    "status_name",
    "debug_fault",
    "generate",
    "decode_bytes",
    "testdata",
    "bundled",
    "Region",
    "RegionStats",
    "Frame",
    "unlink_shm",
    "Channel",
    "ChannelFrame",
    "ChannelStats",
    "Subscriber",
    "SubscriberStats",
    "Schema",
    "TypeInfo",
    "StreamReader",
    "StreamWriter",
    "Layout",
    "FieldPath",
    "RecordView",
    "Codec",
    "RecordType",
    "Level",
    "DType",
    "Http",
    "LogEntry",
    "Sample",
    "Tensor",
    "Record",
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
    "ForkError",
    "RegionInUseError",
    "FrameInUseError",
    "ChannelFullError",
    "ChannelTimeoutError",
    "ChannelEndedError",
    "PublisherGoneError",
    "HeldFramesError",
    "OverrunError",
    "RangeError",
]
