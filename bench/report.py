"""Writes the suite's outputs: latest.json, RESULTS.md (summary, targets,
tables with bootstrap intervals) and matplotlib plots.

Comparisons are like for like: two cells are compared only when they share
op, variant (how the library is used: fresh or reused output, copied or
aliased strings; see bench/README.md) and data (record pool or single
record). A verdict needs non-overlapping 95 % intervals; otherwise it is a tie."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from python.stats import compare, ratio_ci, within
from python.timing import Cell

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXTS = ["go", "python", "boundary", "c", "channel"]
CONTEXT_TITLES = {
    "go": "Context 1 — Go: crossbuf codecs vs the plain Go libraries",
    "python": "Context 2 — Python native libraries (crossbuf: the boundary cell of the same variant)",
    "boundary": "Context 3 — across the boundary: Go encodes into a region, Python reads through crossbuf",
    "c": "Context 4 — C reads through include/crossbuf.h",
    "channel": "Context 5 — channel: one-way latency and throughput between processes (ns per message)",
}
OP_ORDER = ["encode", "decode-full", "read-one-field", "batch-decode-full", "batch-read-one-field", "to-numpy",
            "verify", "to-json", "to-msgpack"]  # the last three: any-schema records only
FORMAT_ORDER = ["flatbuffers", "capnp", "json", "msgpack", "protobuf", "*", "?"]
ZERO_COPY = ("flatbuffers", "capnp")
WATERMARK = "smoke run, not results"


# ---- formatting -------------------------------------------------------------------------


def fmt_ns(ns: Optional[float]) -> str:
    if ns is None or math.isnan(ns):
        return "—"
    if ns < 1e3:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def fmt_interval(c: Cell) -> str:
    """'1.23 µs [1.20, 1.26]': the median and its 95 % bootstrap interval."""
    return f"{fmt_ns(c.ns_per_op)} [{fmt_ns(c.ci_lo)}, {fmt_ns(c.ci_hi)}]"


def fmt_ratio(r: float, lo: float, hi: float) -> str:
    return f"×{r:.3g} [{lo:.3g}, {hi:.3g}]"


def record_key(r: str) -> Tuple[int, int]:
    order = {"LogEntry": 0, "Sample": 1, "Monster": 3, "ParkingLot": 4}  # then a user's own type
    if r.startswith("Tensor/size="):
        s = r.split("=", 1)[1]
        mult = {"KB": 1 << 10, "MB": 1 << 20}.get(s[-2:], 1)
        return (2, int(s[:-2] if s[-2:] in ("KB", "MB") else s) * mult)
    return (order.get(r, 5), 0)


def impl_key(c: Cell) -> Tuple[int, int, str, str, str]:
    fo = FORMAT_ORDER.index(c.format) if c.format in FORMAT_ORDER else 99
    return (0 if c.lib.startswith("crossbuf") else 1, fo, c.lib, c.variant, c.data)


def label(c: Cell) -> str:
    s = f"{c.format} / {c.lib} / {c.variant}"
    return s + (" / single record" if c.data == "single" else "")


def ok(c: Optional[Cell]) -> bool:
    return c is not None and c.status == "ok" and c.ns_per_op is not None and bool(c.samples)


def find(cells: Sequence[Cell], **kw: Any) -> Optional[Cell]:
    for c in cells:
        if ok(c) and all(getattr(c, k) == v for k, v in kw.items()):
            return c
    return None


def enough(*cs: Cell) -> bool:
    """A verdict needs an interval: at least two samples per cell."""
    return all(len(c.samples) >= 2 for c in cs)


def like_for_like(a: Cell, b: Cell) -> bool:
    return (a.op, a.variant, a.data, a.record) == (b.op, b.variant, b.data, b.record)


def same_record(a: Cell, b: Cell) -> bool:
    """Two ops on the same data and record (a target that compares reading
    one field with decoding the whole record)."""
    return (a.data, a.record) == (b.data, b.record)


def reference(cells: Sequence[Cell], c: Cell) -> Optional[Cell]:
    """The crossbuf flatbuffers cell of the same op, variant, data and record
    (the ratio column), or capnp where there is none (a Cap'n Proto schema's
    record); for the native Python context, the boundary one."""
    for f in ZERO_COPY:
        for ctx in ([c.context, "boundary"] if c.context == "python" else [c.context]):
            r = find(cells, context=ctx, format=f, lib="crossbuf", op=c.op, variant=c.variant, data=c.data,
                     record=c.record)  # fmt: skip
            if r is not None:
                return r
    return None


def per_record(c: Cell) -> float:
    return (c.ns_per_op or math.nan) / max(1, c.records_per_op)


# ---- targets ---------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    kind: str  # compare | ratio-threshold | scaling | absolute | record-pair
    verdict: str  # met | missed | tie | no data
    measured: str
    cells: List[Cell] = field(default_factory=list)  # crossbuf's cell first, then the opponent's

    @property
    def pair(self) -> str:
        if self.kind == "absolute":
            return "crossbuf alone: " + (label(self.cells[0]) if self.cells else "—") + " (absolute limit)"
        if self.kind == "scaling" and len(self.cells) == 2:
            return f"{label(self.cells[0])}: {self.cells[0].record} **vs** {self.cells[1].record}"
        if len(self.cells) < 2:
            return "—"
        a, b = self.cells
        return f"{label(a)} **vs** {label(b)}"


def verdict_of(ok_: Optional[bool]) -> str:
    return "tie" if ok_ is None else "met" if ok_ else "missed"


def faster_target(name: str, a: Optional[Cell], b: Optional[Cell], extra: Optional[Callable[[Cell], bool]] = None,
                  extra_text: str = "") -> Target:  # fmt: skip
    """a (crossbuf) faster than b, decided on non-overlapping intervals."""
    if not ok(a) or not ok(b):
        return Target(name, "compare", "no data", "—", [x for x in (a, b) if x is not None])
    assert a is not None and b is not None
    assert like_for_like(a, b), (a.key(), b.key())
    v = compare(a.ci_lo, a.ci_hi, b.ci_lo, b.ci_hi) if enough(a, b) else "tie"  # type: ignore[arg-type]
    verdict = {"faster": "met", "slower": "missed", "tie": "tie"}[v]
    if extra is not None and not extra(a):
        verdict = "missed"
    r, lo, hi = ratio_ci(a.samples, b.samples)
    text = f"{fmt_interval(a)} vs {fmt_interval(b)}: {fmt_ratio(r, lo, hi)}" + extra_text
    return Target(name, "compare", verdict, text, [a, b])


def same_impl(a: Cell, b: Cell) -> bool:
    """One implementation at two records (a scaling target)."""
    return (a.context, a.format, a.lib, a.op, a.variant, a.data) == (b.context, b.format, b.lib, b.op, b.variant, b.data)


def ratio_target(name: str, a: Optional[Cell], b: Optional[Cell], limit: float, at_most: bool,
                 same: Callable[[Cell, Cell], bool] = like_for_like) -> Target:  # fmt: skip
    """The ratio a/b against limit (≤ limit if at_most, else ≥), decided on the
    ratio's bootstrap interval."""
    if not ok(a) or not ok(b):
        return Target(name, "ratio-threshold", "no data", "—", [x for x in (a, b) if x is not None])
    assert a is not None and b is not None
    assert same(a, b), (a.key(), b.key())
    r, lo, hi = ratio_ci(a.samples, b.samples)
    if not enough(a, b):
        v = None
    elif at_most:
        v = within(lo, hi, limit)
    else:
        v = None if lo < limit <= hi else lo >= limit
    return Target(name, "ratio-threshold", verdict_of(v),
                  f"{fmt_ratio(r, lo, hi)} ({fmt_interval(a)} vs {fmt_interval(b)})", [a, b])  # fmt: skip


