"""Every codec × record type: encode, decode, compare with the testdata records."""

from __future__ import annotations

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
        view = region.view(frame)
        assert view.to_record() == rec
        assert region.view(frame.offset).to_record() == rec
        del frame, view


@pytest.mark.parametrize("rt", list(xb.RecordType), ids=lambda r: r.name)
@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_encode_many_decode_many(region: xb.Region, codec: xb.Codec, rt: xb.RecordType) -> None:
    recs = records_of(rt) * 3
    frames = region.encode_many(recs, codec)
    assert len(frames) == len(recs)
    assert [f.offset for f in frames] == sorted(f.offset for f in frames)
    views = region.view_many(frames)
    assert [v.to_record() for v in views] == recs
    assert [v.to_record() for v in region.view_many([f.offset for f in frames])] == recs
    listed = list(region.frames())
    assert [f.offset for f in listed] == [f.offset for f in frames]
    assert region.stats().frame_count == len(recs)


def test_log_entry_view_fields(region: xb.Region) -> None:
    rec = xb.testdata.log_entry(3)
    for codec in ALL_CODECS:
        v = region.view(region.encode(rec, codec))
        assert v.timestamp_ns == rec.timestamp_ns
        assert v.level is rec.level
        assert v.service == rec.service and v.host == rec.host and v.message == rec.message
        assert v.trace_id == rec.trace_id
        assert v.tags == rec.tags
        assert v.attributes == rec.attributes
        assert v.attribute_pairs == list(rec.attributes.items())
        assert v.http == rec.http
        assert v.zero_copy == codec.zero_copy


def test_tensor_view_array(region: xb.Region) -> None:
    rec = xb.testdata.tensor(9, 4096)
    for codec in ALL_CODECS:
        v = region.view(region.encode(rec, codec))
        a = v.array
        assert a.dtype == np.dtype("<f4") and a.shape == (4, 256)
        assert np.array_equal(a, rec.array())
        assert not a.flags.writeable
        del a, v


@pytest.mark.parametrize("dtype", ["u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8"])
def test_tensor_from_array_every_dtype(region: xb.Region, dtype: str) -> None:
    arr = (np.arange(24) * 3 - 7).astype(dtype).reshape(2, 3, 4)
    t = xb.Tensor.from_array("t", arr)
    assert t.dtype.numpy == np.dtype(dtype)
    for codec in ALL_CODECS:
        v = region.view(region.encode(t, codec))
        assert v.dtype == t.dtype and v.shape == (2, 3, 4)
        assert np.array_equal(v.array, arr)
        del v


def test_mixed_record_types_decode_many(region: xb.Region) -> None:
    recs = [xb.testdata.log_entry(1), xb.testdata.sample(2), xb.testdata.tensor(3, 64), xb.testdata.log_entry(4)]
    frames = [region.encode(r, c) for r, c in zip(recs, [xb.Codec.FLATBUFFERS, xb.Codec.JSON, xb.Codec.CAPNP, xb.Codec.PROTOBUF])]
    assert [v.to_record() for v in region.view_many(frames)] == recs


def test_one_field_of_many_views(region: xb.Region) -> None:
    recs = [xb.testdata.log_entry(s) for s in range(10)]
    frames = [region.encode(r, c) for r, c in zip(recs, ALL_CODECS * 2)]
    assert [v.service for v in region.view_many(frames)] == [r.service for r in recs]
    assert [v.message for v in region.view_many(frames)] == [r.message for r in recs]
    assert [v.http.path for v in region.view_many(frames)] == [r.http.path for r in recs]
    tframes = region.encode_many([xb.testdata.tensor(5, 64)], xb.Codec.CAPNP)
    assert [v.name for v in region.view_many(tframes)] == ["tensor-5"]


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
