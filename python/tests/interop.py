"""Encoders and decoders built on the official libraries (flatbuffers, pycapnp,
protobuf, json, msgpack) for the interop tests. Each returns or takes the
crossbuf records."""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Dict

import numpy as np

import crossbuf as xb

from conftest import REFGEN

# ---- FlatBuffers ---------------------------------------------------------------

import flatbuffers  # noqa: E402
from crossbuf_fb import Attribute as FbAttribute  # noqa: E402
from crossbuf_fb import Http as FbHttp  # noqa: E402
from crossbuf_fb import LogEntry as FbLogEntry  # noqa: E402
from crossbuf_fb import Sample as FbSample  # noqa: E402
from crossbuf_fb import Tensor as FbTensor  # noqa: E402


def _np_or_empty(v: Any, dtype: str) -> np.ndarray:
    return np.asarray(v, dtype=dtype) if not isinstance(v, int) else np.zeros(0, dtype)


def fb_build(rec: xb.Record) -> bytes:
    b = flatbuffers.Builder(1024)
    if isinstance(rec, xb.LogEntry):
        svc, host, msg = b.CreateString(rec.service), b.CreateString(rec.host), b.CreateString(rec.message)
        tid = b.CreateByteVector(rec.trace_id)
        tag_offs = [b.CreateString(t) for t in rec.tags]
        FbLogEntry.StartTagsVector(b, len(tag_offs))
        for o in reversed(tag_offs):
            b.PrependUOffsetTRelative(o)
        tags = b.EndVector()
        attr_offs = []
        for k, v in rec.attributes.items():
            ko, vo = b.CreateString(k), b.CreateString(v)
            FbAttribute.Start(b)
            FbAttribute.AddKey(b, ko)
            FbAttribute.AddValue(b, vo)
            attr_offs.append(FbAttribute.End(b))
        FbLogEntry.StartAttributesVector(b, len(attr_offs))
        for o in reversed(attr_offs):
            b.PrependUOffsetTRelative(o)
        attrs = b.EndVector()
        meth, path = b.CreateString(rec.http.method), b.CreateString(rec.http.path)
        FbHttp.Start(b)
        FbHttp.AddMethod(b, meth)
        FbHttp.AddPath(b, path)
        FbHttp.AddStatus(b, rec.http.status)
        FbHttp.AddLatencyNs(b, rec.http.latency_ns)
        http = FbHttp.End(b)
        FbLogEntry.Start(b)
        FbLogEntry.AddTimestampNs(b, rec.timestamp_ns)
        FbLogEntry.AddLevel(b, int(rec.level))
        FbLogEntry.AddService(b, svc)
        FbLogEntry.AddHost(b, host)
        FbLogEntry.AddMessage(b, msg)
        FbLogEntry.AddTraceId(b, tid)
        FbLogEntry.AddTags(b, tags)
        FbLogEntry.AddAttributes(b, attrs)
        FbLogEntry.AddHttp(b, http)
        root = FbLogEntry.End(b)
    elif isinstance(rec, xb.Sample):
        feats = b.CreateNumpyVector(np.asarray(rec.features, np.float32))
        FbSample.Start(b)
        FbSample.AddTimestampNs(b, rec.timestamp_ns)
        FbSample.AddFeatures(b, feats)
        FbSample.AddLabel(b, rec.label)
        root = FbSample.End(b)
    else:
        name = b.CreateString(rec.name)
        shape = b.CreateNumpyVector(np.asarray(rec.shape, np.int64))
        data = b.CreateByteVector(bytes(rec.data))
        FbTensor.Start(b)
        FbTensor.AddName(b, name)
        FbTensor.AddDtype(b, int(rec.dtype))
        FbTensor.AddShape(b, shape)
        FbTensor.AddData(b, data)
        root = FbTensor.End(b)
    b.Finish(root)
    return bytes(b.Output())


