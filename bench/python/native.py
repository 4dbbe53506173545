"""Context 2: the best native Python libraries on crossbuf's records.

Every library gets the same records (crossbuf.testdata, seed 1) and the wire
shapes of the Go baselines: JSON objects with snake_case keys, bytes as
base64 (JSON) or bin (MessagePack); the official FlatBuffers, Protobuf and
Cap'n Proto runtimes use the generated code in python/refgen.

decode-full produces the crossbuf dataclass with every field as a Python
object (str, list, dict, bytes), except msgspec, which decodes into its own
Structs (fully materialised, its native typed objects). read-one-field
returns LogEntry.message, Sample.label or Tensor.name; the libraries that
cannot skip parse the whole record first.
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
    """One library's operations on one record. None marks a missing cell."""

    encode: Optional[Callable[[], bytes]]
    decode: Optional[Callable[[bytes], Any]]
    read: Optional[Callable[[bytes], Any]]
    wire: bytes = b""
    # the decoded value as a crossbuf dataclass, for the check before timing
    to_record: Callable[[Any], Any] = lambda x: x


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


def field_key(rec: Record) -> str:
    return "message" if isinstance(rec, LogEntry) else "label" if isinstance(rec, Sample) else "name"


def dict_impl(rec: Record, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any], b64: bool) -> Impl:
    kind, key = type(rec), field_key(rec)
    impl = Impl(
        encode=lambda: dumps(to_dict(rec, b64)),
        decode=lambda w: from_dict(kind, loads(w), b64),
        read=lambda w: loads(w)[key],
    )
    impl.wire = impl.encode()  # type: ignore[misc]
    return impl


def std_json(rec: Record) -> Impl:
    import json

    return dict_impl(rec, lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode(), json.loads, True)


def orjson_impl(rec: Record) -> Impl:
    import orjson

    def default(o: Any) -> Any:
        if isinstance(o, (bytes, memoryview)):
            return base64.b64encode(o).decode()
        raise TypeError

    kind, key = type(rec), field_key(rec)
    # orjson serialises dataclasses (and IntEnum) natively; bytes go through default.
    impl = Impl(
        encode=lambda: orjson.dumps(rec, default=default),
        decode=lambda w: from_dict(kind, orjson.loads(w), True),
        read=lambda w: orjson.loads(w)[key],
    )
    impl.wire = impl.encode()  # type: ignore[misc]
    return impl


def msgpack_impl(rec: Record) -> Impl:
    import msgpack

    # single floats: the features are float32, as on the Go side.
    return dict_impl(
        rec,
        lambda o: msgpack.packb(o, use_bin_type=True, use_single_float=True),
        lambda w: msgpack.unpackb(w, raw=False),
        False,
    )


# ---- msgspec Structs ------------------------------------------------------------

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


def msgspec_impl(rec: Record, fmt: str) -> Impl:
    import msgspec

    mod = msgspec.json if fmt == "json" else msgspec.msgpack
    full, one, attr = msgspec_types()[type(rec).__name__]
    enc = mod.Encoder()
    dec_full, dec_one = mod.Decoder(full), mod.Decoder(one)
    s = to_struct(rec)
    impl = Impl(
        encode=lambda: enc.encode(s),
        decode=dec_full.decode,
        read=lambda w: getattr(dec_one.decode(w), attr),
        to_record=from_struct,
    )
    impl.wire = impl.encode()  # type: ignore[misc]
    return impl


# ---- Protobuf (upb) ----------------------------------------------------------------


def protobuf_impl(rec: Record) -> Impl:
    import crossbuf_pb2 as pb

    if isinstance(rec, LogEntry):
        h = rec.http
        m = pb.LogEntry(
            timestamp_ns=rec.timestamp_ns, level=int(rec.level), service=rec.service, host=rec.host,
            message=rec.message, trace_id=bytes(rec.trace_id), tags=rec.tags,
            attributes=[pb.Attribute(key=k, value=v) for k, v in rec.attributes.items()],
            http=pb.Http(method=h.method, path=h.path, status=h.status, latency_ns=h.latency_ns),
        )  # fmt: skip

        def decode(w: bytes) -> Record:
            m = pb.LogEntry.FromString(w)
            h = m.http
            return LogEntry(
                timestamp_ns=m.timestamp_ns, level=Level(m.level), service=m.service, host=m.host,
                message=m.message, trace_id=m.trace_id, tags=list(m.tags),
                attributes={a.key: a.value for a in m.attributes},
                http=Http(method=h.method, path=h.path, status=h.status, latency_ns=h.latency_ns),
            )  # fmt: skip

        def read(w: bytes) -> Any:
            return pb.LogEntry.FromString(w).message

    elif isinstance(rec, Sample):
        m = pb.Sample(timestamp_ns=rec.timestamp_ns, features=rec.features, label=rec.label)

        def decode(w: bytes) -> Record:
            m = pb.Sample.FromString(w)
            return Sample(timestamp_ns=m.timestamp_ns, features=list(m.features), label=m.label)

        def read(w: bytes) -> Any:
            return pb.Sample.FromString(w).label

    else:
        m = pb.Tensor(name=rec.name, dtype=int(rec.dtype), shape=rec.shape, data=bytes(rec.data))

        def decode(w: bytes) -> Record:
            m = pb.Tensor.FromString(w)
            return Tensor(name=m.name, dtype=DType(m.dtype), shape=tuple(m.shape), data=m.data)

        def read(w: bytes) -> Any:
            return pb.Tensor.FromString(w).name

    # upb parses lazily into C structures; decode-full walks every field.
    impl = Impl(encode=m.SerializeToString, decode=decode, read=read)
    impl.wire = impl.encode()  # type: ignore[misc]
    return impl