def absolute_target(name: str, c: Optional[Cell], limit_ns: float, per_rec: bool = False) -> Target:
    if not ok(c):
        return Target(name, "absolute", "no data", "—", [c] if c else [])
    assert c is not None
    k = max(1, c.records_per_op) if per_rec else 1
    lo, hi = c.ci_lo / k, c.ci_hi / k  # type: ignore[operator]
    text = fmt_interval(c) if k == 1 else f"{fmt_ns(c.ns_per_op / k)} [{fmt_ns(lo)}, {fmt_ns(hi)}] per record"  # type: ignore[operator]
    return Target(name, "absolute", verdict_of(within(lo, hi, limit_ns) if enough(c) else None), text, [c])


def fastest(cells: Sequence[Cell], **kw: Any) -> Optional[Cell]:
    cs = [c for c in cells if ok(c) and all(getattr(c, k) == v for k, v in kw.items())]
    return min(cs, key=lambda c: c.ns_per_op or math.inf) if cs else None


def compute_targets(cells: List[Cell]) -> List[Target]:
    out: List[Target] = []
    go_recs = sorted({c.record for c in cells if c.context == "go" and c.record != "*" and record_key(c.record)[0] < 3},
                     key=record_key)  # the bundled records: the targets are theirs  # fmt: skip
    go = [c for c in cells if c.context == "go"]
    for f in ZERO_COPY:
        for r in go_recs:
            a = find(go, format=f, lib="crossbuf", op="encode", variant="reuse", data="pool", record=r)
            b = find(go, format="protobuf", lib="protobuf-go", op="encode", variant="reuse", data="pool", record=r)
            out.append(faster_target(f"Go {f} encode {r}: 0 allocs and faster than protobuf-go (reused output)", a, b,
                                     extra=lambda c: c.allocs_per_op == 0,
                                     extra_text=f"; {a.allocs_per_op:g} allocs" if ok(a) else ""))  # type: ignore[union-attr]  # fmt: skip
            a = find(go, format=f, lib="crossbuf", op="encode", variant="fresh", data="pool", record=r)
            b = find(go, format="protobuf", lib="protobuf-go", op="encode", variant="fresh", data="pool", record=r)
            out.append(faster_target(f"Go {f} encode {r}: faster than protobuf-go (fresh output)", a, b))
    for f in ZERO_COPY:
        for r in ["LogEntry", "Tensor/size=1KB", "Tensor/size=64MB"]:
            c = find(go, format=f, lib="crossbuf", op="read-one-field", data="pool", record=r)
            if r in go_recs:
                out.append(absolute_target(f"Go {f} read-one-field {r} ≤ 20 ns", c, 20.0))
    for f in ZERO_COPY:
        for r in go_recs:
            for v in ("reuse-unsafe", "fresh-unsafe"):
                a = find(go, format=f, lib="crossbuf", op="decode-full", variant=v, data="pool", record=r)
                b = find(go, format="protobuf", lib="vtprotobuf", op="decode-full", variant=v, data="pool", record=r)
                out.append(ratio_target(f"Go {f} decode-full {r} ≤ ½ Protobuf (vtprotobuf, {v})", a, b, 0.5, True))
    bd = [c for c in cells if c.context == "boundary"]
    py = [c for c in cells if c.context == "python"]
    for f in ZERO_COPY:
        for lib in ["crossbuf", "crossbuf-view"]:
            c = find(bd, format=f, lib=lib, op="read-one-field", data="pool", record="LogEntry")
            out.append(absolute_target(f"Python {f} read-one-field LogEntry ({lib}) ≤ 0.5 µs", c, 500.0))
    for f, official in [("flatbuffers", "flatbuffers"), ("capnp", "pycapnp")]:
        x = find(bd, format=f, lib="crossbuf", op="decode-full", variant="record", data="pool", record="LogEntry")
        best = fastest(py, op="decode-full", variant="record", data="pool", record="LogEntry")
        who = f"{best.lib} {best.format}" if best else "—"
        out.append(faster_target(f"Python {f} decode-full LogEntry to the record: faster than the fastest native "
                                 f"({who})", x, best))  # fmt: skip
        off = find(py, format=f, lib=official, op="decode-full", variant="record", data="pool", record="LogEntry")
        out.append(ratio_target(f"Python {f} decode-full LogEntry ≥ 10× faster than official {official}", off, x,
                                10.0, False))  # fmt: skip
    # Schemas loaded at run time against the official runtimes, on the
    # reference projects' own types (Cap'n Proto: carsales' ParkingLot,
    # decoded to dicts by both).
    for f, official, rec, variant, limit in [("flatbuffers", "flatbuffers-flatc-gen", "Monster", "native", 20.0),
                                             ("capnp", "pycapnp-dynamic", "ParkingLot", "dict", 5.0)]:
        x = find(bd, format=f, lib="crossbuf", op="decode-full", variant=variant, data="pool", record=rec)
        off = find(py, format=f, lib=official, op="decode-full", variant=variant, data="pool", record=rec)
        if x is not None or off is not None:
            out.append(ratio_target(f"Python {f} decode-full {rec} ({variant}) ≥ {limit:g}× faster than {official}",
                                    off, x, limit, False))  # fmt: skip
    # The any-schema targets for the bundled LogEntry written by Go, against
    # msgspec's typed MessagePack (a Struct) in the same run.
    def msgspec_cell(op: str, variant: str) -> Optional[Cell]:
        return find(py, format="msgpack", lib="msgspec", op=op, variant=variant, data="pool", record="LogEntry")

    for f in ZERO_COPY:
        c = find(bd, format=f, lib="crossbuf-view", op="read-one-field", data="pool", record="LogEntry")
        # The pair: msgspec decoding the whole record, whose attribute
        # read (~30 ns) is not timed; msgspec's read-one-field cell decodes
        # into a one-field Struct, a stronger opponent, in the table.
        t = ratio_target(f"Python {f} read-one-field LogEntry (view) ≤ msgspec typed decode of the record",
                         c, msgspec_cell("decode-full", "record"), 1.0, True, same=same_record)  # fmt: skip
        t.kind = "record-pair"
        out.append(t)
        c = find(bd, format=f, lib="crossbuf", op="decode-full", variant="record", data="pool", record="LogEntry")
        out.append(ratio_target(f"Python {f} decode-full LogEntry ≤ 1.3× msgspec typed decode", c,
                                msgspec_cell("decode-full", "record"), 1.3, True))  # fmt: skip
        c = find(bd, format=f, lib="crossbuf", op="encode", variant="record", data="pool", record="LogEntry")
        out.append(ratio_target(f"Python {f} encode LogEntry into a frame ≤ 2.5× msgspec MessagePack encode", c,
                                msgspec_cell("encode", "record"), 2.5, True))  # fmt: skip
    for f in ZERO_COPY:
        ts = sorted([c for c in bd if ok(c) and c.format == f and c.op == "to-numpy" and c.data == "pool"],
                    key=lambda c: record_key(c.record))  # fmt: skip
        for c in ts:
            out.append(absolute_target(f"Tensor Go→numpy ({f}) {c.record} ≤ 10 µs", c, 1e4))
        if len(ts) >= 2:
            t = ratio_target(f"Tensor Go→numpy ({f}) flat: {ts[-1].record} / {ts[0].record} ≤ 2", ts[-1], ts[0],
                             2.0, True, same=same_impl)  # fmt: skip
            t.kind = "scaling"
            out.append(t)
        for c in ts:
            off = find(py, format="flatbuffers", lib="flatbuffers", op="to-numpy", data="pool", record=c.record)
            out.append(faster_target(f"Tensor to-numpy ({f}) {c.record}: faster than official flatbuffers "
                                     "DataAsNumpy()", c, off))  # fmt: skip
    for f in ZERO_COPY:
        c = find(bd, format=f, lib="crossbuf", op="batch-read-one-field", data="pool", record="LogEntry")
        out.append(absolute_target(f"Batch read-one-field ({f}) ≥ 1 M LogEntry/s (≤ 1 µs per record)", c, 1e3, True))
        best = fastest(py, op="batch-read-one-field", data="pool", record="LogEntry")
        out.append(faster_target(f"Batch read-one-field ({f}) LogEntry: faster than the fastest native batch "
                                 f"({best.lib + ' ' + best.format if best else '—'})", c, best))  # fmt: skip
    from channel.report_channel import channel_targets

    return out + channel_targets(cells)


