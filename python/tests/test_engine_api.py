"""The record API on the schema engine: Region.encode / decode / view of a
loaded schema's record classes, the bundled schema, generated enums, and
encode errors that name the field."""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any

import msgspec
import numpy as np
import pytest

import crossbuf as xb

from conftest import conformance

LOG = "crossbuf_fb.LogEntry"


def _log_entry(seed: int) -> Any:
    """The bundled testdata LogEntry of seed as the engine's record class."""
    fb = xb.bundled.schema()
    rec = xb.testdata.log_entry(seed)
    return fb[LOG](
        timestamp_ns=rec.timestamp_ns, level=int(rec.level), service=rec.service, host=rec.host, message=rec.message,
        trace_id=list(rec.trace_id), tags=list(rec.tags),
        attributes=[fb["crossbuf_fb.Attribute"](key=k, value=v) for k, v in rec.attributes.items()],
        http=fb["crossbuf_fb.Http"](method=rec.http.method, path=rec.http.path, status=rec.http.status,
                                    latency_ns=rec.http.latency_ns))


def test_bundled_schemas_load_without_a_compiler() -> None:
    fb, cp = xb.bundled.schema(xb.Codec.FLATBUFFERS), xb.bundled.schema(xb.Codec.CAPNP)
    assert xb.bundled.schema() is fb
    assert fb[LOG].__struct_fields__[:3] == ("timestamp_ns", "level", "service")
    assert "timestampNs" in cp["crossbuf.capnp:LogEntry"].__struct_fields__
    with pytest.raises(xb.UnknownCodecError):
        xb.bundled.schema(xb.Codec.JSON)


def test_bundled_schema_reads_the_per_record_frames(region: xb.Region) -> None:
    """The FlatBuffers and Cap'n Proto frames the bundled-record encoder
    writes are messages of the bundled schemas."""
    rec = xb.testdata.log_entry(3)
    for codec, name in ((xb.Codec.FLATBUFFERS, LOG), (xb.Codec.CAPNP, "crossbuf.capnp:LogEntry")):
        f = region.encode(rec, codec)
        got = xb.bundled.schema(codec).to_record(bytes(f.payload), type=name)
        assert got.service == rec.service and got.http.path == rec.http.path
        del f


def test_encode_decode_view(region: xb.Region) -> None:
    recs = [_log_entry(s) for s in range(6)]
    frames = [region.encode(r) for r in recs]
    tid = xb.bundled.schema().type_id(LOG)
    assert {f.type_id for f in frames} == {tid} and frames[0].codec == xb.Codec.FLATBUFFERS
    assert [region.decode(f) for f in frames] == recs
    assert region.decode(frames[1].offset) == recs[1]
    assert region.decode_many(frames) == recs
    old = region.encode(xb.testdata.log_entry(9), xb.Codec.JSON)
    mixed = region.decode_many([frames[0], old, frames[2]])
    assert mixed == [recs[0], xb.testdata.log_entry(9), recs[2]]
    v = region.view(frames[2])
    assert isinstance(v, xb.RecordView)
    assert v.service == recs[2].service and v.http.path == recs[2].http.path
    assert v.level == recs[2].level and isinstance(v.level, IntEnum)
    assert v.tags == recs[2].tags and v.attributes == recs[2].attributes
    with pytest.raises(AttributeError, match="LogEntry has no field 'nope'"):
        v.nope  # noqa: B018
    # One class per type, its fields as properties (tab completion, dir).
    assert type(v) is type(region.view(frames[0])) and type(v).__name__ == "LogEntryView"
    assert {"service", "http", "attributes"} <= set(dir(v))
    assert type(v.http) is not type(v) and "path" in dir(v.http)
    del frames, old, v


def test_unknown_type_id_is_named(region: xb.Region) -> None:
    f = region.append_raw(xb.Codec.FLATBUFFERS, 0xDEADBEEF, b"\0" * 16)
    with pytest.raises(xb.UnknownTypeError, match="0x00000000deadbeef"):
        region.decode(f)
    with pytest.raises(xb.UnknownTypeError):
        region.view(f)
    del f


def test_encode_other_objects(region: xb.Region) -> None:
    class Stranger(msgspec.Struct):
        x: int = 0

    with pytest.raises(xb.RecordTypeError):
        region.encode(Stranger())


@pytest.mark.parametrize(
    "fields, where",
    [
        ({"timestamp_ns": 2**64 + 5}, "timestamp_ns"),
        ({"timestamp_ns": 2**63}, "timestamp_ns"),
        ({"level": 300}, "level"),
        ({"service": "bad \ud800 surrogate"}, "service"),
        ({"service": 5}, "service"),
        ({"tags": ["ok", 2**70]}, r"tags\[1\]"),
        ({"tags": ["ok", "\udfff"]}, r"tags\[1\]"),
        ({"trace_id": [1, 256]}, r"trace_id\[1\]"),
    ],
)
def test_bad_values_name_the_field(region: xb.Region, fields: Any, where: str) -> None:
    rec = msgspec.structs.replace(_log_entry(1), **fields)
    before = region.stats()
    with pytest.raises(xb.InvalidRecordError, match=f"crossbuf_fb.LogEntry: {where}"):
        region.encode(rec)
    with pytest.raises(xb.InvalidRecordError, match=where):
        xb.bundled.schema().encode(region, fields, type=LOG)
    after = region.stats()
    assert (after.frame_count, after.used) == (before.frame_count, before.used), "nothing committed"


