"""Context 2: the best native Python libraries on crossbuf's records.

Every library gets the same record pools (crossbuf.testdata, seeds 1..N) and
the wire shapes of the Go baselines: JSON objects with snake_case keys, bytes
as base64 (JSON) or bin (MessagePack); the official FlatBuffers, Protobuf and
Cap'n Proto runtimes use the generated code in python/refgen.

Each library is an Impl of functions of one record or one wire:
  encode         variant record: from the crossbuf record (a msgspec Struct), the conversion
                 to what the library writes inside the call (as crossbuf's own
                 region.encode(record) does);
  encode_native  variant native: from the library's own object, built before
                 timing (dict, msgspec Struct, protobuf message, pycapnp
                 builder); None where the library has none;
  decode         variant record: every field materialised, ending as the
                 crossbuf record (msgspec Struct) for every library;
  decode_native  variant native: the library's own object (NATIVE_KIND says
                 which), every field materialised;
  read           LogEntry.message, Sample.label or Tensor.name; libraries that
                 cannot skip parse the whole record first;
  to_numpy       Tensor data as a shaped numpy array.
"""

from __future__ import annotations

import base64
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for p in (os.path.join(ROOT, "python", "refgen"), os.path.join(ROOT, "python")):
    if p not in sys.path:
        sys.path.insert(0, p)

from crossbuf.records import DType, Http, Level, LogEntry, Sample, Tensor  # noqa: E402

Record = Any


@dataclass
class Impl:
    """One library's operations on one record kind. None marks a missing cell."""

    encode: Callable[[Record], bytes]
    decode: Callable[[bytes], Record]
    read: Callable[[bytes], Any]
    to_native: Optional[Callable[[Record], Any]] = None  # the native variant's input, built before timing
    encode_native: Optional[Callable[[Any], bytes]] = None
    decode_native: Optional[Callable[[bytes], Any]] = None
    native_kind: str = ""  # what decode_native returns
    native_to_record: Callable[[Any], Record] = lambda x: x  # for the check before timing
    to_numpy: Optional[Callable[[bytes], Any]] = None
    why_no_native: str = ""


# ---- equality of decoded records ---------------------------------------------


def same_record(want: Record, got: Record) -> Optional[str]:
    """None if got holds want's values (floats compared as float32), else why not."""
    if type(want) is not type(got):
        return f"type {type(got).__name__}, want {type(want).__name__}"
    if isinstance(want, Sample):
        if want.timestamp_ns != got.timestamp_ns or want.label != got.label:
            return f"{got!r} != {want!r}"
        if not np.array_equal(np.asarray(want.features, "<f4"), np.asarray(got.features, "<f4")):
            return "features differ"
        return None
    if isinstance(want, LogEntry):
        for f in ("timestamp_ns", "level", "service", "host", "message", "trace_id", "tags", "http"):
            if getattr(want, f) != getattr(got, f):
                return f"field {f}: {getattr(got, f)!r} != {getattr(want, f)!r}"
        if list(want.attributes.items()) != list(dict(got.attributes).items()):
            return "attributes differ (values or order)"
        return None
    if want != got:
        return "tensor differs"
    return None


def expected_field(rec: Record) -> Any:
    if isinstance(rec, LogEntry):
        return rec.message
    if isinstance(rec, Sample):
        return rec.label
    return rec.name


# ---- JSON / MessagePack with dicts --------------------------------------------


def to_dict(rec: Record, b64: bool) -> Dict[str, Any]:
    """The wire object of rec; bytes become base64 text for JSON."""
    enc: Callable[[bytes], Any] = (lambda b: base64.b64encode(b).decode()) if b64 else bytes
    if isinstance(rec, LogEntry):
        h = rec.http
        return {
            "timestamp_ns": rec.timestamp_ns,
            "level": int(rec.level),
            "service": rec.service,
            "host": rec.host,
            "message": rec.message,
            "trace_id": enc(rec.trace_id),
            "tags": rec.tags,
            "attributes": rec.attributes,
            "http": {"method": h.method, "path": h.path, "status": h.status, "latency_ns": h.latency_ns},
        }
    if isinstance(rec, Sample):
        return {"timestamp_ns": rec.timestamp_ns, "features": rec.features, "label": rec.label}
    return {"name": rec.name, "dtype": int(rec.dtype), "shape": list(rec.shape), "data": enc(rec.data)}


