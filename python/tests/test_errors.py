"""Every failure comes back as the exception class of its status code."""

from __future__ import annotations

import os

import numpy as np
import pytest

import crossbuf as xb

from conftest import ALL_CODECS, close_region


def test_exception_hierarchy() -> None:
    assert issubclass(xb.RegionExistsError, FileExistsError)
    assert issubclass(xb.RegionNotFoundError, FileNotFoundError)
    assert issubclass(xb.RegionOSError, OSError)
    assert issubclass(xb.InvalidArgumentError, ValueError)
    assert issubclass(xb.RegionInUseError, BufferError)
    for cls in (xb.MalformedError, xb.ForkError, xb.InternalError, xb.RegionInUseError):
        assert issubclass(cls, xb.CrossbufError)
    assert xb.status_name(-2) == "XB_ERR_CLOSED"


def test_every_status_code_of_the_header_has_its_name_and_class() -> None:
    """Each XB_ERR_* of include/crossbuf.h has its name in the library and
    an exception class of its own in Python."""
    import re

    from conftest import ROOT
    from crossbuf import errors

    with open(os.path.join(ROOT, "include", "crossbuf.h")) as fh:
        codes = dict(re.findall(r"^\s*XB_ERR_(\w+) = (-\d+)", fh.read(), re.M))
    assert len(codes) >= 28
    for name, code in codes.items():
        assert xb.status_name(int(code)) == "XB_ERR_" + name
        err = errors.error_for(int(code), "m")
        assert type(err) is not xb.CrossbufError and err.code == int(code), name


@pytest.mark.parametrize("rt", list(xb.RecordType), ids=lambda r: r.name)
@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda c: c.name)
def test_truncated_and_garbage_frames_are_malformed(region: xb.Region, codec: xb.Codec, rt: xb.RecordType) -> None:
    rec = {1: xb.testdata.log_entry(1), 2: xb.testdata.sample(1), 3: xb.testdata.tensor(1, 1024)}[int(rt)]
    good = bytes(region.encode(rec, codec).payload)
    bad = [good[: len(good) // 2], b"\xff" * 64, b""]
    if codec != xb.Codec.PROTOBUF:  # an empty protobuf message is valid
        pass
    else:
        bad.pop()
    for data in bad:
        f = region.append_raw(codec, rt, data)
        with pytest.raises(xb.MalformedError):
            region.decode(f)
        with pytest.raises(xb.MalformedError):
            region.decode_many([f])
        if codec.zero_copy:
            # A view reads only the way to one field, bounds-checked: it
            # fails if that way leaves the bytes, else reads what is there.
            field = "name" if rt == xb.RecordType.TENSOR else "label" if rt == xb.RecordType.SAMPLE else "service"
            try:
                got = getattr(region.view(f), field)
            except xb.MalformedError:
                pass
            else:
                assert got is None or isinstance(got, (int, str))
        del f


def test_unknown_codec(region: xb.Region) -> None:
    with pytest.raises(xb.UnknownCodecError):
        region.encode(xb.testdata.sample(1), 9)
    assert xb.UnknownCodecError.code == -4


def test_not_a_record(region: xb.Region) -> None:
    with pytest.raises(xb.RecordTypeError):
        region.encode("hello")  # type: ignore[arg-type]
    with pytest.raises(xb.RecordTypeError):
        region.encode_many([xb.testdata.sample(1), xb.testdata.log_entry(1)])


def test_invalid_tensor(region: xb.Region) -> None:
    t = xb.Tensor("bad", xb.DType.F32, (3,), b"\0" * 8)  # 3 floats need 12 bytes
    with pytest.raises(xb.InvalidRecordError):
        region.encode(t)


def test_out_of_range_offset(region: xb.Region) -> None:
    with pytest.raises(xb.OutOfRangeError):
        region.view(1 << 40)
    with pytest.raises(xb.OutOfRangeError):
        region.frame(1 << 40)


def test_closed_region_and_double_close() -> None:
    r = xb.Region.anonymous(1 << 16)
    r.close()
    assert r.closed
    with pytest.raises(xb.ClosedError):
        r.encode(xb.testdata.sample(1))
    with pytest.raises(xb.ClosedError):
        r.stats()
    with pytest.raises(xb.ClosedError):
        r.close()


def test_context_manager_closes_once() -> None:
    with xb.Region.anonymous(1 << 16) as r:
        r.encode(xb.testdata.sample(1))
    assert r.closed


@pytest.mark.parametrize("name", ["/a/b", "..", "x" * 300, "", "bad name", "a\0b"])
def test_bad_shm_names(name: str) -> None:
    with pytest.raises(xb.BadNameError):
        xb.Region.create_shm(name, 1 << 16)


def test_open_missing() -> None:
    with pytest.raises(xb.RegionNotFoundError):
        xb.Region.open_shm("xbtest-missing-" + os.urandom(6).hex())
    with pytest.raises(FileNotFoundError):
        xb.Region.open_file("/nonexistent-dir-xb/region")


def test_create_existing(shm_name: str, tmp_path) -> None:
    r = xb.Region.create_shm(shm_name, 1 << 16)
    try:
        with pytest.raises(xb.RegionExistsError):
            xb.Region.create_shm(shm_name, 1 << 16)
    finally:
        r.close()
    p = tmp_path / "region"
    xb.Region.create_file(p, 1 << 16).close()
    with pytest.raises(FileExistsError):
        xb.Region.create_file(p, 1 << 16)


def test_region_full_keeps_earlier_frames() -> None:
    r = xb.Region.anonymous(64 << 10)
    recs = [xb.testdata.log_entry(i) for i in range(200)]
    with pytest.raises(xb.RegionFullError) as ei:
        r.encode_many(recs, xb.Codec.FLATBUFFERS)
    done = ei.value.frames  # type: ignore[attr-defined]
    del ei
    assert 0 < len(done) < len(recs)
    assert r.decode_many(done) == recs[: len(done)]
    assert len(list(r.frames())) == len(done)
    with pytest.raises(xb.RegionFullError):
        r.encode(xb.testdata.tensor(1, 1 << 20))
    del done
    close_region(r)


def test_file_region_of_another_layout_version(tmp_path) -> None:
    p = tmp_path / "region"
    with xb.Region.create_file(p, 1 << 16) as r:
        f = r.encode(xb.testdata.sample(1))
        off = f.offset
        del f
    with xb.Region.open_file(p) as r:  # reopens fine
        assert r.decode(off) == xb.testdata.sample(1)
    raw = bytearray(p.read_bytes())
    assert int.from_bytes(raw[8:12], "little") == xb.LAYOUT_VERSION
    raw[8:12] = (99).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(xb.VersionError):
        xb.Region.open_file(p)


def test_not_a_region_file(tmp_path) -> None:
    p = tmp_path / "junk"
    p.write_bytes(b"\0" * 8192)
    with pytest.raises(xb.VersionError):
        xb.Region.open_file(p)


@pytest.mark.parametrize("kind", [1, 2])
def test_debug_fault_is_internal_error(kind: int) -> None:
    with pytest.raises(xb.InternalError):
        xb.debug_fault(kind)
    # the process survives and the library still works
    with xb.Region.anonymous(1 << 16) as r:
        assert r.decode(r.encode(xb.testdata.sample(7))) == xb.testdata.sample(7)
    assert np.isfinite(1.0)