def targets_md(ts: List[Target]) -> List[str]:
    out = ["## Targets", "",
           "Each target is decided on one like-for-like pair (same op, variant and data), named in the pair "
           "column. **met**/**missed** need non-overlapping 95 % bootstrap intervals; a threshold on a ratio is "
           "judged on the ratio's interval; otherwise the verdict is **tie**. Intervals are in brackets.", "",
           "| target | status | pair that decided it | measured |", "|---|---|---|---|"]  # fmt: skip
    out += [f"| {t.name} | **{t.verdict}** | {t.pair} | {t.measured} |" for t in ts]
    return out + [""]


# ---- the summary --------------------------------------------------------------------------


@dataclass
class Duel:
    context: str
    op: str
    variant: str
    record: str
    ours: Cell
    theirs: Cell
    ratio: Tuple[float, float, float]
    outcome: str  # win | tie | loss


def duels(cells: List[Cell]) -> List[Duel]:
    """For every context, op, variant and record of the pool data: crossbuf's
    best zero-copy cell against the best opponent of the same variant."""
    out: List[Duel] = []
    for ctx in ("go", "python"):
        ours_ctx = "boundary" if ctx == "python" else ctx
        keys = sorted({(c.op, c.variant, c.record) for c in cells if c.context == ctx and ok(c) and c.data == "pool"},
                      key=lambda k: (OP_ORDER.index(k[0]) if k[0] in OP_ORDER else 99, k[1], record_key(k[2])))  # fmt: skip
        for op, variant, rec in keys:
            mine = [c for c in cells if ok(c) and c.context == ours_ctx and c.lib == "crossbuf" and
                    c.format in ZERO_COPY and (c.op, c.variant, c.record, c.data) == (op, variant, rec, "pool")]  # fmt: skip
            opp = [c for c in cells if ok(c) and c.context == ctx and not c.lib.startswith("crossbuf") and
                   (c.op, c.variant, c.record, c.data) == (op, variant, rec, "pool")]  # fmt: skip
            if not mine or not opp:
                continue
            a = min(mine, key=lambda c: c.ns_per_op or math.inf)
            b = min(opp, key=lambda c: c.ns_per_op or math.inf)
            v = compare(a.ci_lo, a.ci_hi, b.ci_lo, b.ci_hi) if enough(a, b) else "tie"  # type: ignore[arg-type]
            out.append(Duel(ctx, op, variant, rec, a, b, ratio_ci(a.samples, b.samples),
                            {"faster": "win", "slower": "loss", "tie": "tie"}[v]))  # fmt: skip
    return out


