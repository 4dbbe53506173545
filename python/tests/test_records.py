"""The bundled records (crossbuf.LogEntry, Sample, Tensor) against their
schema and the MessagePack codec's wire shape, which is how they cross the
library boundary."""

from __future__ import annotations

import msgspec
import pytest

import crossbuf as xb


@pytest.mark.parametrize("cls", [xb.LogEntry, xb.Sample, xb.Tensor, xb.Http], ids=lambda c: c.__name__)
def test_records_have_the_fields_of_the_bundled_schema(cls: type) -> None:
    fb = xb.bundled.schema(xb.Codec.FLATBUFFERS)[f"crossbuf_fb.{cls.__name__}"]
    assert cls.__struct_fields__ == fb.__struct_fields__  # type: ignore[attr-defined]


@pytest.mark.parametrize("enum", [xb.Level, xb.DType], ids=lambda e: e.__name__)
def test_enums_have_the_values_of_the_bundled_schema(enum: type) -> None:
    fb = xb.bundled.schema(xb.Codec.FLATBUFFERS)._classes().enums[f"crossbuf_fb.{enum.__name__}"]
    assert {m.name.lower(): int(m) for m in enum} == {m.name.lower(): int(m) for m in fb}  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(5))
def test_record_messagepack_is_the_codec_wire_shape(region: xb.Region, seed: int) -> None:
    """What msgspec writes of a record is a MessagePack frame the Go codec
    reads, and what the Go codec writes msgspec reads as the record."""
    for rec in (xb.testdata.log_entry(seed), xb.testdata.sample(seed), xb.testdata.tensor(seed, 64)):
        ours = region.append_raw(xb.Codec.MSGPACK, rec.record_type, msgspec.msgpack.encode(rec))
        theirs = region.encode(rec, xb.Codec.MSGPACK)
        assert region.decode(ours) == rec
        assert msgspec.msgpack.decode(theirs.payload, type=type(rec)) == rec
        del ours, theirs


def test_generated_records_equal_testdata() -> None:
    for seed in range(20):
        assert xb.generate(xb.RecordType.LOG_ENTRY, seed) == xb.testdata.log_entry(seed)
        assert xb.generate(xb.RecordType.SAMPLE, seed) == xb.testdata.sample(seed)
    assert xb.generate(xb.RecordType.TENSOR, 3, 4096) == xb.testdata.tensor(3, 4096)


@pytest.mark.parametrize("codec", list(xb.Codec), ids=lambda c: c.name)
def test_decode_bytes_of_every_codec(region: xb.Region, codec: xb.Codec) -> None:
    for rec in (xb.testdata.log_entry(4), xb.testdata.sample(4), xb.testdata.tensor(4, 256)):
        f = region.encode(rec, codec)
        assert xb.decode_bytes(codec, rec.record_type, bytes(f.payload)) == rec
        del f
    with pytest.raises(xb.MalformedError):
        xb.decode_bytes(codec, xb.RecordType.LOG_ENTRY, b"\xff" * 3)
