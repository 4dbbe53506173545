"""Zero copy, and what keeps the mapping alive: close() refuses while anything
points into the region, instead of unmapping memory under it."""

from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest

import crossbuf as xb

from conftest import ALL_CODECS, ZERO_COPY


def _addr(mv: memoryview) -> int:
    return np.frombuffer(mv, np.uint8).ctypes.data if len(mv) else 0


def _array(region: xb.Region, frame: xb.Frame) -> np.ndarray:
    """A Tensor frame's data as numpy, through a view: no copy."""
    v = region.view(frame)
    return np.frombuffer(v.data, dtype=xb.DType(v.dtype).numpy).reshape(tuple(v.shape))


@pytest.mark.parametrize("codec", ZERO_COPY, ids=lambda c: c.name)
def test_bytes_point_into_the_payload(region: xb.Region, codec: xb.Codec) -> None:
    rec = xb.testdata.log_entry(2)
    frame = region.encode(rec, codec)
    lo = _addr(frame.payload)
    hi = lo + frame.len
    assert region.address <= lo and hi <= region.address + region.capacity
    view = region.view(frame)
    tid = view.trace_id if codec == xb.Codec.FLATBUFFERS else view.traceId
    assert isinstance(tid, memoryview) and bytes(tid) == rec.trace_id
    assert lo <= _addr(tid) and _addr(tid) + len(tid) <= hi
    assert view.service == rec.service
    del frame, view, tid


@pytest.mark.parametrize("codec", ZERO_COPY, ids=lambda c: c.name)
def test_tensor_array_shares_region_memory(region: xb.Region, codec: xb.Codec) -> None:
    rec = xb.testdata.tensor(3, 4096)
    frame = region.encode(rec, codec)
    arr = _array(region, frame)
    buf = region.buffer
    assert np.shares_memory(arr, np.frombuffer(buf, np.uint8))
    start = arr.ctypes.data
    assert _addr(frame.payload) <= start < _addr(frame.payload) + frame.len
    assert start % 8 == 0
    # write through a writable view of the mapping: the array sees it
    w = (ctypes.c_float * 1).from_address(start)
    w[0] = 12345.5
    assert arr[0, 0] == np.float32(12345.5)
    del frame, arr, buf, w


@pytest.mark.parametrize("codec", [c for c in ALL_CODECS if not c.zero_copy], ids=lambda c: c.name)
def test_baseline_records_copy(region: xb.Region, codec: xb.Codec) -> None:
    t = xb.testdata.tensor(3, 1024)
    e = xb.testdata.log_entry(3)
    tv = region.view(region.encode(t, codec))  # no in-place form: the decoded record
    ev = region.view(region.encode(e, codec))
    assert tv == t and ev == e
    arr = tv.array()
    assert not np.shares_memory(arr, np.frombuffer(region.buffer, np.uint8))
    # a later decode reuses the scratch: the earlier records keep their values
    region.decode_many([region.encode(xb.testdata.log_entry(9), codec)] * 3)
    assert ev == e and tv == t
    gc.collect()
    region.close()  # records own their data: they do not pin the mapping
    assert ev.message == e.message and np.array_equal(arr, t.array())


def test_views_do_not_pin_what_they_hand_out_does() -> None:
    """A view holds a frame, not memory: after close its reads are
    ClosedError. The memoryviews it hands out (byte vectors) pin."""
    r = xb.Region.anonymous(1 << 20)
    v = r.view(r.encode(xb.testdata.tensor(1, 1024), xb.Codec.FLATBUFFERS))
    data = v.data
    with pytest.raises(xb.RegionInUseError):
        r.close()
    del data
    r.close()
    with pytest.raises(xb.ClosedError):
        v.name  # noqa: B018


def _make(region: xb.Region, what: str) -> object:
    frame = region.encode(xb.testdata.tensor(1, 1024), xb.Codec.FLATBUFFERS)
    if what == "frame":
        return frame
    if what == "payload":
        return frame.payload
    if what == "data":
        return region.view(frame).data
    if what == "array":
        return _array(region, frame)
    if what == "buffer":
        return region.buffer
    if what == "buffer-array":
        return np.frombuffer(region.buffer, np.uint8)
    if what == "listed":
        return list(region.frames())
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["payload", "data", "array", "buffer", "buffer-array"])
def test_close_refuses_while_something_points_in(what: str) -> None:
    r = xb.Region.anonymous(1 << 20)
    obj = _make(r, what)
    with pytest.raises(xb.RegionInUseError):
        r.close()
    with pytest.raises(BufferError):
        r.reset()
    assert not r.closed
    # still fully usable after the refusal
    assert r.decode(r.encode(xb.testdata.sample(1))) == xb.testdata.sample(1)
    del obj
    r.close()
    assert r.closed