def test_float32_overflow_is_an_error(region: xb.Region) -> None:
    sample = xb.bundled.schema()["crossbuf_fb.Sample"]
    f = region.encode(sample(features=[3.4e38, -1.5], label=2))
    assert region.decode(f).features == [pytest.approx(3.4e38, rel=1e-7), -1.5]
    for bad in (1e39, -1e39):
        with pytest.raises(xb.InvalidRecordError, match=r"features\[1\]"):
            region.encode(sample(features=[0.0, bad]))
    with pytest.raises(xb.InvalidRecordError, match="label"):
        region.encode(sample(label=2**31))
    # A value that rounds to the largest float32 (as numpy prints it) is that float32.
    g = region.encode(sample(features=[3.4028235e38]))
    assert region.decode(g).features == [float(np.finfo(np.float32).max)]
    with pytest.raises(xb.InvalidRecordError, match=r"features\[0\]"):
        region.encode(sample(features=[3.4028236e38]))
    del f, g


@pytest.mark.parametrize("codec", [xb.Codec.FLATBUFFERS, xb.Codec.CAPNP])
def test_bytes_are_not_text(region: xb.Region, codec: int) -> None:
    """Bytes given for a string field are refused in both formats (they may
    not be UTF-8), and nothing is committed."""
    s = xb.bundled.schema(codec)
    name = xb.bundled.type_name(codec, xb.RecordType.LOG_ENTRY)
    before = region.stats().frame_count
    with pytest.raises(xb.InvalidRecordError, match="service: want a string, got bytes"):
        s.encode(region, {"service": b"\xff\xfe"}, name)
    # And text is not bytes: "text" is not taken as base64 (what JSON, and
    # encode_json, carry bytes as).
    trace = "trace_id" if codec == xb.Codec.FLATBUFFERS else "traceId"
    with pytest.raises(xb.InvalidRecordError, match=f"{trace}: want bytes, got a string"):
        s.encode(region, {trace: "text"}, name)
    assert region.stats().frame_count == before


def test_generated_enums_keep_unknown_values(region: xb.Region) -> None:
    fb = xb.bundled.schema()
    level = fb.record_class(LOG).__struct_fields__  # the class is built
    assert level
    classes = fb._classes()
    lv = classes.enums["crossbuf_fb.Level"]
    assert issubclass(lv, IntEnum) and lv(2) is lv.Info and lv["Fatal"] == 5
    odd = lv(42)
    assert isinstance(odd, lv) and odd == 42 and odd.value == 42
    # msgspec's typed decode goes through the same hook.
    dec = msgspec.msgpack.Decoder(fb[LOG])
    got = dec.decode(msgspec.msgpack.encode({"level": 99}))
    assert isinstance(got.level, lv) and got.level == 99
    # An unknown value a newer writer stored survives a decode.
    f = region.encode(msgspec.structs.replace(_log_entry(1), level=lv(77)))
    assert region.decode(f).level == 77 and region.view(f).level == 77
    del f


def test_monster_enums_and_union_tags() -> None:
    d = conformance("flatbuffers")
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
        data = fh.read()
    with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:
        m = s.to_record(data)
        assert isinstance(m.color, IntEnum) and m.color.name == "Blue"
        assert isinstance(m.test_type, IntEnum) and m.test_type.name == "Monster"
        assert m.signed_enum == -1
        stubs = s.stubs()
        assert "class MyGame_Example_Color(IntEnum):" in stubs and "    None_ = -1" in stubs


def test_prefault_keeps_frames_and_reports_closed() -> None:
    r = xb.Region.anonymous(1 << 20)
    rec = _log_entry(2)
    off = r.encode(rec).offset
    r.prefault()
    assert r.decode(off) == rec
    r.close()
    with pytest.raises(xb.ClosedError):
        r.prefault()
    with pytest.raises(xb.ClosedError):
        r.decode(off)


@pytest.mark.parametrize("codec, source", [(xb.Codec.FLATBUFFERS, "schemas/crossbuf.fbs"),
                                           (xb.Codec.CAPNP, "python/refgen/crossbuf.capnp")])
