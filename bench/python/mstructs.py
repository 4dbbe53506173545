"""msgspec Structs mirroring crossbuf's records (module level, without
postponed annotations, so msgspec can resolve the nested types)."""

from typing import Dict, List

import msgspec


class MHttp(msgspec.Struct):
    method: str
    path: str
    status: int
    latency_ns: int


class MLogEntry(msgspec.Struct):
    timestamp_ns: int
    level: int
    service: str
    host: str
    message: str
    trace_id: bytes
    tags: List[str]
    attributes: Dict[str, str]
    http: MHttp


class MSample(msgspec.Struct):
    timestamp_ns: int
    features: List[float]
    label: int


class MTensor(msgspec.Struct):
    name: str
    dtype: int
    shape: List[int]
    data: bytes


# read-one-field: a Struct with only the wanted field; msgspec skips the rest.
class MMessage(msgspec.Struct):
    message: str


class MLabel(msgspec.Struct):
    label: int


class MName(msgspec.Struct):
    name: str