def test_numpy_array_alive_then_deleted() -> None:
    r = xb.Region.anonymous(1 << 20)
    f = r.encode(xb.testdata.tensor(4, 4096), xb.Codec.CAPNP)
    arr = _array(r, f)
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
            v = r.view(r.encode(xb.testdata.log_entry(1), xb.Codec.FLATBUFFERS)).trace_id
    assert bytes(v) == xb.testdata.log_entry(1).trace_id  # still mapped
    del v
    r.close()


def test_exit_during_exception_keeps_original_error() -> None:
    with pytest.raises(KeyError):
        with xb.Region.anonymous(1 << 16) as r:
            f = r.encode(xb.testdata.sample(1))  # noqa: F841
            raise KeyError("x")


def test_garbage_collected_region_with_live_array_does_not_unmap() -> None:
    r = xb.Region.anonymous(1 << 20)
    arr = _array(r, r.encode(xb.testdata.tensor(4, 4096)))
    expect = xb.testdata.tensor(4, 4096).array()
    del r
    gc.collect()
    assert np.array_equal(arr, expect)


def test_close_and_reset_take_turns() -> None:
    """A reset() and a close() of other threads never run their checks at
    once (the first to end let calls in under the other: a segfault)."""
    import sys
    import threading

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(50):
            r = xb.Region.anonymous(1 << 20)
            stop = threading.Event()
            errors: list = []

            def resetter(r: xb.Region = r, stop: threading.Event = stop, errors: list = errors) -> None:
                while not stop.is_set():
                    try:
                        r.reset()
                    except (xb.RegionInUseError, xb.ClosedError):
                        pass
                    except Exception as e:  # noqa: BLE001 - what the test looks for
                        errors.append(repr(e))
                    if r.closed:
                        return

            ts = [threading.Thread(target=resetter) for _ in range(2)]
            for t in ts:
                t.start()
            for _ in range(20):
                try:
                    bytes(r.encode(xb.testdata.log_entry(1)).payload[:8])
                except (xb.StaleFrameError, xb.ClosedError):
                    pass
            r.close()
            stop.set()
            for t in ts:
                t.join()
            assert errors == []
    finally:
        sys.setswitchinterval(old)


def test_close_from_inside_a_call_is_refused() -> None:
    """A finalizer that closes the region while this thread is inside a call
    that uses it (decode_many reading the scratch) is refused, not an unmap
    under the call."""
    r = xb.Region.anonymous(1 << 22)
    frames = [r.encode(xb.testdata.log_entry(i)) for i in range(500)]
    refused: list = []

    class Owner:
        def __init__(self) -> None:
            self.cycle = self

        def __del__(self) -> None:
            try:
                r.close()
            except xb.RegionInUseError as e:
                refused.append(e)

    gc.collect()
    gc.disable()
    try:
        Owner()
        r._enter()  # as a call does, while the finalizer runs
        gc.collect()
    finally:
        gc.enable()
        r._local.st.busy = False
    assert refused and not r.closed
    assert len(r.decode_many(frames)) == 500
    del frames
    r.close()


def test_frames_stop_at_a_reset() -> None:
    with xb.Region.anonymous(1 << 22) as r:
        for _ in range(300):
            r.encode(xb.testdata.log_entry(0))
        it = r.frames()
        first = [next(it) for _ in range(256)]
        del first
        r.reset()
        for _ in range(300):
            r.encode(xb.testdata.log_entry(0))
        with pytest.raises(xb.StaleFrameError, match="reset during the iteration"):
            list(it)


def test_a_thread_scratch_goes_with_the_thread() -> None:
    import threading

    with xb.Region.anonymous(1 << 20) as r:
        f = r.encode(xb.testdata.log_entry(1))
        for _ in range(50):
            t = threading.Thread(target=r.decode, args=(f,))
            t.start()
            t.join()
        gc.collect()
        assert len(r._states) <= 1
        del f


def test_a_thread_schema_scratch_goes_with_the_thread() -> None:
    import threading

    s = xb.bundled.schema()
    with xb.Region.anonymous(1 << 16) as r:
        payload = bytes(r.encode(xb.testdata.log_entry(1)).payload)
    seen: list[str] = []
    for _ in range(50):
        t = threading.Thread(target=lambda: seen.append(s.to_json(payload, "crossbuf_fb.LogEntry")))
        t.start()
        t.join()
    gc.collect()
    assert len(seen) == 50 and len(s._states) <= 1
    assert s.to_json(payload, "crossbuf_fb.LogEntry") == seen[0]  # the schema still works here
