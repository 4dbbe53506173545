"""Every codec × record type: encode, decode, compare with the testdata records."""

from __future__ import annotations

import re

import msgspec
import numpy as np
import pytest

import crossbuf as xb

from conftest import ALL_CODECS, records_of


@pytest.mark.parametrize("rt", list(xb.RecordType), ids=lambda r: r.name)
@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_encode_decode_one(region: xb.Region, codec: xb.Codec, rt: xb.RecordType) -> None:
    for rec in records_of(rt):
        frame = region.encode(rec, codec)
        assert frame.codec == codec and frame.type_id == rt
        assert frame.len == len(frame.payload) > 0 or rt == xb.RecordType.TENSOR
        assert region.decode(frame) == rec
        assert region.decode(frame.offset) == rec
        assert type(region.decode(frame)) is type(rec)
        del frame


@pytest.mark.parametrize("rt", list(xb.RecordType), ids=lambda r: r.name)
@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_encode_many_decode_many(region: xb.Region, codec: xb.Codec, rt: xb.RecordType) -> None:
    recs = records_of(rt) * 3
    frames = region.encode_many(recs, codec)
    assert len(frames) == len(recs)
    assert [f.offset for f in frames] == sorted(f.offset for f in frames)
    assert region.decode_many(frames) == recs
    assert region.decode_many([f.offset for f in frames]) == recs
    listed = list(region.frames())
    assert [f.offset for f in listed] == [f.offset for f in frames]
    assert region.stats().frame_count == len(recs)


def _fields(codec: xb.Codec, rec: object) -> dict:
    """rec's fields under the bundled schema's names in codec's IDL
    (Cap'n Proto names are camelCase)."""
    d = msgspec.structs.asdict(rec)  # type: ignore[arg-type]
    if codec == xb.Codec.CAPNP:
        d = {re.sub(r"_(.)", lambda m: m.group(1).upper(), k): v for k, v in d.items()}
    return d


def test_log_entry_view_fields(region: xb.Region) -> None:
    """FlatBuffers and Cap'n Proto frames view in place as the bundled
    schema's type; the baselines have no in-place form and decode."""
    rec = xb.testdata.log_entry(3)
    for codec in ALL_CODECS:
        v = region.view(region.encode(rec, codec))
        if not codec.zero_copy:
            assert v == rec
            continue
        assert isinstance(v, xb.RecordView)
        want = _fields(codec, rec)
        ts = "timestamp_ns" if codec == xb.Codec.FLATBUFFERS else "timestampNs"
        assert getattr(v, ts) == rec.timestamp_ns
        assert v.level == rec.level
        assert v.service == rec.service and v.host == rec.host and v.message == rec.message
        assert bytes(getattr(v, "trace_id" if codec == xb.Codec.FLATBUFFERS else "traceId")) == rec.trace_id
        assert v.tags == rec.tags
        assert [(a.key, a.value) for a in v.attributes] == list(rec.attributes.items())
        assert v.http.method == rec.http.method and v.http.path == rec.http.path and v.http.status == rec.http.status
        assert set(want) <= set(dir(xb.bundled.schema(codec)[xb.bundled.type_name(codec, 1)]))
        del v


def test_tensor_view_data_is_region_memory(region: xb.Region) -> None:
    rec = xb.testdata.tensor(9, 4096)
    for codec in (xb.Codec.FLATBUFFERS, xb.Codec.CAPNP):
        f = region.encode(rec, codec)
        v = region.view(f)
        a = np.frombuffer(v.data, dtype=xb.DType(v.dtype).numpy).reshape(tuple(v.shape))
        assert a.dtype == np.dtype("<f4") and a.shape == (4, 256)
        assert np.array_equal(a, rec.array())
        assert not a.flags.writeable
        lo = region.address
        assert lo <= a.ctypes.data < lo + region.capacity, "the array is over region memory, no copy"
        del a, v, f