def from_dict(kind: type, d: Dict[str, Any], b64: bool) -> Record:
    dec: Callable[[Any], bytes] = base64.b64decode if b64 else bytes
    if kind is LogEntry:
        h = d["http"]
        return LogEntry(
            timestamp_ns=d["timestamp_ns"],
            level=Level(d["level"]),
            service=d["service"],
            host=d["host"],
            message=d["message"],
            trace_id=dec(d["trace_id"]),
            tags=d["tags"],
            attributes=d["attributes"],
            http=Http(method=h["method"], path=h["path"], status=h["status"], latency_ns=h["latency_ns"]),
        )
    if kind is Sample:
        return Sample(timestamp_ns=d["timestamp_ns"], features=d["features"], label=d["label"])
    return Tensor(name=d["name"], dtype=DType(d["dtype"]), shape=tuple(d["shape"]), data=dec(d["data"]))


def field_key(kind: type) -> str:
    return "message" if kind is LogEntry else "label" if kind is Sample else "name"


def dict_impl(kind: type, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any], b64: bool,
              encode: Optional[Callable[[Record], bytes]] = None, what: str = "dict") -> Impl:
    key = field_key(kind)
    return Impl(
        encode=encode or (lambda r: dumps(to_dict(r, b64))),
        decode=lambda w: from_dict(kind, loads(w), b64),
        read=lambda w: loads(w)[key],
        to_native=lambda r: to_dict(r, b64),
        encode_native=dumps,
        decode_native=loads,
        native_kind=what,
        native_to_record=lambda d: from_dict(kind, d, b64),
    )


def std_json(kind: type) -> Impl:
    import json

    return dict_impl(kind, lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode(), json.loads,
                     True, what="dict (bytes as base64 str)")  # fmt: skip


def orjson_impl(kind: type) -> Impl:
    import msgspec
    import orjson

    asdict = msgspec.structs.asdict

    def default(o: Any) -> Any:
        if isinstance(o, msgspec.Struct):
            return asdict(o)  # one level: a nested Struct (http) comes back here
        if isinstance(o, (bytes, memoryview)):
            return base64.b64encode(o).decode()
        raise TypeError

    # record variant: orjson serialises IntEnum, tuples and dicts itself but
    # not msgspec Structs (the crossbuf records): each Struct and each bytes
    # field goes through default, the hook an orjson user of these records writes.
    return dict_impl(kind, orjson.dumps, orjson.loads, True, encode=lambda r: orjson.dumps(r, default=default),
                     what="dict (bytes as base64 str)")  # fmt: skip


def msgpack_impl(kind: type) -> Impl:
    import msgpack

    # single floats: the features are float32, as on the Go side.
    return dict_impl(
        kind,
        lambda o: msgpack.packb(o, use_bin_type=True, use_single_float=True),
        lambda w: msgpack.unpackb(w, raw=False),
        False,
    )


# ---- msgspec ----------------------------------------------------------------------

_MSGSPEC: Dict[str, Any] = {}


def msgspec_types() -> Dict[str, Any]:
    if not _MSGSPEC:
        from . import mstructs as m

        _MSGSPEC.update(
            LogEntry=(m.MLogEntry, m.MMessage, "message"),
            Sample=(m.MSample, m.MLabel, "label"),
            Tensor=(m.MTensor, m.MName, "name"),
            Http=m.MHttp,
        )
    return _MSGSPEC


