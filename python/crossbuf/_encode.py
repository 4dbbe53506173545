"""Bundled records in the form the library reads and writes them: one
MessagePack array (or one map per record) in the shape of the MessagePack
codec, built and read by msgspec."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type

import msgspec

from . import _lib, errors
from .records import LogEntry, Record, Sample, Tensor

CLASSES: Dict[int, Type[Any]] = {1: LogEntry, 2: Sample, 3: Tensor}
encode_msgpack = _encode = msgspec.msgpack.Encoder().encode
_one = {rt: msgspec.msgpack.Decoder(cls) for rt, cls in CLASSES.items()}
_many = {rt: msgspec.msgpack.Decoder(List[cls]) for rt, cls in CLASSES.items()}  # type: ignore[valid-type]


def record_type(r: Any) -> int:
    rt = getattr(type(r), "record_type", None)
    if rt is None or CLASSES.get(rt) is not type(r):
        raise errors.RecordTypeError(f"not a crossbuf record: {type(r).__name__}")
    return int(rt)


def pack_one(record: Record) -> Tuple[int, bytes]:
    """pack of one record, without the checks a batch needs."""
    rt = record_type(record)
    try:
        return rt, _encode((record,))
    except (TypeError, ValueError, OverflowError):
        return pack((record,))  # raises the error that names the field


def pack(records: Sequence[Record]) -> Tuple[int, bytes]:
    """The record type of records (all of one type) and their MessagePack array."""
    rt = record_type(records[0])
    cls = CLASSES[rt]
    for r in records:
        if type(r) is not cls:
            raise errors.RecordTypeError(
                f"encode_many needs records of one type; got {cls.__name__} and {type(r).__name__}")
    try:
        return rt, _encode(records if isinstance(records, list) else list(records))
    except (TypeError, ValueError, OverflowError) as e:
        for i, r in enumerate(records):
            why = bad_field(r, "")
            if why:
                raise errors.InvalidRecordError(f"record {i} ({cls.__name__}): {why}") from None
        raise errors.InvalidRecordError(f"{cls.__name__}: {e}") from None


def unpack(rt: int, data: Any, many: bool) -> Any:
    """Records the library wrote into data: an array of them (many) or one."""
    try:
        return (_many if many else _one)[rt].decode(data)
    except msgspec.DecodeError as e:  # pragma: no cover - the library and the classes disagree
        raise errors.InternalError(f"the library wrote a {CLASSES[rt].__name__} msgspec cannot read: {e}") from None


_I64_MIN = -(1 << 63)


def bad_field(value: Any, path: str) -> Optional[str]:
    """Where in value (a record, dict, list) the leaf MessagePack cannot
    hold is, and why: "tags[2]: ..." (None if no leaf fails alone). Run only
    after an encode failed, so the common case pays nothing."""
    if isinstance(value, msgspec.Struct):
        items: Iterable[Tuple[str, Any]] = ((f"{path}.{k}" if path else k, getattr(value, k))
                                            for k in value.__struct_fields__)
    elif isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        where = path or "value"
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                return f"{where}: a lone surrogate at index {e.start} is not UTF-8 (strings are stored as UTF-8)"
            return None
        if isinstance(value, int) and not isinstance(value, bool) and not _I64_MIN <= value <= _lib.U64_MAX:
            return f"{where}: {value} is outside every integer field's range"
        try:
            _encode(value)
        except (TypeError, ValueError, OverflowError) as e:
            return f"{where}: {e}"
        return None
    for p, v in items:
        why = bad_field(v, p)
        if why:
            return why
    return None