@pytest.mark.parametrize("dtype", ["u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8"])
def test_tensor_from_array_every_dtype(region: xb.Region, dtype: str) -> None:
    arr = (np.arange(24) * 3 - 7).astype(dtype).reshape(2, 3, 4)
    t = xb.Tensor.from_array("t", arr)
    assert t.dtype.numpy == np.dtype(dtype)
    for codec in ALL_CODECS:
        got = region.decode(region.encode(t, codec))
        assert got.dtype == t.dtype and got.shape == (2, 3, 4)
        assert np.array_equal(got.array(), arr)


def test_mixed_record_types_decode_many(region: xb.Region) -> None:
    recs = [xb.testdata.log_entry(1), xb.testdata.sample(2), xb.testdata.tensor(3, 64), xb.testdata.log_entry(4)]
    frames = [region.encode(r, c) for r, c in zip(recs, [xb.Codec.FLATBUFFERS, xb.Codec.JSON, xb.Codec.CAPNP, xb.Codec.PROTOBUF])]
    assert region.decode_many(frames) == recs


def test_one_field_of_many_frames_by_path(region: xb.Region) -> None:
    """A path compiled once on the bundled schema reads the frames the
    per-record codec wrote (type ids 1-3) in one call."""
    recs = [xb.testdata.log_entry(s) for s in range(10)]
    for codec in (xb.Codec.FLATBUFFERS, xb.Codec.CAPNP):
        frames = region.encode_many(recs, codec)
        s = xb.bundled.schema(codec)
        name = xb.bundled.type_name(codec, xb.RecordType.LOG_ENTRY)
        assert s.path(name, "service").read_many(frames) == [r.service for r in recs]
        assert s.path(name, "http.path").read_many(frames) == [r.http.path for r in recs]
        assert s.path(name, "message").read(frames[3]) == recs[3].message
        tframes = region.encode_many([xb.testdata.tensor(5, 64)], codec)
        assert s.path(xb.bundled.type_name(codec, xb.RecordType.TENSOR), "name").read_many(tframes) == ["tensor-5"]
        # a path reads only its own type, and only its own format
        with pytest.raises(xb.RecordTypeError):
            s.path(name, "service").read(tframes[0])
        other = xb.Codec.CAPNP if codec == xb.Codec.FLATBUFFERS else xb.Codec.FLATBUFFERS
        with pytest.raises(xb.RecordTypeError):
            s.path(name, "service").read(region.encode(recs[0], other))
        with pytest.raises(xb.RecordTypeError):
            s.path(name, "service").read(region.encode(recs[0], xb.Codec.JSON))
        del frames, tframes


def test_string_path_as_a_view_of_its_utf8_bytes(region: xb.Region) -> None:
    """text="view": a string field read in place as a read-only memoryview
    of its UTF-8 bytes (single and batch reads), other kinds unchanged."""
    recs = [xb.testdata.log_entry(s) for s in range(6)]
    recs[2].message = ""
    for codec in (xb.Codec.FLATBUFFERS, xb.Codec.CAPNP):
        frames = region.encode_many(recs, codec)
        s = xb.bundled.schema(codec)
        name = xb.bundled.type_name(codec, xb.RecordType.LOG_ENTRY)
        message = s.path(name, "message", text="view")
        one = message.read(frames[1])
        assert isinstance(one, memoryview) and one.readonly
        assert bytes(one) == recs[1].message.encode() and str(one, "utf-8") == recs[1].message
        views = message.read_many(frames)
        strs = s.path(name, "message").read_many(frames)
        # The record codecs leave an empty string out: flatc reads that as
        # no string, capnp (a null Text) as "".
        if codec == xb.Codec.FLATBUFFERS:
            assert strs[2] is None and views[2] is None
        else:
            assert strs[2] == "" and bytes(views[2]) == b""
        assert [None if v is None else str(v, "utf-8") for v in views] == strs
        assert strs[:2] + strs[3:] == [r.message for r in recs[:2] + recs[3:]]
        assert s.path(name, "http.status", text="view").read(frames[0]) == recs[0].http.status
        with pytest.raises(xb.InvalidArgumentError):
            s.path(name, "message", text="bytes")  # type: ignore[arg-type]
        del frames, one, views