def to_struct(rec: Record) -> Any:
    t = msgspec_types()
    if isinstance(rec, LogEntry):
        h = rec.http
        return t["LogEntry"][0](
            rec.timestamp_ns, int(rec.level), rec.service, rec.host, rec.message, bytes(rec.trace_id),
            list(rec.tags), dict(rec.attributes), t["Http"](h.method, h.path, h.status, h.latency_ns),
        )  # fmt: skip
    if isinstance(rec, Sample):
        return t["Sample"][0](rec.timestamp_ns, list(rec.features), rec.label)
    return t["Tensor"][0](rec.name, int(rec.dtype), list(rec.shape), bytes(rec.data))


def from_struct(s: Any) -> Record:
    import msgspec

    return from_dict(type_of(s), msgspec.to_builtins(s, enc_hook=None, builtin_types=(bytes,)), False)


def type_of(s: Any) -> type:
    name = type(s).__name__
    return LogEntry if name == "MLogEntry" else Sample if name == "MSample" else Tensor


def msgspec_impl(kind: type, fmt: str) -> Impl:
    import msgspec

    mod = msgspec.json if fmt == "json" else msgspec.msgpack
    full, one, attr = msgspec_types()[kind.__name__]
    enc = mod.Encoder()
    dec_full, dec_one = mod.Decoder(full), mod.Decoder(one)
    return Impl(
        encode=enc.encode,  # the crossbuf records are msgspec Structs: encoded as they are
        decode=mod.Decoder(kind).decode,  # straight into the crossbuf record class (a msgspec Struct)
        read=lambda w: getattr(dec_one.decode(w), attr),
        to_native=to_struct,
        encode_native=enc.encode,
        decode_native=dec_full.decode,
        native_kind="msgspec Struct",
        native_to_record=from_struct,
        to_numpy=(lambda w: np.frombuffer((s := dec_full.decode(w)).data, DType(s.dtype).numpy).reshape(s.shape))
        if kind is Tensor else None,
    )  # fmt: skip


# ---- Protobuf (upb) ----------------------------------------------------------------


def protobuf_impl(kind: type) -> Impl:
    import crossbuf_pb2 as pb

    if kind is LogEntry:

        def to_pb(rec: Record) -> Any:
            h = rec.http
            return pb.LogEntry(
                timestamp_ns=rec.timestamp_ns, level=int(rec.level), service=rec.service, host=rec.host,
                message=rec.message, trace_id=bytes(rec.trace_id), tags=rec.tags,
                attributes=[pb.Attribute(key=k, value=v) for k, v in rec.attributes.items()],
                http=pb.Http(method=h.method, path=h.path, status=h.status, latency_ns=h.latency_ns),
            )  # fmt: skip

        def from_pb(m: Any) -> Record:
            h = m.http
            return LogEntry(
                timestamp_ns=m.timestamp_ns, level=Level(m.level), service=m.service, host=m.host,
                message=m.message, trace_id=m.trace_id, tags=list(m.tags),
                attributes={a.key: a.value for a in m.attributes},
                http=Http(method=h.method, path=h.path, status=h.status, latency_ns=h.latency_ns),
            )  # fmt: skip

    elif kind is Sample:

        def to_pb(rec: Record) -> Any:
            return pb.Sample(timestamp_ns=rec.timestamp_ns, features=rec.features, label=rec.label)

        def from_pb(m: Any) -> Record:
            return Sample(timestamp_ns=m.timestamp_ns, features=list(m.features), label=m.label)

    else:

        def to_pb(rec: Record) -> Any:
            return pb.Tensor(name=rec.name, dtype=int(rec.dtype), shape=rec.shape, data=bytes(rec.data))

        def from_pb(m: Any) -> Record:
            return Tensor(name=m.name, dtype=DType(m.dtype), shape=tuple(m.shape), data=m.data)

    msg = getattr(pb, kind.__name__)
    key = field_key(kind)

    def numpy_of(w: bytes) -> Any:
        m = msg.FromString(w)
        return np.frombuffer(m.data, DType(m.dtype).numpy).reshape(tuple(m.shape))

    # upb parses into C structures and makes Python objects of fields on access,
    # so decode (record variant) walks every field into the crossbuf record.
    return Impl(
        encode=lambda r: to_pb(r).SerializeToString(),
        decode=lambda w: from_pb(msg.FromString(w)),
        read=lambda w: getattr(msg.FromString(w), key),
        to_native=to_pb,
        encode_native=lambda m: m.SerializeToString(),
        decode_native=msg.FromString,
        native_kind="protobuf message (upb; Python objects made on field access)",
        native_to_record=from_pb,
        to_numpy=numpy_of if kind is Tensor else None,
    )


