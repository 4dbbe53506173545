"""Test setup: the package from python/, the official runtimes' generated code
from python/refgen, and shared fixtures."""

from __future__ import annotations

import gc
import os
import sys
import uuid
from typing import Iterator, List, Tuple

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
ROOT = os.path.dirname(PYTHON_DIR)
REFGEN = os.path.join(PYTHON_DIR, "refgen")
for p in (REFGEN, PYTHON_DIR):
    if p not in sys.path:
        sys.path.insert(0, p)

import crossbuf as xb  # noqa: E402
from crossbuf import testdata  # noqa: E402

ALL_CODECS = list(xb.Codec)
ZERO_COPY = [xb.Codec.FLATBUFFERS, xb.Codec.CAPNP]
TENSOR_SIZES = [(0, 0), (1, 100), (7, 1024), (42, 65536)]


def conformance(sub: str) -> str:
    """The reference projects' data: $CROSSBUF_CONFORMANCE, else
    ../shared/conformance beside the repository; the test skips visibly
    when it is absent."""
    base = os.environ.get("CROSSBUF_CONFORMANCE") or os.path.join(ROOT, "..", "shared", "conformance")
    path = os.path.join(base, sub)
    if not os.path.isdir(path):
        pytest.skip(f"conformance data not found at {path} (set CROSSBUF_CONFORMANCE)")
    return path


def records_of(rt: xb.RecordType) -> List[xb.Record]:
    if rt == xb.RecordType.LOG_ENTRY:
        return [testdata.log_entry(s) for s in range(5)]
    if rt == xb.RecordType.SAMPLE:
        return [testdata.sample(s) for s in range(5)]
    return [testdata.tensor(s, n) for s, n in TENSOR_SIZES]


def close_region(r: xb.Region) -> None:
    if r.closed:
        return
    try:
        r.close()
    except xb.RegionInUseError:
        gc.collect()
        r.close()


@pytest.fixture
def region() -> Iterator[xb.Region]:
    r = xb.Region.anonymous(16 << 20)
    yield r
    close_region(r)


@pytest.fixture
def shm_name() -> Iterator[str]:
    name = "xbtest-" + uuid.uuid4().hex[:12]
    yield name
    try:
        xb.unlink_shm(name)
    except xb.RegionNotFoundError:
        pass


def record_params() -> List[Tuple[xb.Codec, xb.RecordType]]:
    return [(c, rt) for c in xb.Codec for rt in xb.RecordType]