def test_bundled_schema_decodes_record_frames(region: xb.Region) -> None:
    """Schema.to_record and to_json of the bundled schema take the frames
    of the per-record codecs (the type names resolve through the alias)."""
    rec = xb.testdata.log_entry(2)
    for codec in (xb.Codec.FLATBUFFERS, xb.Codec.CAPNP):
        f = region.encode(rec, codec)
        s = xb.bundled.schema(codec)
        got = s.to_record(f)
        assert type(got) is s[xb.bundled.type_name(codec, 1)]
        assert got.service == rec.service and got.tags == rec.tags
        assert [(a.key, a.value) for a in got.attributes] == list(rec.attributes.items())
        assert '"service"' in s.to_json(f)
        del f


def test_frames_listing_and_stats(region: xb.Region) -> None:
    n = 600  # more than one listing batch
    frames = region.encode_many([xb.testdata.sample(i) for i in range(n)], xb.Codec.FLATBUFFERS)
    listed = list(region.frames())
    assert [f.offset for f in listed] == [f.offset for f in frames]
    batch, cursor = region.list_frames(0, 10)
    assert len(batch) == 10
    batch2, _ = region.list_frames(cursor, 10)
    assert batch2[0].offset == frames[10].offset
    assert region.frame(frames[5].offset).offset == frames[5].offset
    st = region.stats()
    assert st.frame_count == n and st.generation == 1 and st.used > 0
    assert st.capacity == region.capacity
    del frames, listed, batch, batch2
    region.reset()
    assert list(region.frames()) == []
    assert region.stats().generation == 2 and region.stats().frame_count == 0


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_decode_records(region: xb.Region, codec: xb.Codec) -> None:
    recs = [xb.testdata.log_entry(i) for i in range(20)] + [xb.testdata.sample(i) for i in range(5)]
    recs.append(xb.testdata.tensor(2, 256))
    frames = [region.encode(r, codec) for r in recs]
    got = region.decode_many(frames)
    assert got == recs
    assert [type(g) for g in got] == [type(r) for r in recs]
    assert region.decode_many([f.offset for f in frames[:3]]) == recs[:3]
    del frames


def test_vectors_of_numbers_read_in_place_as_numpy(region: xb.Region) -> None:
    recs = [xb.testdata.sample(s) for s in range(4)]
    for codec in (xb.Codec.FLATBUFFERS, xb.Codec.CAPNP):
        frames = region.encode_many(recs, codec)
        p = xb.bundled.schema(codec).path(xb.bundled.type_name(codec, xb.RecordType.SAMPLE), "features")
        got = p.read_many(frames)
        one = p.read(frames[2])
        assert all(isinstance(a, np.ndarray) and a.dtype == np.dtype("<f4") for a in got)
        assert [a.tolist() for a in got] == [r.features for r in recs]
        assert np.array_equal(one, got[2]) and not one.flags.writeable
        mem = np.frombuffer(region.buffer, np.uint8)
        assert np.shares_memory(one, mem), "over region memory, no copy"
        assert all(np.shares_memory(a, mem) for a in got)
        view = region.view(frames[1])
        assert view.features.tolist() == recs[1].features
        del frames, got, one, view, mem
    # Byte vectors: memoryviews of region memory, absent ones None.
    fb = xb.bundled.schema()
    le = fb["crossbuf_fb.LogEntry"]
    logs = [le(message="no trace id"), le(trace_id=[]), le(trace_id=[1, 2, 3])]
    frames = [region.encode(r) for r in logs] + [region.encode(xb.testdata.log_entry(7))]
    ids = fb.path("crossbuf_fb.LogEntry", "trace_id").read_many(frames)
    assert [None if v is None else bytes(v) for v in ids] == [None, b"", b"\x01\x02\x03",
                                                               bytes(xb.testdata.log_entry(7).trace_id)]
    assert all(v.readonly for v in ids if v is not None)
    del frames, ids