# ---- FlatBuffers (official runtime + flatc code) ----------------------------------------


def flatbuffers_impl(kind: type) -> Impl:
    import flatbuffers
    from crossbuf_fb import Attribute as FA
    from crossbuf_fb import Http as FH
    from crossbuf_fb import LogEntry as FL
    from crossbuf_fb import Sample as FS
    from crossbuf_fb import Tensor as FT

    def vec(b: Any, start: Callable[[Any, int], Any], offs: List[int]) -> int:
        start(b, len(offs))
        for o in reversed(offs):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    to_numpy: Optional[Callable[[bytes], Any]] = None
    if kind is LogEntry:

        def encode(rec: Record) -> bytes:
            b = flatbuffers.Builder(1024)
            service, host, msg = b.CreateString(rec.service), b.CreateString(rec.host), b.CreateString(rec.message)
            trace = b.CreateByteVector(bytes(rec.trace_id))
            tags = vec(b, FL.StartTagsVector, [b.CreateString(t) for t in rec.tags])
            attrs = []
            for k, v in rec.attributes.items():
                ko, vo = b.CreateString(k), b.CreateString(v)
                FA.Start(b)
                FA.AddKey(b, ko)
                FA.AddValue(b, vo)
                attrs.append(FA.End(b))
            attrs_v = vec(b, FL.StartAttributesVector, attrs)
            h = rec.http
            method, path = b.CreateString(h.method), b.CreateString(h.path)
            FH.Start(b)
            FH.AddMethod(b, method)
            FH.AddPath(b, path)
            FH.AddStatus(b, h.status)
            FH.AddLatencyNs(b, h.latency_ns)
            http = FH.End(b)
            FL.Start(b)
            FL.AddTimestampNs(b, rec.timestamp_ns)
            FL.AddLevel(b, int(rec.level))
            FL.AddService(b, service)
            FL.AddHost(b, host)
            FL.AddMessage(b, msg)
            FL.AddTraceId(b, trace)
            FL.AddTags(b, tags)
            FL.AddAttributes(b, attrs_v)
            FL.AddHttp(b, http)
            b.Finish(FL.End(b))
            return bytes(b.Output())

        def decode(w: bytes) -> Record:
            e = FL.LogEntry.GetRootAs(w, 0)
            h = e.Http()
            attrs = {}
            for i in range(e.AttributesLength()):
                a = e.Attributes(i)
                attrs[a.Key().decode()] = a.Value().decode()
            return LogEntry(
                timestamp_ns=e.TimestampNs(), level=Level(e.Level()), service=e.Service().decode(),
                host=e.Host().decode(), message=e.Message().decode(), trace_id=e.TraceIdAsNumpy().tobytes(),
                tags=[e.Tags(i).decode() for i in range(e.TagsLength())], attributes=attrs,
                http=Http(method=h.Method().decode(), path=h.Path().decode(), status=h.Status(),
                          latency_ns=h.LatencyNs()),
            )  # fmt: skip

        def read(w: bytes) -> Any:
            return FL.LogEntry.GetRootAs(w, 0).Message().decode()

    elif kind is Sample:

        def encode(rec: Record) -> bytes:
            b = flatbuffers.Builder(128)
            FS.StartFeaturesVector(b, len(rec.features))
            for f in reversed(rec.features):
                b.PrependFloat32(f)
            feats = b.EndVector()
            FS.Start(b)
            FS.AddTimestampNs(b, rec.timestamp_ns)
            FS.AddFeatures(b, feats)
            FS.AddLabel(b, rec.label)
            b.Finish(FS.End(b))
            return bytes(b.Output())

        def decode(w: bytes) -> Record:
            s = FS.Sample.GetRootAs(w, 0)
            return Sample(timestamp_ns=s.TimestampNs(), features=s.FeaturesAsNumpy().tolist(), label=s.Label())

        def read(w: bytes) -> Any:
            return FS.Sample.GetRootAs(w, 0).Label()

    else:

        def encode(rec: Record) -> bytes:
            b = flatbuffers.Builder(len(rec.data) + 256)
            name = b.CreateString(rec.name)
            FT.StartShapeVector(b, len(rec.shape))
            for d in reversed(rec.shape):
                b.PrependInt64(d)
            shape = b.EndVector()
            data = b.CreateNumpyVector(np.frombuffer(rec.data, np.uint8))
            FT.Start(b)
            FT.AddName(b, name)
            FT.AddDtype(b, int(rec.dtype))
            FT.AddShape(b, shape)
            FT.AddData(b, data)
            b.Finish(FT.End(b))
            return bytes(b.Output())

        def decode(w: bytes) -> Record:
            t = FT.Tensor.GetRootAs(w, 0)
            return Tensor(name=t.Name().decode(), dtype=DType(t.Dtype()), shape=tuple(t.ShapeAsNumpy().tolist()),
                          data=t.DataAsNumpy().tobytes())  # fmt: skip

        def read(w: bytes) -> Any:
            return FT.Tensor.GetRootAs(w, 0).Name().decode()

        def to_numpy(w: bytes) -> Any:
            # DataAsNumpy is a zero-copy uint8 view of the buffer; view and
            # reshape make it the typed, shaped array crossbuf's to-numpy cell makes.
            t = FT.Tensor.GetRootAs(w, 0)
            return t.DataAsNumpy().view(DType(t.Dtype()).numpy).reshape(tuple(t.ShapeAsNumpy()))

    return Impl(encode=encode, decode=decode, read=read, to_numpy=to_numpy,
                why_no_native="the generated Python code has no object API")  # fmt: skip