def summary_md(cells: List[Cell]) -> List[str]:
    ds = duels(cells)
    out = ["## Summary", "",
           "crossbuf's faster zero-copy cell (FlatBuffers or Cap'n Proto) against the fastest opponent **of the "
           "same variant** on the record pool; ×r is crossbuf's time over the opponent's (below 1: crossbuf is "
           "faster) with its 95 % bootstrap interval. A win or a loss needs non-overlapping intervals. Python: "
           "crossbuf is the boundary cell (what a Python user calls).", ""]  # fmt: skip
    for ctx in ("go", "python"):
        cd = [d for d in ds if d.context == ctx]
        if not cd:
            continue
        n = {o: sum(d.outcome == o for d in cd) for o in ("win", "tie", "loss")}
        out += [f"**{ctx}**: {n['win']} wins, {n['tie']} ties, {n['loss']} losses.", "",
                "| op / variant | " + " | ".join(sorted({d.record for d in cd}, key=record_key)) + " |",
                "|---" * (1 + len({d.record for d in cd})) + "|"]  # fmt: skip
        recs = sorted({d.record for d in cd}, key=record_key)
        for op, variant in sorted({(d.op, d.variant) for d in cd},
                                  key=lambda k: (OP_ORDER.index(k[0]) if k[0] in OP_ORDER else 99, k[1])):  # fmt: skip
            row = []
            for r in recs:
                d = next((d for d in cd if (d.op, d.variant, d.record) == (op, variant, r)), None)
                if d is None:
                    row.append("—")
                    continue
                r_, lo, hi = d.ratio
                row.append(f"**{d.outcome}** ×{r_:.2g} [{lo:.2g}, {hi:.2g}] vs {d.theirs.lib}"
                           f"{'' if d.theirs.format == d.ours.format else ' ' + d.theirs.format}")  # fmt: skip
            out.append(f"| {op} / {variant} | " + " | ".join(row) + " |")
        out.append("")
    if any(c.context == "boundary" for c in cells):
        out += ["**boundary**: crossbuf only; its cells are crossbuf's side of the python rows above.", ""]
    if any(c.context == "c" for c in cells):
        out += ["**c**: crossbuf only (the C context measures the C ABI; it has no opponents).", ""]
    return out


