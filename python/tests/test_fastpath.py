"""The single-call paths: read_field, decode_record and the marshal batch."""

from __future__ import annotations

import pytest

import crossbuf as xb

from conftest import ALL_CODECS


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_read_field_and_decode_record(region: xb.Region, codec: xb.Codec) -> None:
    for seed in range(5):
        rec = xb.testdata.log_entry(seed)
        frame = region.encode(rec, codec)
        assert region.read_field(frame, xb.Field.LOG_MESSAGE) == rec.message
        assert region.read_field(frame.offset, xb.Field.LOG_HTTP_PATH) == rec.http.path
        assert region.decode_record(frame) == rec
        assert region.decode_record(frame.offset) == rec
        sample = xb.testdata.sample(seed)
        assert region.decode_record(region.encode(sample, codec)) == sample
        tensor = xb.testdata.tensor(seed, 256)
        assert region.decode_record(region.encode(tensor, codec)) == tensor
        del frame


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_batch_marshal_path_equals_records(region: xb.Region, codec: xb.Codec) -> None:
    recs = [xb.testdata.log_entry(seed) for seed in range(50)]
    frames = region.encode_many(recs, codec)
    assert region.decode_records(frames) == recs
    assert region.read_str(frames, xb.Field.LOG_SERVICE) == [r.service for r in recs]
    del frames


def test_fast_paths_report_errors(region: xb.Region) -> None:
    sample = region.encode(xb.testdata.sample(1), xb.Codec.FLATBUFFERS)
    with pytest.raises(xb.RecordTypeError):
        region.read_field(sample, xb.Field.LOG_MESSAGE)
    bad = region.append_raw(xb.Codec.CAPNP, xb.RecordType.LOG_ENTRY, b"\x00" * 8 + b"\xff" * 40)
    with pytest.raises(xb.MalformedError):
        region.decode_record(bad)
    with pytest.raises(xb.MalformedError):
        region.read_field(bad, xb.Field.LOG_MESSAGE)
    with pytest.raises(xb.OutOfRangeError):
        region.read_field(3, xb.Field.LOG_MESSAGE)
    del sample, bad


def test_fast_paths_on_closed_region() -> None:
    r = xb.Region.anonymous(1 << 20)
    frame = r.encode(xb.testdata.log_entry(1))
    off = frame.offset
    del frame
    r.close()
    with pytest.raises(xb.ClosedError):
        r.read_field(off, xb.Field.LOG_MESSAGE)
    with pytest.raises(xb.ClosedError):
        r.decode_record(off)


def test_prefault_keeps_frames_and_reports_closed() -> None:
    r = xb.Region.anonymous(1 << 20)
    rec = xb.testdata.log_entry(2)
    off = r.encode(rec).offset
    r.prefault()
    assert r.decode_record(off) == rec
    r.close()
    with pytest.raises(xb.ClosedError):
        r.prefault()


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_struct_path_without_marshal(region: xb.Region, codec: xb.Codec, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where marshal disagrees with the library (checked at import), the
    package falls back to C structs; that path gives the same records."""
    monkeypatch.setattr(xb._lib, "HAS_PYMARSHAL", False)
    logs = [xb.testdata.log_entry(seed) for seed in range(5)]
    samples = [xb.testdata.sample(seed) for seed in range(5)]
    frames = region.encode_many(logs, codec)
    assert region.decode_records(frames) == logs
    assert region.decode_record(region.encode(logs[0], codec)) == logs[0]
    assert region.read_str(frames, xb.Field.LOG_HOST) == [r.host for r in logs]
    assert region.decode_records(region.encode_many(samples, codec)) == samples
    del frames