# ---- Cap'n Proto (pycapnp) ----------------------------------------------------------------

_CAPNP: List[Any] = []


def capnp_schema() -> Any:
    if not _CAPNP:
        import capnp

        _CAPNP.append(capnp.load(os.path.join(ROOT, "python", "refgen", "crossbuf.capnp")))
    return _CAPNP[0]


# Cap'n Proto's default traversal limit (64 MiB) is below the 64 MB tensor.
_LIMIT = 1 << 40


def to_bytes_again(m: Any) -> bytes:
    """Serialises a builder that is serialised again and again (pycapnp
    warns on a second to_bytes unless the write flag is cleared)."""
    b: bytes = m.to_bytes()
    m.clear_write_flag()
    return b


def capnp_impl(kind: type) -> Impl:
    cs = capnp_schema()
    to_numpy: Optional[Callable[[bytes], Any]] = None
    if kind is LogEntry:

        def build(rec: Record) -> Any:
            m = cs.LogEntry.new_message()
            m.timestampNs = rec.timestamp_ns
            m.level = int(rec.level)
            m.service, m.host, m.message = rec.service, rec.host, rec.message
            m.traceId = bytes(rec.trace_id)
            m.tags = rec.tags
            attrs = m.init("attributes", len(rec.attributes))
            for a, (k, v) in zip(attrs, rec.attributes.items()):
                a.key, a.value = k, v
            h, rh = m.init("http"), rec.http
            h.method, h.path, h.status, h.latencyNs = rh.method, rh.path, rh.status, rh.latency_ns
            return m

        def decode(w: bytes) -> Record:
            with cs.LogEntry.from_bytes(w, traversal_limit_in_words=_LIMIT) as e:
                h = e.http
                return LogEntry(
                    timestamp_ns=e.timestampNs, level=Level(e.level.raw), service=e.service, host=e.host,
                    message=e.message, trace_id=bytes(e.traceId), tags=list(e.tags),
                    attributes={a.key: a.value for a in e.attributes},
                    http=Http(method=h.method, path=h.path, status=h.status, latency_ns=h.latencyNs),
                )  # fmt: skip

        def read(w: bytes) -> Any:
            with cs.LogEntry.from_bytes(w, traversal_limit_in_words=_LIMIT) as e:
                return e.message

    elif kind is Sample:

        def build(rec: Record) -> Any:
            m = cs.Sample.new_message(timestampNs=rec.timestamp_ns, label=rec.label)
            m.features = rec.features
            return m

        def decode(w: bytes) -> Record:
            with cs.Sample.from_bytes(w, traversal_limit_in_words=_LIMIT) as s:
                return Sample(timestamp_ns=s.timestampNs, features=list(s.features), label=s.label)

        def read(w: bytes) -> Any:
            with cs.Sample.from_bytes(w, traversal_limit_in_words=_LIMIT) as s:
                return s.label

    else:

        def build(rec: Record) -> Any:
            m = cs.Tensor.new_message(name=rec.name, dtype=int(rec.dtype))
            m.shape = list(rec.shape)
            m.data = bytes(rec.data)
            return m

        def decode(w: bytes) -> Record:
            with cs.Tensor.from_bytes(w, traversal_limit_in_words=_LIMIT) as t:
                return Tensor(name=t.name, dtype=DType(t.dtype.raw), shape=tuple(t.shape), data=bytes(t.data))

        def read(w: bytes) -> Any:
            with cs.Tensor.from_bytes(w, traversal_limit_in_words=_LIMIT) as t:
                return t.name

        def to_numpy(w: bytes) -> Any:
            with cs.Tensor.from_bytes(w, traversal_limit_in_words=_LIMIT) as t:
                return np.frombuffer(t.data, DType(t.dtype.raw).numpy).reshape(tuple(t.shape))

    return Impl(
        encode=lambda r: build(r).to_bytes(),
        decode=decode,
        read=read,
        to_native=build,  # a message builder filled before timing
        encode_native=to_bytes_again,
        to_numpy=to_numpy,
        why_no_native="pycapnp's readers are lazy views; decode-full is the record variant",
    )