# ---- tables ----------------------------------------------------------------------------------


def cell_text(c: Optional[Cell], ref: Optional[Cell]) -> str:
    if c is None:
        return "—"  # a variant that does not run on this record (e.g. single-record cells: LogEntry only)
    if c.status != "ok":
        return f"{c.status}: {c.reason}".replace("|", "\\|").replace("\n", " ")
    s = fmt_interval(c) + f" n={c.reps}"
    if c.records_per_op > 1 and c.ns_per_op:
        s += f" ({fmt_ns(c.ns_per_op / c.records_per_op)}/record)"
    if c.allocs_per_op is not None and not math.isnan(c.allocs_per_op):
        s += f", {c.allocs_per_op:g} allocs"
    if c.below_floor:
        s += " ⚠ below floor"
    if ok(ref) and ref is not c:
        assert ref is not None
        r, lo, hi = ratio_ci(c.samples, ref.samples)
        s += f" {fmt_ratio(r, lo, hi)}"
    return s


def tables(cells: List[Cell]) -> List[str]:
    out: List[str] = []
    for ctx in CONTEXTS:
        cc = [c for c in cells if c.context == ctx]
        if not cc:
            continue
        out += [f"## {CONTEXT_TITLES[ctx]}", ""]
        for c in cc:
            if c.record == "*":
                out += [f"**{c.status}**: `{c.reason}`", ""]
        # ops outside OP_ORDER (the channel's) by name, so a report is the same on every render
        ops = sorted({c.op for c in cc if c.op != "*"}, key=lambda o: (OP_ORDER.index(o) if o in OP_ORDER else 99, o))
        for op in ops:
            oc = [c for c in cc if c.op == op]
            recs = sorted({c.record for c in oc}, key=record_key)
            impls = sorted({(c.format, c.lib, c.variant, c.data): c for c in oc}.values(), key=impl_key)
            unit = " (per call of the whole pool; per record in parentheses)" if op.startswith("batch") else ""
            out += [f"### {ctx}: {op}{unit}", "",
                    "| format / lib / variant | " + " | ".join(recs) + " |", "|---" * (len(recs) + 1) + "|"]  # fmt: skip
            for im in impls:
                row = []
                for r in recs:
                    c = next((c for c in oc if (c.format, c.lib, c.variant, c.data, c.record) ==
                              (im.format, im.lib, im.variant, im.data, r)), None)  # fmt: skip
                    row.append(cell_text(c, reference(cells, c) if c else None))
                name = label(im)
                if im.extra.get("output"):
                    name += f" → {im.extra['output']}"
                out.append(f"| {name} | " + " | ".join(row) + " |")
            out.append("")
        sized = [c for c in cc if c.op == "encode" and c.bytes is not None and c.data == "pool" and ok(c)]
        if sized:
            recs = sorted({c.record for c in sized}, key=record_key)
            impls = sorted({(c.format, c.lib): c for c in sized}.values(), key=impl_key)
            out += [f"### {ctx}: encoded size (bytes, mean over the pool)", "",
                    "| format / lib | " + " | ".join(recs) + " |", "|---" * (len(recs) + 1) + "|"]  # fmt: skip
            for im in impls:
                row = [str(next((c.bytes for c in sized if (c.format, c.lib, c.record) == (im.format, im.lib, r)), "—"))
                       for r in recs]  # fmt: skip
                out.append(f"| {im.format} / {im.lib} | " + " | ".join(row) + " |")
            out.append("")
    return out


