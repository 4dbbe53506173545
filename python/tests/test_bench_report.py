"""The benchmark report's promises (bench/report.py): every target is decided
on a like-for-like pair, and every measured cell carries a bootstrap
interval and its sample count. Checked on cells made by the real Python and
boundary harness (a tiny pool, few repetitions), on a synthetic catalogue of
every Go variant the targets need, and on the committed results."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from typing import Any, List

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

report = pytest.importorskip("report", reason="bench/report.py not importable")
from python.timing import Cell, run_interleaved  # noqa: E402

GO_RECORDS = ["LogEntry", "Sample", "Tensor/size=1KB", "Tensor/size=1MB", "Tensor/size=64MB"]


def cell(ctx: str, fmt: str, lib: str, rec: str, op: str, variant: str, ns: float, **kw: Any) -> Cell:
    rng = random.Random(hash((ctx, fmt, lib, rec, op, variant)) & 0xFFFF)
    c = Cell(ctx, fmt, lib, rec, op, variant=variant, **kw)
    c.set_samples([ns * (1 + rng.uniform(-0.05, 0.05)) for _ in range(9)])
    return c


def go_catalogue() -> List[Cell]:
    """The Go cells the targets read, with the variants libs_test.go makes."""
    out: List[Cell] = []
    for rec in GO_RECORDS:
        for f in ("flatbuffers", "capnp"):
            out += [cell("go", f, "crossbuf", rec, "encode", v, 100, allocs_per_op=0) for v in ("reuse", "fresh")]
            out += [cell("go", f, "crossbuf", rec, "decode-full", v, 50) for v in ("reuse-unsafe", "fresh-unsafe")]
            out.append(cell("go", f, "crossbuf", rec, "read-one-field", "in-place", 15))
        out += [cell("go", "protobuf", "protobuf-go", rec, "encode", v, 200) for v in ("reuse", "fresh")]
        out += [cell("go", "protobuf", "vtprotobuf", rec, "decode-full", v, 400)
                for v in ("fresh", "fresh-unsafe", "reuse", "reuse-unsafe")]  # fmt: skip
    return out


@pytest.fixture(scope="module")
def harness() -> List[Cell]:
    """Python and boundary cells made by bench/run.py's own functions (the
    libraries of bench/requirements.txt that are not installed give missing
    cells)."""
    import run

    args = argparse.Namespace(formats=run.FORMATS, records=["LogEntry"], sizes=["1KB"], pool=3, quick=True)
    from crossbuf import testdata

    pool = [testdata.log_entry(i) for i in range(1, 4)]
    cells, timed = run.python_cells(args, "LogEntry", pool)
    bcells, btimed, setups = run.boundary_cells(args, "LogEntry", pool)
    try:
        run_interleaved(timed + btimed, 3, 1e-4)
    finally:
        for s in setups:
            s.close()
    return cells + bcells


def test_harness_cells_have_intervals_and_counts(harness: List[Cell]) -> None:
    cells = harness
    measured = [c for c in cells if c.status == "ok"]
    assert len(measured) >= 30, "the harness made too few cells"
    for c in measured:
        assert c.reps == 3 and len(c.samples) == 3, c.key()
        assert c.ci_lo is not None and c.ci_hi is not None and c.ci_lo <= c.ns_per_op <= c.ci_hi, c.key()  # type: ignore[operator]
    ts = report.compute_targets(cells + go_catalogue())
    assert report.check_report(cells, ts) == []
    md = "\n".join(report.render({"quick": True}, cells, ts, [], "results"))
    for c in measured:
        assert f"n={c.reps}" in md
    assert "## Summary" in md.split("## Targets")[0], "the summary must open the report"


def test_every_target_on_a_like_for_like_pair(harness: List[Cell]) -> None:
    cells = go_catalogue() + harness
    ts = report.compute_targets(cells)
    go_targets = [t for t in ts if t.name.startswith("Go ")]
    assert go_targets and all(t.verdict != "no data" for t in go_targets), [t.name for t in go_targets
                                                                            if t.verdict == "no data"]  # fmt: skip
    for t in ts:
        if t.kind == "absolute":
            assert len(t.cells) <= 1, t.name
        elif t.verdict != "no data":
            a, b = t.cells
            assert (report.like_for_like(a, b) or (t.kind == "scaling" and report.same_impl(a, b))
                    or (t.kind == "record-pair" and report.same_record(a, b))), t.name  # fmt: skip
            assert a.variant in t.pair and b.variant in t.pair, t.name
    assert report.check_report(cells, ts) == []


def test_a_mismatched_pair_is_refused() -> None:
    a = cell("go", "flatbuffers", "crossbuf", "LogEntry", "encode", "reuse", 100, allocs_per_op=0)
    b = cell("go", "protobuf", "protobuf-go", "LogEntry", "encode", "fresh", 200)
    with pytest.raises(AssertionError):
        report.faster_target("mismatched", a, b)
    t = report.Target("forged", "compare", "met", "", [a, b])
    assert report.check_report([a, b], [t]) == ["forged: not decided on a like-for-like pair"]


def test_verdicts_need_separated_intervals() -> None:
    a = cell("go", "flatbuffers", "crossbuf", "LogEntry", "encode", "reuse", 100, allocs_per_op=0)
    close = cell("go", "protobuf", "protobuf-go", "LogEntry", "encode", "reuse", 101)
    far = cell("go", "protobuf", "protobuf-go", "LogEntry", "encode", "reuse", 300)
    assert report.faster_target("t", a, close).verdict == "tie"
    assert report.faster_target("t", a, far).verdict == "met"
    assert report.faster_target("t", far, a).verdict == "missed"
    assert report.ratio_target("t", a, far, 0.5, True).verdict == "met"
    assert report.ratio_target("t", a, close, 0.5, True).verdict == "missed"


def test_committed_results() -> None:
    path = os.path.join(BENCH, "results", "latest.json")
    with open(path) as f:
        data = json.load(f)
    if not data["cells"] or "samples" not in data["cells"][0]:
        pytest.skip("bench/results/latest.json predates per-cell samples; rerun ./build.sh bench")
    cells = [Cell(**c) for c in data["cells"]]
    ts = report.compute_targets(cells)
    assert report.check_report(cells, ts) == []
    for c in cells:
        if c.status == "ok":
            assert c.reps >= 2, f"{c.key()}: {c.reps} samples"


def test_committed_report_is_the_rendering_of_the_committed_run() -> None:
    """RESULTS.md says nothing latest.json does not: rendering the saved run
    again (what `bench/run.py --report-only` does) gives the same text, plots
    aside."""
    with open(os.path.join(BENCH, "results", "latest.json")) as f:
        data = json.load(f)
    if not data["cells"] or "samples" not in data["cells"][0]:
        pytest.skip("bench/results/latest.json predates per-cell samples; rerun ./build.sh bench")
    cells = [Cell(**c) for c in data["cells"]]
    report.sort_cells(cells)
    text = "\n".join(report.render(data["machine"], cells, report.compute_targets(cells), [], "results"))
    with open(os.path.join(BENCH, "RESULTS.md")) as f:
        committed = f.read()
    assert committed.split("## Plots")[0].rstrip() == text.rstrip()


def test_channel_targets_decide_on_pipelines_of_one_variant() -> None:
    """The channel context's targets: ratios of one op and variant between
    two pipelines (crossbuf and its opponent), judged on the ratio's
    interval; a missing opponent leaves the target without data."""
    ch = []
    for op, xb_ns, sock_ns, iox_ns in (("latency-p50", 10e3, 40e3, 20e3), ("throughput", 5e3, 9e3, 6e3)):
        ch.append(cell("channel", "msgpack", "crossbuf go→python", "LogEntry", op, "typed", xb_ns))
        ch.append(cell("channel", "msgpack", "unix-socket go→python", "LogEntry", op, "typed", sock_ns))
        ch.append(cell("channel", "msgpack", "iceoryx2 python→python", "LogEntry", op, "typed", iox_ns))
    ts = {t.name: t for t in report.compute_targets(ch) if "Headline" in t.name}
    assert report.check_report(ch, list(ts.values())) == []
    verdicts = {(("p50" if "p50" in n else "tput"), ("socket" if "Unix" in n else "iox")): t.verdict
                for n, t in ts.items()}  # fmt: skip
    # crossbuf 4× the socket and 2× iceoryx2 in latency; 1.8× and 1.2× in throughput
    assert verdicts == {("p50", "socket"): "met", ("p50", "iox"): "met",
                        ("tput", "socket"): "missed", ("tput", "iox"): "missed"}  # fmt: skip
    alone = report.compute_targets([c for c in ch if not c.lib.startswith("iceoryx2")])
    assert {t.verdict for t in alone if "iceoryx2" in t.name} == {"no data"}


@pytest.fixture(scope="module")
def any_schema(tmp_path_factory: pytest.TempPathFactory) -> List[Cell]:
    """The any-schema cells of Monster and ParkingLot, made by the harness on
    pools of 3 records written by flatc and pycapnp."""
    from conftest import conformance

    import shutil

    base = os.path.dirname(conformance("flatbuffers"))
    if shutil.which("flatc") is None:
        pytest.skip("flatc is not installed")
    pytest.importorskip("capnp", reason="pycapnp is not installed")
    os.environ.setdefault("CROSSBUF_CONFORMANCE", base)
    import run
    from python import anydata, anyschema

    work = str(tmp_path_factory.mktemp("anyschema"))
    args = argparse.Namespace(formats=run.FORMATS, contexts=run.CONTEXTS)
    out: List[Cell] = []
    for rec in anydata.BUILTIN:
        sp = anydata.builtin_pool(rec, 3, os.path.join(work, rec))
        assert len(sp.wires) == 3 and all(sp.wires), rec
        cells, timed, setups = anyschema.cells(args, sp, os.path.join(work, "gen", rec))
        try:
            run_interleaved(timed, 3, 1e-4)
        finally:
            for s in setups:
                s.close()
        out += cells
    return out


def test_any_schema_cells_are_reported_like_the_others(any_schema: List[Cell]) -> None:
    cells = any_schema
    # An opponent only bench/requirements.txt installs (orjson) is "missing"
    # when this runs before the bench venv exists; nothing may fail.
    bad = [f"{c.key()}: {c.reason}" for c in cells
           if c.status != "ok" and not (c.status == "missing" and c.reason.startswith("No module named"))]  # fmt: skip
    assert bad == []
    for rec, fmt, official in (("Monster", "flatbuffers", "flatbuffers-flatc-gen"), ("ParkingLot", "capnp", "pycapnp-dynamic")):
        mine = {(c.op, c.variant) for c in cells
                if (c.record, c.context, c.lib, c.format, c.status) == (rec, "boundary", "crossbuf", fmt, "ok")}  # fmt: skip
        assert {("encode", "dict"), ("decode-full", "dict"), ("read-one-field", "default"), ("verify", "default"),
                ("to-json", "default")} <= mine, rec  # fmt: skip
        assert any(c.lib == official and c.record == rec for c in cells), rec
        # the ratio column refers to crossbuf in the record's own format
        opp = next(c for c in cells if c.record == rec and c.context == "python" and c.op == "decode-full")
        ref = report.reference(cells, opp)
        assert ref is not None and ref.format == fmt and ref.context == "boundary", rec
    ts = report.compute_targets(cells)
    assert report.check_report(cells, ts) == []
    ds = [d for d in report.duels(cells) if d.record in ("Monster", "ParkingLot")]
    assert ds and all(report.like_for_like(d.ours, d.theirs) for d in ds)
    md = "\n".join(report.render({"quick": True}, cells, ts, [], "results"))
    assert "| op / variant | Monster | ParkingLot |" in md
    assert "### python: verify" not in md and "### boundary: verify" in md


def test_any_schema_default_path() -> None:
    from python import anydata

    assert anydata.default_path({"pos": {"x": 1.0}, "name": "a", "hp": 3}) == "name"
    assert anydata.default_path({"cars": [{"wheels": [], "make": "GM"}]}) == "cars[0].make"
    with pytest.raises(ValueError):
        anydata.default_path({"cars": []})