def fb_read(buf: Any, rt: xb.RecordType) -> xb.Record:
    if rt == xb.RecordType.LOG_ENTRY:
        e = FbLogEntry.LogEntry.GetRootAs(buf, 0)
        h = e.Http()
        return xb.LogEntry(
            timestamp_ns=e.TimestampNs(),
            level=xb.Level(e.Level()),
            service=e.Service().decode(),
            host=e.Host().decode(),
            message=e.Message().decode(),
            trace_id=_np_or_empty(e.TraceIdAsNumpy(), "u1").tobytes(),
            tags=[e.Tags(i).decode() for i in range(e.TagsLength())],
            attributes={e.Attributes(i).Key().decode(): e.Attributes(i).Value().decode() for i in range(e.AttributesLength())},
            http=xb.Http(h.Method().decode(), h.Path().decode(), h.Status(), h.LatencyNs()),
        )
    if rt == xb.RecordType.SAMPLE:
        s = FbSample.Sample.GetRootAs(buf, 0)
        return xb.Sample(s.TimestampNs(), [float(x) for x in _np_or_empty(s.FeaturesAsNumpy(), "<f4")], s.Label())
    t = FbTensor.Tensor.GetRootAs(buf, 0)
    return xb.Tensor(
        name=t.Name().decode(),
        dtype=xb.DType(t.Dtype()),
        shape=tuple(int(d) for d in _np_or_empty(t.ShapeAsNumpy(), "<i8")),
        data=_np_or_empty(t.DataAsNumpy(), "u1").tobytes(),
    )


# ---- Cap'n Proto -----------------------------------------------------------------

import capnp  # noqa: E402

CAPNP = capnp.load(os.path.join(REFGEN, "crossbuf.capnp"))
_LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "fatal"]
_DTYPE_NAMES = [d.name.lower() for d in xb.DType]


def capnp_build(rec: xb.Record) -> bytes:
    if isinstance(rec, xb.LogEntry):
        m = CAPNP.LogEntry.new_message()
        m.timestampNs = rec.timestamp_ns
        m.level = _LEVEL_NAMES[rec.level]
        m.service, m.host, m.message = rec.service, rec.host, rec.message
        m.traceId = rec.trace_id
        tags = m.init("tags", len(rec.tags))
        for i, t in enumerate(rec.tags):
            tags[i] = t
        attrs = m.init("attributes", len(rec.attributes))
        for i, (k, v) in enumerate(rec.attributes.items()):
            attrs[i].key, attrs[i].value = k, v
        m.http.method, m.http.path = rec.http.method, rec.http.path
        m.http.status, m.http.latencyNs = rec.http.status, rec.http.latency_ns
    elif isinstance(rec, xb.Sample):
        m = CAPNP.Sample.new_message(timestampNs=rec.timestamp_ns, features=list(rec.features), label=rec.label)
    else:
        m = CAPNP.Tensor.new_message(name=rec.name, dtype=_DTYPE_NAMES[rec.dtype], shape=list(rec.shape), data=bytes(rec.data))
    return m.to_bytes()


def capnp_read(buf: Any, rt: xb.RecordType) -> xb.Record:
    kind = {1: CAPNP.LogEntry, 2: CAPNP.Sample, 3: CAPNP.Tensor}[int(rt)]
    with kind.from_bytes(buf, traversal_limit_in_words=1 << 30) as m:
        if rt == xb.RecordType.LOG_ENTRY:
            return xb.LogEntry(
                timestamp_ns=m.timestampNs,
                level=xb.Level(_LEVEL_NAMES.index(m.level)),
                service=m.service,
                host=m.host,
                message=m.message,
                trace_id=bytes(m.traceId),
                tags=list(m.tags),
                attributes={a.key: a.value for a in m.attributes},
                http=xb.Http(m.http.method, m.http.path, m.http.status, m.http.latencyNs),
            )
        if rt == xb.RecordType.SAMPLE:
            return xb.Sample(m.timestampNs, [float(x) for x in m.features], m.label)
        return xb.Tensor(name=m.name, dtype=xb.DType(_DTYPE_NAMES.index(m.dtype)), shape=tuple(m.shape), data=bytes(m.data))


# ---- Protobuf ----------------------------------------------------------------------

import crossbuf_pb2 as pb  # noqa: E402


def pb_build(rec: xb.Record) -> bytes:
    if isinstance(rec, xb.LogEntry):
        m = pb.LogEntry(
            timestamp_ns=rec.timestamp_ns,
            level=int(rec.level),
            service=rec.service,
            host=rec.host,
            message=rec.message,
            trace_id=rec.trace_id,
            tags=rec.tags,
            attributes=[pb.Attribute(key=k, value=v) for k, v in rec.attributes.items()],
            http=pb.Http(method=rec.http.method, path=rec.http.path, status=rec.http.status, latency_ns=rec.http.latency_ns),
        )
    elif isinstance(rec, xb.Sample):
        m = pb.Sample(timestamp_ns=rec.timestamp_ns, features=rec.features, label=rec.label)
    else:
        m = pb.Tensor(name=rec.name, dtype=int(rec.dtype), shape=list(rec.shape), data=bytes(rec.data))
    return m.SerializeToString()