# ---- plots ----------------------------------------------------------------------------------

COLORS = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
          "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#31a354", "#756bb1", "#636363"]  # fmt: skip
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p", "d", "H", "8", "1", "2", "3"]
CROSSBUF = {"flatbuffers": ("#ff7f0e", "o"), "capnp": ("#e6550d", "s")}


def style_of(c: Cell, others: List[Tuple[str, str]]) -> Tuple[str, str]:
    if c.lib.startswith("crossbuf"):
        col, m = CROSSBUF.get(c.format, ("#fd8d3c", "D"))
        return col, m if c.lib == "crossbuf" else "*"
    i = others.index((c.format, c.lib)) if (c.format, c.lib) in others else 0
    return COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]


def watermark(fig: Any, quick: bool) -> None:
    if quick:
        fig.text(0.5, 0.5, WATERMARK, fontsize=30, color="red", alpha=0.35, ha="center", va="center",
                 rotation=25, weight="bold")  # fmt: skip


def plots(cells: List[Cell], out_dir: str, quick: bool) -> List[str]:
    import matplotlib

    matplotlib.use("Agg")
    made: List[str] = []
    others = sorted({(c.format, c.lib) for c in cells if not c.lib.startswith("crossbuf")},
                    key=lambda k: (FORMAT_ORDER.index(k[0]) if k[0] in FORMAT_ORDER else 99, k[1]))  # fmt: skip
    tensors = sorted({c.record for c in cells if c.record.startswith("Tensor/")}, key=record_key)
    schemas = sorted({c.record for c in cells if record_key(c.record)[0] >= 3 and c.record != "*"}, key=record_key)
    for ctx in CONTEXTS:
        for op in OP_ORDER:
            for group, recs in (("LogEntry-Sample", ["LogEntry", "Sample"]), ("Tensor", tensors),
                                ("-".join(schemas), schemas)):  # fmt: skip
                name = f"{ctx}-{op}-{group}.png"
                if dot_plot(cells, others, ctx, op, recs, os.path.join(out_dir, name), quick):
                    made.append(name)
    from channel.report_channel import channel_plots

    return made + channel_plots(cells, out_dir, quick)


