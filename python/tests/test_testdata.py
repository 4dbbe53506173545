"""testdata is an exact port of go/record/generate.go, pinned by generators.json."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

import crossbuf as xb
from crossbuf import testdata

from conftest import ROOT, TENSOR_SIZES

with open(os.path.join(ROOT, "schemas", "testdata", "generators.json"), encoding="utf-8") as f:
    GOLDEN = json.load(f)


@pytest.mark.parametrize("g", GOLDEN["log_entry"], ids=lambda g: f"seed{g['seed']}")
def test_log_entry_matches_golden(g: dict) -> None:
    e = testdata.log_entry(g["seed"])
    assert e.timestamp_ns == g["timestamp_ns"]
    assert e.level == g["level"]
    assert (e.service, e.host, e.message) == (g["service"], g["host"], g["message"])
    assert e.trace_id.hex() == g["trace_id_hex"]
    assert e.tags == g["tags"]
    assert [list(kv) for kv in e.attributes.items()] == g["attributes"]
    h = g["http"]
    assert e.http == xb.Http(h["method"], h["path"], h["status"], h["latency_ns"])


@pytest.mark.parametrize("g", GOLDEN["sample"], ids=lambda g: f"seed{g['seed']}")
def test_sample_matches_golden(g: dict) -> None:
    s = testdata.sample(g["seed"])
    assert s.timestamp_ns == g["timestamp_ns"]
    assert s.label == g["label"]
    # golden floats are printed shortest-for-float32: compare as float32
    assert np.array_equal(np.asarray(s.features, np.float32), np.asarray(g["features"], np.float32))
    # and every feature is an exact float32 value
    assert [float(np.float32(x)) for x in s.features] == s.features


@pytest.mark.parametrize("g", GOLDEN["tensor"], ids=lambda g: f"seed{g['seed']}-{g['nbytes']}")
def test_tensor_matches_golden(g: dict) -> None:
    t = testdata.tensor(g["seed"], g["nbytes"])
    assert t.name == g["name"]
    assert t.dtype == g["dtype"]
    assert list(t.shape) == g["shape"]
    assert hashlib.sha256(t.data).hexdigest() == g["data_sha256"]


def test_tensor_vectorised_equals_scalar_loop() -> None:
    t = testdata.tensor(5, 4 * 300)
    r = testdata.Rand(5)
    expect = np.array([testdata.unit_float32(r.next()) for _ in range(300)], np.float32)
    assert np.array_equal(t.array(), expect)


@pytest.mark.parametrize("seed", range(5))
def test_library_generator_agrees(seed: int) -> None:
    assert xb.generate(xb.RecordType.LOG_ENTRY, seed) == testdata.log_entry(seed)
    assert xb.generate(xb.RecordType.SAMPLE, seed) == testdata.sample(seed)


@pytest.mark.parametrize("seed,nbytes", TENSOR_SIZES)
def test_library_tensor_generator_agrees(seed: int, nbytes: int) -> None:
    assert xb.generate(xb.RecordType.TENSOR, seed, nbytes) == testdata.tensor(seed, nbytes)