def pb_read(buf: Any, rt: xb.RecordType) -> xb.Record:
    data = bytes(buf)
    if rt == xb.RecordType.LOG_ENTRY:
        m = pb.LogEntry.FromString(data)
        return xb.LogEntry(
            m.timestamp_ns, xb.Level(m.level), m.service, m.host, m.message, m.trace_id, list(m.tags),
            {a.key: a.value for a in m.attributes}, xb.Http(m.http.method, m.http.path, m.http.status, m.http.latency_ns),
        )
    if rt == xb.RecordType.SAMPLE:
        m = pb.Sample.FromString(data)
        return xb.Sample(m.timestamp_ns, list(m.features), m.label)
    m = pb.Tensor.FromString(data)
    return xb.Tensor(m.name, xb.DType(m.dtype), tuple(m.shape), m.data)


# ---- JSON and MessagePack: one map with the schemas' snake_case keys -----------------


def shape_of(rec: xb.Record, binary: Any) -> Dict[str, Any]:
    """The documented map shape; binary turns bytes into the format's byte type."""
    if isinstance(rec, xb.LogEntry):
        h = rec.http
        return {
            "timestamp_ns": rec.timestamp_ns,
            "level": int(rec.level),
            "service": rec.service,
            "host": rec.host,
            "message": rec.message,
            "trace_id": binary(rec.trace_id),
            "tags": list(rec.tags),
            "attributes": dict(rec.attributes),
            "http": {"method": h.method, "path": h.path, "status": h.status, "latency_ns": h.latency_ns},
        }
    if isinstance(rec, xb.Sample):
        return {"timestamp_ns": rec.timestamp_ns, "features": list(rec.features), "label": rec.label}
    return {"name": rec.name, "dtype": int(rec.dtype), "shape": list(rec.shape), "data": binary(bytes(rec.data))}


def record_of(d: Dict[str, Any], rt: xb.RecordType, unbinary: Any) -> xb.Record:
    if rt == xb.RecordType.LOG_ENTRY:
        h = d["http"]
        return xb.LogEntry(
            d["timestamp_ns"], xb.Level(d["level"]), d["service"], d["host"], d["message"], unbinary(d["trace_id"]),
            list(d["tags"]), dict(d["attributes"]), xb.Http(h["method"], h["path"], h["status"], h["latency_ns"]),
        )
    if rt == xb.RecordType.SAMPLE:
        # float32 values may come back printed shortest-for-float32: round to float32
        return xb.Sample(d["timestamp_ns"], [float(np.float32(x)) for x in d["features"]], d["label"])
    return xb.Tensor(d["name"], xb.DType(d["dtype"]), tuple(d["shape"]), unbinary(d["data"]))


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def json_build(rec: xb.Record) -> bytes:
    return json.dumps(shape_of(rec, _b64), ensure_ascii=False).encode()


def json_read(buf: Any, rt: xb.RecordType) -> xb.Record:
    return record_of(json.loads(bytes(buf)), rt, base64.b64decode)


import msgpack  # noqa: E402


def msgpack_build(rec: xb.Record) -> bytes:
    return msgpack.packb(shape_of(rec, bytes), use_bin_type=True)


def msgpack_read(buf: Any, rt: xb.RecordType) -> xb.Record:
    return record_of(msgpack.unpackb(bytes(buf), raw=False), rt, bytes)


BUILD = {
    xb.Codec.FLATBUFFERS: fb_build,
    xb.Codec.CAPNP: capnp_build,
    xb.Codec.PROTOBUF: pb_build,
    xb.Codec.JSON: json_build,
    xb.Codec.MSGPACK: msgpack_build,
}
READ = {
    xb.Codec.FLATBUFFERS: fb_read,
    xb.Codec.CAPNP: capnp_read,
    xb.Codec.PROTOBUF: pb_read,
    xb.Codec.JSON: json_read,
    xb.Codec.MSGPACK: msgpack_read,
}