def dot_plot(cells: List[Cell], others: List[Tuple[str, str]], ctx: str, op: str, recs: List[str], path: str,
             quick: bool) -> bool:  # fmt: skip
    """One panel per record: a dot per implementation at its median with
    its 95 % interval as whiskers, crossbuf's reference as a dashed line.
    Tensor panels show the pool data only."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    panels = []
    for r in recs:
        cc = [c for c in cells if ok(c) and c.context == ctx and c.op == op and c.record == r]
        if ctx == "python":  # crossbuf's reference: the boundary cells of the same op
            cc += [c for c in cells if ok(c) and c.context == "boundary" and c.op == op and c.record == r
                   and c.format in ZERO_COPY and c.lib == "crossbuf"]  # fmt: skip
        if r.startswith("Tensor/"):
            cc = [c for c in cc if c.data == "pool"]
        if len(cc) > 1 and any(c.context == ctx for c in cc):  # something to compare (not: verify, to-json)
            panels.append((r, sorted(cc, key=impl_key)))
    if not panels:
        return False
    rows = [len(cc) for _, cc in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 0.26 * sum(rows) + 1.6 * len(panels) + 1.2),
                             squeeze=False, gridspec_kw={"height_ratios": rows})  # fmt: skip
    batch = op.startswith("batch")
    for ax, (r, cc) in zip(axes[:, 0], panels):
        for i, c in enumerate(cc):
            k = max(1, c.records_per_op) if batch else 1
            col, m = style_of(c, others)
            x, lo, hi = (c.ns_per_op or 0) / k, (c.ci_lo or 0) / k, (c.ci_hi or 0) / k
            ax.errorbar([x], [i], xerr=[[x - lo], [hi - x]], fmt=m, color=col, ecolor=col, capsize=3,
                        markersize=7 if c.lib.startswith("crossbuf") else 5)  # fmt: skip
        ref = next((c for f in ZERO_COPY for c in cc if c.lib == "crossbuf" and c.format == f and c.data == "pool"),
                   None)  # fmt: skip
        if ref is not None:
            ax.axvline((ref.ns_per_op or 0) / (max(1, ref.records_per_op) if batch else 1),
                       color=CROSSBUF[ref.format][0], linestyle="--", linewidth=1)  # fmt: skip
        ax.set_yticks(range(len(cc)))
        ax.set_yticklabels([("[boundary] " if c.context != ctx else "") + label(c) for c in cc], fontsize=7)
        ax.set_ylim(len(cc) - 0.5, -0.5)
        ax.set_xscale("log")
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.set_xlabel(("time per record" if batch else "time per call") +
                      " — median and 95 % bootstrap interval (log scale)", fontsize=8)  # fmt: skip
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_ns(v).replace(".00 ", " ").replace(".0 ", " ")))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelsize=7)
        ref_text = f"\ndashed line: {label(ref)}" if ref is not None else ""
        ax.set_title(f"{ctx}: {op}, {r}{' (per record of a call over the pool)' if batch else ''}{ref_text}",
                     fontsize=9)  # fmt: skip
    shown = [c for _, cc in panels for c in cc]
    handles = [Line2D([], [], marker=CROSSBUF[f][1], color=CROSSBUF[f][0], linestyle="", label=f"crossbuf {f}")
               for f in ZERO_COPY]
    if any(c.lib == "crossbuf" and c.format not in ZERO_COPY for c in shown):
        handles.append(Line2D([], [], marker="D", color="#fd8d3c", linestyle="", label="crossbuf json/msgpack/protobuf"))
    if any(c.lib == "crossbuf-view" for c in shown):
        handles.append(Line2D([], [], marker="*", color="#ff7f0e", linestyle="", label="crossbuf-view"))
    handles.append(Line2D([], [], color="#ff7f0e", linestyle="--", label="crossbuf reference (else capnp)"))
    libs = {(c.format, c.lib) for c in shown if not c.lib.startswith("crossbuf")}
    for f, lib in others:
        if (f, lib) in libs:
            col, m = style_of(Cell(ctx, f, lib, "", op), others)
            handles.append(Line2D([], [], marker=m, color=col, linestyle="", label=f"{f} / {lib}"))
    fig.legend(handles=handles, loc="lower center", ncol=min(5, len(handles)), fontsize=7, frameon=False)
    # Margins in inches (tight_layout costs a second per figure): labels left,
    # a title of two lines above and an axis label below each panel, the legend.
    h = fig.get_figheight()
    legend_in = 0.2 * math.ceil(len(handles) / 5) + 0.15
    fig.subplots_adjust(left=0.36, right=0.98, top=1 - 0.55 / h, bottom=(legend_in + 0.5) / h,
                        hspace=1.3 / (sum(rows) * 0.26 / len(panels)))  # fmt: skip
    watermark(fig, quick)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


# ---- the whole report ------------------------------------------------------------------------


def check_report(cells: List[Cell], ts: List[Target]) -> List[str]:
    """What the test suite asserts about a report: every comparison target on
    a like-for-like pair, every measured cell with an interval and a sample
    count. Returns the problems found."""
    bad: List[str] = []
    for t in ts:
        if t.kind == "absolute":
            if len(t.cells) > 1:
                bad.append(f"{t.name}: an absolute target with {len(t.cells)} cells")
        elif t.kind == "record-pair" and t.verdict != "no data":
            if len(t.cells) != 2 or not same_record(t.cells[0], t.cells[1]):
                bad.append(f"{t.name}: a pair of two ops not on the same data and record")
        elif t.kind == "scaling":
            if len(t.cells) != 2 or not same_impl(t.cells[0], t.cells[1]):
                bad.append(f"{t.name}: a scaling target not on one implementation")
        elif t.verdict != "no data":
            if len(t.cells) != 2 or not like_for_like(t.cells[0], t.cells[1]):
                bad.append(f"{t.name}: not decided on a like-for-like pair")
    for c in cells:
        if c.status == "ok":
            if c.ci_lo is None or c.ci_hi is None or not (c.ci_lo <= (c.ns_per_op or 0) <= c.ci_hi):
                bad.append(f"{c.key()}: no interval around the median")
            if c.reps < 1 or len(c.samples) != c.reps:
                bad.append(f"{c.key()}: no sample count")
    return bad


def sort_cells(cells: List[Cell]) -> None:
    """The order of latest.json and of every table."""
    cells.sort(key=lambda c: (c.context, OP_ORDER.index(c.op) if c.op in OP_ORDER else 99, record_key(c.record),
                              impl_key(c)))  # fmt: skip


def write_outputs(args: Any, info: Dict[str, Any], cells: List[Cell]) -> None:
    sort_cells(cells)
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump({"machine": info, "cells": [asdict(c) for c in cells]}, f, indent=0)
    quick = bool(info.get("quick"))
    made = [] if args.no_plots else plots(cells, args.out, quick)
    if made:  # plots of an earlier layout would sit beside this run's
        for old in os.listdir(args.out):
            if old.endswith(".png") and old not in made:
                os.remove(os.path.join(args.out, old))
    default_out = os.path.abspath(os.path.join(HERE, "results"))
    md_path = os.path.join(HERE, "RESULTS.md") if os.path.abspath(args.out) == default_out else os.path.join(args.out, "RESULTS.md")
    rel = os.path.relpath(args.out, os.path.dirname(md_path))
    ts = compute_targets(cells)
    problems = check_report(cells, ts)
    if problems:
        raise AssertionError("report check failed:\n" + "\n".join(problems[:20]))
    with open(md_path, "w") as f:
        f.write("\n".join(render(info, cells, ts, made, rel)))


def render(info: Dict[str, Any], cells: List[Cell], ts: List[Target], made: List[str], rel: str) -> List[str]:
    pk = info.get("python_packages", {})
    counts = {s: sum(c.status == s for c in cells) for s in ("ok", "missing", "failed")}
    floor = sum(c.below_floor for c in cells)
    lines = ["# crossbuf benchmark results", ""]
    if info.get("quick"):
        lines += [f"**{WATERMARK.capitalize()}: tiny iteration counts and pools; the numbers are not "
                  "measurements.**", ""]  # fmt: skip
    lines += summary_md(cells)
    n_t = {v: sum(t.verdict == v for t in ts) for v in ("met", "missed", "tie", "no data")}
    lines += [f"Targets: {n_t['met']} met, {n_t['missed']} missed, {n_t['tie']} ties, {n_t['no data']} without data "
              "(details below). Cells: " + f"{counts['ok']} measured, {counts['missing']} missing, "
              f"{counts['failed']} failed; {floor} Go cells below the iteration floor (⚠).", ""]  # fmt: skip
    lines += [
        "## Machine and method",
        "",
        f"Generated by `{info.get('command', '?')}` on {info.get('timestamp', '?')}.",
        "",
        f"- CPU: {info.get('cpu', '?')} ({info.get('cores', '?')} cores); pinning: {info.get('pinning', '?')}",
        f"- load average (1, 5, 15 min) when the run started: {info.get('load_average', '?')}"
        + (f"; when it ended: {info['load_average_end']}" if info.get("load_average_end") else ""),
        f"- OS: {info.get('os', '?')}",
        "- duration per context (s): " + (", ".join(f"{k} {v:g}" for k, v in info.get("durations_s", {}).items()) or "—"),
        f"- {info.get('go', '?')}; Python {info.get('python', '?')}",
        "- Python packages: " + ", ".join(f"{k} {v}" for k, v in pk.items()),
        "- Go modules: " + ", ".join(f"{k} {v}" for k, v in info.get("go_modules", {}).items()),
        *[f"- any-schema record {r}: `{d['type']}` of `{d['schema']}`, {d['records']} records written by "
          f"{d['written_by']}; read-one-field reads `{d['path']}`" for r, d in info.get("schema_records", {}).items()],
        f"- Go: {info.get('go_rounds', '?')} rounds of `-benchtime {info.get('go_benchtime', '?')}`, the first "
        f"discarded; Python and C: {info.get('reps', '?')} repetitions per cell; record pools capped at "
        f"{info.get('pool_cap') or '1000 records / 256 MiB'}.",
        "",
        "Every time is the median with its 95 % percentile-bootstrap interval in brackets and the sample count "
        "n; ×r [lo, hi] is the ratio to the crossbuf flatbuffers cell of the same op, variant, data and record "
        "(Python native: the boundary one) with its bootstrap interval. Raw data: `results/latest.json`; "
        "method: `bench/README.md`.",
        "",
    ]
    lines += targets_md(ts)
    analysis = os.path.join(HERE, "analysis.md")  # why targets are missed: profiles, kept by hand
    if os.path.exists(analysis) and not info.get("quick"):
        with open(analysis) as f:
            lines += [f.read().rstrip(), ""]
    from channel.report_channel import channel_notes

    lines += channel_notes(cells, bool(info.get("quick")))
    lines += tables(cells)
    if made:
        lines += ["## Plots", ""] + [f"![{m}]({rel}/{m})" for m in made] + [""]
    return lines