# ---- the library table ------------------------------------------------------------------

# (format, lib, distribution name for the version, factory of a record kind)
LIBS: List[Tuple[str, str, str, Callable[[type], Impl]]] = [
    ("flatbuffers", "flatbuffers", "flatbuffers", flatbuffers_impl),
    ("capnp", "pycapnp", "pycapnp", capnp_impl),
    ("json", "json", "", std_json),
    ("json", "orjson", "orjson", orjson_impl),
    ("json", "msgspec", "msgspec", lambda k: msgspec_impl(k, "json")),
    ("msgpack", "msgpack", "msgpack", msgpack_impl),
    ("msgpack", "msgspec", "msgspec", lambda k: msgspec_impl(k, "msgpack")),
    ("protobuf", "protobuf-upb", "protobuf", protobuf_impl),
]


def check(impl: Impl, pool: List[Record], wires: List[bytes]) -> Optional[str]:
    """None if every decode and read returns the generated records' values,
    and every encoding decodes back, else what differs. Runs before timing."""
    for i, (rec, w) in enumerate(zip(pool, wires)):
        why = same_record(rec, impl.decode(w))
        if why:
            return f"decode-full check failed on record {i}: {why}"
        if impl.decode_native is not None:
            why = same_record(rec, impl.native_to_record(impl.decode_native(w)))
            if why:
                return f"decode-full (native) check failed on record {i}: {why}"
        if impl.read(w) != expected_field(rec):
            return f"read-one-field check failed on record {i}"
        if impl.encode_native is not None and impl.to_native is not None:
            why = same_record(rec, impl.decode(impl.encode_native(impl.to_native(rec))))
            if why:
                return f"encode (native) does not decode back on record {i}: {why}"
        if impl.to_numpy is not None:
            a = impl.to_numpy(w)
            if a.shape != tuple(rec.shape) or a.tobytes() != bytes(rec.data):
                return f"to-numpy check failed on record {i}"
    return None