def test_bundled_binaries_match_the_schemas(codec: xb.Codec, source: str) -> None:
    """The shipped binary schemas are what ./build.sh gen makes of schemas/."""
    import shutil

    from conftest import ROOT

    if shutil.which("flatc" if codec == xb.Codec.FLATBUFFERS else "capnp") is None:
        pytest.skip("the reference compiler is not installed (./build.sh test installs it)")
    if codec == xb.Codec.CAPNP:
        import subprocess

        # compiled from its own folder, as gen.sh does: node names carry the path
        d, name = os.path.split(os.path.join(ROOT, source))
        src: Any = subprocess.run(["capnp", "compile", "--no-standard-import", "-o-", name], cwd=d,
                                  capture_output=True, check=True).stdout
    else:
        src = os.path.join(ROOT, source)
    with xb.Schema.load(src) as fresh:
        want = fresh._classes().types
    assert xb.bundled.schema(codec)._classes().types == want, "run ./build.sh gen"


def test_byte_vectors_read_in_place(region: xb.Region) -> None:
    """A [ubyte] field read by path or view is region memory: numpy arrays
    over it share the mapping, and the region refuses to close meanwhile."""
    import numpy as np

    fb = xb.bundled.schema()
    tensor = fb["crossbuf_fb.Tensor"]
    data = np.arange(64, dtype="<f4")
    f = region.encode(tensor(name="t", dtype=9, shape=[8, 8], data=list(data.tobytes())))
    mv = fb.path("crossbuf_fb.Tensor", "data").read(f)
    assert isinstance(mv, memoryview) and mv.readonly and bytes(mv) == data.tobytes()
    v = region.view(f)
    arr = np.frombuffer(v.data, dtype="<f4").reshape(v.shape)
    assert np.shares_memory(arr, np.frombuffer(region.buffer, dtype=np.uint8))
    assert (arr == data.reshape(8, 8)).all()
    with pytest.raises(xb.RegionInUseError):
        region.reset()
    del mv, arr, v, f
    region.reset()


def test_single_frame_calls_check_the_frame(region: xb.Region) -> None:
    fb = xb.bundled.schema()
    f = region.encode(_log_entry(1))
    svc, status = fb.path(LOG, "service"), fb.path(LOG, "http.status")
    assert svc.read(f) == _log_entry(1).service and status.read(f) == _log_entry(1).http.status
    assert fb.path(LOG, "http.latency_ns").read(f) == _log_entry(1).http.latency_ns
    region.reset()
    region.encode(_log_entry(2))
    for call in (lambda: svc.read(f), lambda: region.decode(f), lambda: status.read_many([f])):
        with pytest.raises(xb.StaleFrameError):
            call()
    with xb.Region.anonymous(1 << 16) as other:
        with pytest.raises(xb.StaleFrameError):
            other.decode(f)
    del f


def test_enum_values_with_names_enum_reserves_are_renamed() -> None:
    """Values named like what Enum keeps for itself (mro, name, _sunder_,
    __dunder__) get attribute names of their own; the enum stays an enum."""
    import json

    from crossbuf.records_gen import Classes

    desc = {"format": "flatbuffers", "types": [
        {"name": "t.E", "kind": "enum", "values": [{"name": "mro", "value": 1}]},
        {"name": "t.F", "kind": "enum", "values": [{"name": "ok", "value": 1}]},
        {"name": "t.T", "kind": "table", "fields": [
            {"name": "e", "type": {"kind": "enum", "type": "t.E"}, "default": 1},
            {"name": "f", "type": {"kind": "enum", "type": "t.F"}, "default": 1}]}]}
    c = Classes(json.dumps(desc).encode(), "crossbuf.schemas.test_reserved")
    rec = msgspec.msgpack.decode(msgspec.msgpack.encode({"e": 1, "f": 7}), type=c.by_type["t.T"])
    E = c.enums["t.E"]
    assert rec.e is E.mro_ and rec.e == 1
    assert isinstance(rec.f, c.enums["t.F"]) and rec.f == 7
    assert "t.E" not in c.by_type, "an enum is not a record class"


def test_json_round_trips_through_encode_json(region: xb.Region) -> None:
    """to_json's text encodes back (encode_json) to a message with the same
    JSON, in both formats: Cap'n Proto's 64-bit integers as strings too."""
    import shutil
    import subprocess

    d = conformance("capnp")
    if shutil.which("capnp") is None:
        pytest.skip("capnp not installed (./build.sh test installs it)")
    req = subprocess.run(["capnp", "compile", "--no-standard-import", "-I", ".", "-o-", "capnp/test.capnp"], cwd=d,
                         check=True, capture_output=True).stdout
    with open(os.path.join(d, "capnp", "testdata", "binary"), "rb") as f:
        binary = f.read()
    with xb.Schema.load(req) as s:
        text = s.to_json(binary, type="TestAllTypes")
        again = s.encode_json(region, text, "TestAllTypes")
        assert s.to_json(again) == text
        with pytest.raises(xb.InvalidRecordError, match="int8Field"):
            s.encode_json(region, '{"int8Field": 300}', "TestAllTypes")
        with pytest.raises(xb.InvalidArgumentError):
            s.encode_json(region, "{not json", "TestAllTypes")
    fb = xb.bundled.schema()
    f = region.encode(_log_entry(3))
    assert fb.to_json(fb.encode_json(region, fb.to_json(f), LOG)) == fb.to_json(f)
    del f, again
