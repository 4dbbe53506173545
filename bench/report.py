"""Writes the suite's outputs: latest.json, RESULTS.md (tables, ratios,
targets) and matplotlib plots."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Tuple

from python.timing import Cell

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXT_TITLES = {
    "go": "Context 1 — Go: crossbuf codecs vs the plain Go libraries",
    "python": "Context 2 — Python native libraries",
    "boundary": "Context 3 — across the boundary: Go encodes into a region, Python reads through crossbuf",
    "c": "Context 4 — C reads through include/crossbuf.h",
}
OP_ORDER = ["encode", "decode-full", "read-one-field", "batch-decode-full", "batch-read-one-field", "to-numpy"]
FORMAT_ORDER = ["flatbuffers", "capnp", "json", "msgpack", "protobuf", "*", "?"]


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


def record_key(r: str) -> Tuple[int, int]:
    order = {"LogEntry": 0, "Sample": 1}
    if r.startswith("Tensor/size="):
        s = r.split("=", 1)[1]
        mult = {"KB": 1 << 10, "MB": 1 << 20}.get(s[-2:], 1)
        return (2, int(s[:-2] if s[-2:] in ("KB", "MB") else s) * mult)
    return (order.get(r, 3), 0)


def column_key(c: Tuple[str, str]) -> Tuple[int, int, str]:
    f, lib = c
    fo = FORMAT_ORDER.index(f) if f in FORMAT_ORDER else 99
    return (fo, 0 if lib.startswith("crossbuf") else 1, lib)


def find(cells: List[Cell], **kw: Any) -> Optional[Cell]:
    for c in cells:
        if c.status == "ok" and all(getattr(c, k) == v for k, v in kw.items()):
            return c
    return None


def reference(cells: List[Cell], ctx: str, op: str, rec: str) -> Optional[Cell]:
    """The crossbuf flatbuffers cell a table's ratios divide by; for the
    native Python context, the boundary one (what a Python user would use)."""
    c = find(cells, context=ctx, format="flatbuffers", lib="crossbuf", op=op, record=rec)
    if c is None and ctx == "python":
        c = find(cells, context="boundary", format="flatbuffers", lib="crossbuf", op=op, record=rec)
    return c


def cell_text(c: Cell, ref: Optional[Cell]) -> str:
    if c.status != "ok":
        return f"{c.status}: {c.reason}".replace("|", "\\|").replace("\n", " ")
    s = fmt_ns(c.ns_per_op)
    if c.records_per_op > 1 and c.ns_per_op:
        s += f" ({c.records_per_op / c.ns_per_op * 1e9 / 1e6:.2f} M rec/s)"
    if c.allocs_per_op is not None:
        s += f", {c.allocs_per_op:g} allocs"
    if ref is not None and ref.ns_per_op and c is not ref:
        s += f" (×{c.ns_per_op / ref.ns_per_op:.2g})"
    return s


def tables(cells: List[Cell]) -> List[str]:
    out: List[str] = []
    for ctx in ["go", "python", "boundary", "c"]:
        cc = [c for c in cells if c.context == ctx]
        if not cc:
            continue
        out += [f"## {CONTEXT_TITLES[ctx]}", ""]
        for c in cc:
            if c.record == "*":
                out += [f"**{c.status}**: `{c.reason}`", ""]
        ops = sorted({c.op for c in cc if c.op != "*"}, key=lambda o: OP_ORDER.index(o) if o in OP_ORDER else 99)
        for op in ops:
            oc = [c for c in cc if c.op == op]
            cols = sorted({(c.format, c.lib) for c in oc}, key=column_key)
            recs = sorted({c.record for c in oc}, key=record_key)
            out += [f"### {op}", "", "| record | " + " | ".join(f"{f}<br>{lib}" for f, lib in cols) + " |",
                    "|---" * (len(cols) + 1) + "|"]  # fmt: skip
            for r in recs:
                ref = reference(cells, ctx, op, r)
                row = []
                for f, lib in cols:
                    c = next((c for c in oc if c.format == f and c.lib == lib and c.record == r), None)
                    row.append(cell_text(c, ref) if c else "missing: not measured")
                out.append(f"| {r} | " + " | ".join(row) + " |")
            out.append("")
        sized = [c for c in cc if c.op == "encode" and c.bytes is not None]
        if sized:
            cols = sorted({(c.format, c.lib) for c in sized}, key=column_key)
            recs = sorted({c.record for c in sized}, key=record_key)
            out += ["### encoded size (bytes)", "", "| record | " + " | ".join(f"{f}<br>{lib}" for f, lib in cols) + " |",
                    "|---" * (len(cols) + 1) + "|"]  # fmt: skip
            for r in recs:
                row = [str(next((c.bytes for c in sized if (c.format, c.lib, c.record) == (f, lib, r)), "—"))
                       for f, lib in cols]  # fmt: skip
                out.append(f"| {r} | " + " | ".join(row) + " |")
            out.append("")
    return out


# ---- targets --------------------------------------------------------------------------------


def targets(cells: List[Cell]) -> List[str]:
    rows: List[Tuple[str, str, str]] = []

    def add(name: str, ok: Optional[bool], value: str) -> None:
        rows.append((name, "no data" if ok is None else "met" if ok else "missed", value))

    recs = sorted({c.record for c in cells if c.context == "go" and c.record != "*"}, key=record_key)
    for f in ["flatbuffers", "capnp"]:
        for r in recs:
            e = find(cells, context="go", format=f, lib="crossbuf", op="encode", record=r)
            pb = find(cells, context="go", format="protobuf", lib="protobuf-go", op="encode", record=r)
            ok = None if e is None or pb is None else (e.allocs_per_op == 0 and e.ns_per_op < pb.ns_per_op)  # type: ignore[operator]
            val = "—" if e is None else f"{e.allocs_per_op:g} allocs, {fmt_ns(e.ns_per_op)} vs proto.Marshal " + (
                fmt_ns(pb.ns_per_op) if pb else "—")  # fmt: skip
            add(f"Go {f} encode {r}: 0 allocs and faster than protobuf-go Marshal", ok, val)
    for f in ["flatbuffers", "capnp"]:
        for r in ["LogEntry", "Tensor/size=1KB", "Tensor/size=64MB"]:
            c = find(cells, context="go", format=f, lib="crossbuf", op="read-one-field", record=r)
            add(f"Go {f} read-one-field {r} ≤ 20 ns", None if c is None else c.ns_per_op <= 20,  # type: ignore[operator]
                fmt_ns(c.ns_per_op) if c else "—")  # fmt: skip
    for f in ["flatbuffers", "capnp"]:
        for r in recs:
            d = find(cells, context="go", format=f, lib="crossbuf", op="decode-full", record=r)
            pb = find(cells, context="go", format="protobuf", lib="protobuf-go", op="decode-full", record=r)
            ok = None if d is None or pb is None else d.ns_per_op <= pb.ns_per_op / 2  # type: ignore[operator]
            add(f"Go {f} decode-full {r} ≤ ½ protobuf-go Unmarshal", ok,
                f"{fmt_ns(d.ns_per_op if d else None)} vs {fmt_ns(pb.ns_per_op if pb else None)}")  # fmt: skip
    for f in ["flatbuffers", "capnp"]:
        for lib in ["crossbuf", "crossbuf-view"]:
            c = find(cells, context="boundary", format=f, lib=lib, op="read-one-field", record="LogEntry")
            add(f"Python {f} read-one-field LogEntry ({lib}) ≤ 0.5 µs",
                None if c is None else c.ns_per_op <= 500, fmt_ns(c.ns_per_op) if c else "—")  # type: ignore[operator]
    for f, official in [("flatbuffers", "flatbuffers"), ("capnp", "pycapnp")]:
        x = find(cells, context="boundary", format=f, lib="crossbuf", op="decode-full", record="LogEntry")
        native = [c for c in cells if c.context == "python" and c.op == "decode-full" and c.record == "LogEntry"
                  and c.status == "ok"]  # fmt: skip
        fastest = min(native, key=lambda c: c.ns_per_op or math.inf) if native else None
        off = find(cells, context="python", format=f, lib=official, op="decode-full", record="LogEntry")
        add(f"Python {f} decode-full LogEntry vs fastest native ({fastest.lib + ' ' + fastest.format if fastest else '—'})",
            None if x is None or fastest is None else x.ns_per_op <= fastest.ns_per_op,  # type: ignore[operator]
            f"{fmt_ns(x.ns_per_op if x else None)} vs {fmt_ns(fastest.ns_per_op if fastest else None)}")  # fmt: skip
        add(f"Python {f} decode-full LogEntry ≥ 10× faster than official {official}",
            None if x is None or off is None else off.ns_per_op >= 10 * x.ns_per_op,  # type: ignore[operator]
            f"×{off.ns_per_op / x.ns_per_op:.1f}" if x and off else "—")  # type: ignore[operator]
    for f in ["flatbuffers", "capnp"]:
        ts = [c for c in cells if c.context == "boundary" and c.format == f and c.op == "to-numpy" and c.status == "ok"]
        ts.sort(key=lambda c: record_key(c.record))
        if not ts:
            add(f"Tensor Go→numpy ({f}) ≤ 10 µs, flat 1KB→64MB", None, "—")
            continue
        worst = max(c.ns_per_op for c in ts)  # type: ignore[type-var]
        flat = ts[-1].ns_per_op / ts[0].ns_per_op  # type: ignore[operator]
        span = f"{ts[0].record.split('=')[1]}→{ts[-1].record.split('=')[1]}"
        add(f"Tensor Go→numpy ({f}) ≤ 10 µs and flat {span} (largest/smallest ≤ 2)", worst <= 1e4 and flat <= 2,
            ", ".join(f"{c.record.split('=')[1]}: {fmt_ns(c.ns_per_op)}" for c in ts))
    for f in ["flatbuffers", "capnp"]:
        c = find(cells, context="boundary", format=f, lib="crossbuf", op="batch-read-one-field", record="LogEntry")
        rate = c.records_per_op / c.ns_per_op * 1e9 if c and c.ns_per_op else None
        add(f"Batch read-one-field ({f}) ≥ 1 M LogEntry/s", None if rate is None else rate >= 1e6,
            f"{rate / 1e6:.2f} M/s" if rate else "—")
    out = ["## Targets", "", "Computed from the cells above.", "", "| target | status | measured |", "|---|---|---|"]
    out += [f"| {n} | **{s}** | {v} |" for n, s, v in rows]
    return out + [""]


# ---- plots ----------------------------------------------------------------------------------


def plots(cells: List[Cell], out_dir: str) -> List[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: List[str] = []
    for ctx in ["go", "python", "boundary", "c"]:
        for op in OP_ORDER:
            cc = [c for c in cells if c.context == ctx and c.op == op and c.record == "LogEntry" and c.status == "ok"]
            if not cc:
                continue
            cc.sort(key=lambda c: column_key((c.format, c.lib)))
            fig, ax = plt.subplots(figsize=(8, 0.35 * len(cc) + 1.5))
            labels = [f"{c.format} / {c.lib}" for c in cc]
            vals = [c.ns_per_op for c in cc]
            errs = [[c.ns_per_op - (c.q1 or c.ns_per_op) for c in cc], [(c.q3 or c.ns_per_op) - c.ns_per_op for c in cc]]  # type: ignore[operator]
            ax.barh(labels, vals, xerr=errs, color=["tab:orange" if c.lib.startswith("crossbuf") else "tab:blue" for c in cc])
            ax.set_xscale("log")
            ax.invert_yaxis()
            ax.set_xlabel("ns per op (median, IQR)")
            ax.set_title(f"{ctx}: {op}, LogEntry")
            fig.tight_layout()
            name = f"{ctx}-{op}-LogEntry.png"
            fig.savefig(os.path.join(out_dir, name), dpi=100)
            plt.close(fig)
            made.append(name)
        for op in ["decode-full", "read-one-field", "to-numpy", "encode"]:
            cc = [c for c in cells if c.context == ctx and c.op == op and c.record.startswith("Tensor/") and c.status == "ok"]
            series: Dict[Tuple[str, str], List[Cell]] = {}
            for c in cc:
                series.setdefault((c.format, c.lib), []).append(c)
            series = {k: v for k, v in series.items() if len(v) > 1}
            if not series:
                continue
            fig, ax = plt.subplots(figsize=(7, 5))
            for (f, lib), cs in sorted(series.items(), key=lambda kv: column_key(kv[0])):
                cs.sort(key=lambda c: record_key(c.record))
                xs = [record_key(c.record)[1] for c in cs]
                ax.plot(xs, [c.ns_per_op for c in cs], marker="o", label=f"{f} / {lib}",
                        linewidth=2.5 if lib.startswith("crossbuf") else 1)  # fmt: skip
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("tensor payload (bytes)")
            ax.set_ylabel("ns per op (median)")
            ax.set_title(f"{ctx}: Tensor {op} vs payload size")
            ax.legend(fontsize=7)
            fig.tight_layout()
            name = f"{ctx}-{op}-Tensor-scaling.png"
            fig.savefig(os.path.join(out_dir, name), dpi=100)
            plt.close(fig)
            made.append(name)
    return made


def write_outputs(args: Any, info: Dict[str, Any], cells: List[Cell]) -> None:
    cells.sort(key=lambda c: (c.context, OP_ORDER.index(c.op) if c.op in OP_ORDER else 99, record_key(c.record),
                              column_key((c.format, c.lib))))  # fmt: skip
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump({"machine": info, "cells": [asdict(c) for c in cells]}, f, indent=1)
    made = [] if args.no_plots else plots(cells, args.out)
    default_out = os.path.abspath(os.path.join(HERE, "results"))
    md_path = os.path.join(HERE, "RESULTS.md") if os.path.abspath(args.out) == default_out else os.path.join(args.out, "RESULTS.md")
    rel = os.path.relpath(args.out, os.path.dirname(md_path))
    pk = info["python_packages"]
    lines = [
        "# crossbuf benchmark results",
        "",
        f"Generated by `{info['command']}` on {info['timestamp']}.",
        "",
        f"- CPU: {info['cpu']} ({info['cores']} cores){', pinned to CPU ' + str(info['pinned_cpu']) if info['pinned_cpu'] else ''}",
        f"- OS: {info['os']}",
        f"- {info['go']}; Python {info['python']}",
        "- Python packages: " + ", ".join(f"{k} {v}" for k, v in pk.items()),
        "- Go modules: " + ", ".join(f"{k} {v}" for k, v in info["go_modules"].items()),
        "",
        "Times are medians over repetitions (see bench/README.md); ×N is the ratio to the crossbuf "
        "flatbuffers cell of the same op and record (Python native: to the boundary one). "
        "Raw data: `latest.json`.",
        "",
    ]
    if info.get("quick"):
        lines += ["**Quick (smoke) run: tiny iteration counts, numbers are not measurements.**", ""]
    lines += targets(cells)
    analysis = os.path.join(HERE, "analysis.md")  # why targets are missed: profiles, kept by hand
    if os.path.exists(analysis) and not info.get("quick"):
        with open(analysis) as f:
            lines += [f.read().rstrip(), ""]
    lines += tables(cells)
    if made:
        lines += ["## Plots", ""] + [f"![{m}]({rel}/{m})" for m in made] + [""]
    with open(md_path, "w") as f:
        f.write("\n".join(lines))
