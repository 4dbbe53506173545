"""crossbuf frames read by the official libraries, and their bytes read by crossbuf."""

from __future__ import annotations

import msgspec
import pytest

import crossbuf as xb

from conftest import ALL_CODECS, records_of
from interop import BUILD, READ, fb_build


@pytest.mark.parametrize("rt", list(xb.RecordType), ids=lambda r: r.name)
@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_official_reader_reads_crossbuf_frames(region: xb.Region, codec: xb.Codec, rt: xb.RecordType) -> None:
    for rec in records_of(rt):
        frame = region.encode(rec, codec)
        # the payload memoryview of region memory goes straight to the reader
        assert READ[codec](frame.payload, rt) == rec
        del frame


@pytest.mark.parametrize("rt", list(xb.RecordType), ids=lambda r: r.name)
@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_crossbuf_reads_official_bytes(region: xb.Region, codec: xb.Codec, rt: xb.RecordType) -> None:
    for rec in records_of(rt):
        data = BUILD[codec](rec)
        frame = region.append_raw(codec, rt, data)
        assert frame.codec == codec and frame.type_id == rt
        assert bytes(frame.payload) == data
        assert region.decode(frame) == rec
        del frame


def test_capnp_payload_is_8_byte_aligned(region: xb.Region) -> None:
    import numpy as np

    for rec in records_of(xb.RecordType.LOG_ENTRY):
        f = region.encode(rec, xb.Codec.CAPNP)
        assert np.frombuffer(f.payload, np.uint8).ctypes.data % 8 == 0
        del f


@pytest.mark.parametrize("rt", list(xb.RecordType), ids=lambda r: r.name)
@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_decode_bytes_outside_a_region(codec: xb.Codec, rt: xb.RecordType) -> None:
    for rec in records_of(rt):
        data = BUILD[codec](rec)
        assert xb.decode_bytes(codec, rt, data) == rec
        assert xb.decode_bytes(codec, rt, memoryview(b"\0" + data)[1:]) == rec  # unaligned input
    with pytest.raises(xb.MalformedError):
        xb.decode_bytes(codec, rt, b"\xff" * 40)


def test_text_that_is_not_utf8_is_malformed_when_decoded(region: xb.Region) -> None:
    """A string another writer stored that is not UTF-8: decode is
    MalformedError naming the field (records hold str), and so is reading it
    in place."""
    rec = msgspec.structs.replace(xb.testdata.log_entry(1), service=b"bad \xff")  # what fb_build stores as is
    f = region.append_raw(xb.Codec.FLATBUFFERS, xb.RecordType.LOG_ENTRY, fb_build(rec))
    with pytest.raises(xb.MalformedError, match="service"):
        region.decode(f)
    with pytest.raises(xb.MalformedError, match="UTF-8"):
        region.view(f).service  # noqa: B018
    del f
