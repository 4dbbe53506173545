"""Zero copy, and what keeps the mapping alive: close() refuses while anything
points into the region, instead of unmapping memory under it."""

from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest

import crossbuf as xb
from crossbuf import _lib

from conftest import ALL_CODECS, ZERO_COPY


def _addr(mv: memoryview) -> int:
    return np.frombuffer(mv, np.uint8).ctypes.data if len(mv) else 0


@pytest.mark.parametrize("codec", ZERO_COPY, ids=lambda c: c.name)
def test_strings_point_into_the_payload(region: xb.Region, codec: xb.Codec) -> None:
    rec = xb.testdata.log_entry(2)
    frame = region.encode(rec, codec)
    lo = _addr(frame.payload)
    hi = lo + frame.len
    assert region.address <= lo and hi <= region.address + region.capacity
    # the raw decoded struct: every string pointer lies inside the frame's payload
    out = _lib.XbLogEntry()
    scratch = region._state().scratch
    ref = _lib.XbFrame(offset=frame.offset, region_id=frame.region_id, generation=frame.generation)
    assert _lib.lib.xb_decode(region._handle(), scratch, 1, ctypes.addressof(ref), 1, ctypes.addressof(out)) == 0
    spans = [out.service, out.host, out.message, out.http.method, out.http.path]
    tags = (_lib.XbStr * out.n_tags).from_address(out.tags)
    kvs = (_lib.XbKv * out.n_attributes).from_address(out.attributes)
    spans += list(tags) + [kv.key for kv in kvs] + [kv.value for kv in kvs]
    for s in spans:
        assert lo <= s.ptr and s.ptr + s.len <= hi
    # and the view reads those same bytes through a slice of region.buffer
    view = region.view(frame)
    assert view.payload is not None and _addr(view.payload) == lo
    assert view.service == rec.service
    del frame, view, tags, kvs


@pytest.mark.parametrize("codec", ZERO_COPY, ids=lambda c: c.name)
def test_tensor_array_shares_region_memory(region: xb.Region, codec: xb.Codec) -> None:
    rec = xb.testdata.tensor(3, 4096)
    frame = region.encode(rec, codec)
    view = region.view(frame)
    arr = view.array
    buf = region.buffer
    assert np.shares_memory(arr, np.frombuffer(buf, np.uint8))
    start = arr.ctypes.data
    assert _addr(frame.payload) <= start < _addr(frame.payload) + frame.len
    assert start % 8 == 0
    # write through a writable view of the mapping: the array sees it
    w = (ctypes.c_float * 1).from_address(start)
    w[0] = 12345.5
    assert arr[0, 0] == np.float32(12345.5)
    del frame, view, arr, buf, w


@pytest.mark.parametrize("codec", [c for c in ALL_CODECS if not c.zero_copy], ids=lambda c: c.name)
def test_baseline_views_copy(region: xb.Region, codec: xb.Codec) -> None:
    t = xb.testdata.tensor(3, 1024)
    e = xb.testdata.log_entry(3)
    tv = region.view(region.encode(t, codec))
    ev = region.view(region.encode(e, codec))
    assert not tv.zero_copy and tv.payload is None
    arr = tv.array
    assert not np.shares_memory(arr, np.frombuffer(region.buffer, np.uint8))
    # a later decode reuses the scratch: the earlier views keep their values
    region.view_many([region.encode(xb.testdata.log_entry(9), codec)] * 3)
    assert ev.to_record() == e and tv.to_record() == t
    gc.collect()
    region.close()  # baseline views do not pin the mapping
    assert ev.message == e.message and np.array_equal(arr, t.array())


def _make(region: xb.Region, what: str) -> object:
    frame = region.encode(xb.testdata.tensor(1, 1024), xb.Codec.FLATBUFFERS)
    if what == "frame":
        return frame
    if what == "payload":
        return frame.payload
    if what == "view":
        return region.view(frame)
    if what == "array":
        return region.view(frame).array
    if what == "buffer":
        return region.buffer
    if what == "buffer-array":
        return np.frombuffer(region.buffer, np.uint8)
    if what == "listed":
        return list(region.frames())
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["payload", "view", "array", "buffer", "buffer-array"])
def test_close_refuses_while_something_points_in(what: str) -> None:
    r = xb.Region.anonymous(1 << 20)
    obj = _make(r, what)
    with pytest.raises(xb.RegionInUseError):
        r.close()
    with pytest.raises(BufferError):
        r.reset()
    assert not r.closed
    # still fully usable after the refusal
    assert r.view(r.encode(xb.testdata.sample(1))).to_record() == xb.testdata.sample(1)
    del obj
    r.close()
    assert r.closed


def test_numpy_array_alive_then_deleted() -> None:
    r = xb.Region.anonymous(1 << 20)
    f = r.encode(xb.testdata.tensor(4, 4096), xb.Codec.CAPNP)
    arr = r.view(f).array
    del f
    expect = arr.copy()
    with pytest.raises(xb.RegionInUseError):
        r.close()
    assert np.array_equal(arr, expect)  # memory still mapped and intact
    del arr
    r.close()


def test_frames_do_not_pin_the_mapping() -> None:
    r = xb.Region.anonymous(1 << 20)
    frame = r.encode(xb.testdata.log_entry(1), xb.Codec.FLATBUFFERS)
    listed = list(r.frames())
    r.close()  # frames are ids: they do not keep the mapping
    assert frame.offset == listed[0].offset and frame.len > 0
    with pytest.raises(xb.ClosedError):
        frame.payload
    with pytest.raises(xb.ClosedError):
        r.view(frame)


def test_exit_with_live_view_raises_then_close_works() -> None:
    with pytest.raises(xb.RegionInUseError):
        with xb.Region.anonymous(1 << 16) as r:
            v = r.view(r.encode(xb.testdata.log_entry(1), xb.Codec.FLATBUFFERS))
    assert v.service == xb.testdata.log_entry(1).service  # still mapped
    del v
    r.close()


def test_exit_during_exception_keeps_original_error() -> None:
    with pytest.raises(KeyError):
        with xb.Region.anonymous(1 << 16) as r:
            f = r.encode(xb.testdata.sample(1))  # noqa: F841
            raise KeyError("x")


def test_garbage_collected_region_with_live_array_does_not_unmap() -> None:
    r = xb.Region.anonymous(1 << 20)
    arr = r.view(r.encode(xb.testdata.tensor(4, 4096))).array
    expect = xb.testdata.tensor(4, 4096).array()
    del r
    gc.collect()
    assert np.array_equal(arr, expect)