# ---- FlatBuffers (official runtime + flatc code) ----------------------------------------


def flatbuffers_impl(rec: Record) -> Impl:
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

    if isinstance(rec, LogEntry):

        def encode() -> bytes:
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

    elif isinstance(rec, Sample):

        def encode() -> bytes:
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

        def encode() -> bytes:
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

    impl = Impl(encode=encode, decode=decode, read=read)
    impl.wire = encode()
    return impl


# ---- Cap'n Proto (pycapnp) ----------------------------------------------------------------

_CAPNP: List[Any] = []


def capnp_schema() -> Any:
    if not _CAPNP:
        import capnp

        _CAPNP.append(capnp.load(os.path.join(ROOT, "python", "refgen", "crossbuf.capnp")))
    return _CAPNP[0]


# Cap'n Proto's default traversal limit (64 MiB) is below the 64 MB tensor.
_LIMIT = 1 << 40


def capnp_impl(rec: Record) -> Impl:
    cs = capnp_schema()
    if isinstance(rec, LogEntry):

        def encode() -> bytes:
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
            return m.to_bytes()

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

    elif isinstance(rec, Sample):

        def encode() -> bytes:
            m = cs.Sample.new_message(timestampNs=rec.timestamp_ns, label=rec.label)
            m.features = rec.features
            return m.to_bytes()

        def decode(w: bytes) -> Record:
            with cs.Sample.from_bytes(w, traversal_limit_in_words=_LIMIT) as s:
                return Sample(timestamp_ns=s.timestampNs, features=list(s.features), label=s.label)

        def read(w: bytes) -> Any:
            with cs.Sample.from_bytes(w, traversal_limit_in_words=_LIMIT) as s:
                return s.label

    else:

        def encode() -> bytes:
            m = cs.Tensor.new_message(name=rec.name, dtype=int(rec.dtype))
            m.shape = list(rec.shape)
            m.data = bytes(rec.data)
            return m.to_bytes()

        def decode(w: bytes) -> Record:
            with cs.Tensor.from_bytes(w, traversal_limit_in_words=_LIMIT) as t:
                return Tensor(name=t.name, dtype=DType(t.dtype.raw), shape=tuple(t.shape), data=bytes(t.data))

        def read(w: bytes) -> Any:
            with cs.Tensor.from_bytes(w, traversal_limit_in_words=_LIMIT) as t:
                return t.name

    impl = Impl(encode=encode, decode=decode, read=read)
    impl.wire = encode()
    return impl


# ---- the library table ------------------------------------------------------------------

# (format, lib, distribution name for the version, factory)
LIBS: List[Tuple[str, str, str, Callable[[Record], Impl]]] = [
    ("flatbuffers", "flatbuffers", "flatbuffers", flatbuffers_impl),
    ("capnp", "pycapnp", "pycapnp", capnp_impl),
    ("json", "json", "", std_json),
    ("json", "orjson", "orjson", orjson_impl),
    ("json", "msgspec", "msgspec", lambda r: msgspec_impl(r, "json")),
    ("msgpack", "msgpack", "msgpack", msgpack_impl),
    ("msgpack", "msgspec", "msgspec", lambda r: msgspec_impl(r, "msgpack")),
    ("protobuf", "protobuf-upb", "protobuf", protobuf_impl),
]


def check(impl: Impl, rec: Record) -> Optional[str]:
    """None if decode-full and read-one-field return the generated record's
    values, else what differs. Runs before any timing."""
    got = impl.to_record(impl.decode(impl.wire))  # type: ignore[misc]
    why = same_record(rec, got)
    if why:
        return "decode-full check failed: " + why
    if impl.read is not None and impl.read(impl.wire) != expected_field(rec):
        return "read-one-field check failed"
    return None
