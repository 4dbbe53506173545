"""The channel context's targets and plots (hooked into bench/report.py)."""

from __future__ import annotations

import math
import os
from typing import Any, List, Optional, Sequence

PERCENTILES = [("latency-p50", 50.0), ("latency-p99", 99.0), ("latency-p99.9", 99.9)]


def channel_targets(cells: Sequence[Any]) -> List[Any]:
    from report import Target, absolute_target, find, ratio_target

    ch = [c for c in cells if c.context == "channel"]
    if not ch:
        return []

    def cell(lib: str, op: str, variant: str = "raw", record: str = "LogEntry") -> Optional[Any]:
        return find(ch, lib=lib, op=op, variant=variant, record=record)

    out: List[Target] = []
    xb_typed = "crossbuf go→python"
    for op, what in (("latency-p50", "p50 latency"), ("throughput", "throughput")):
        for opp, limit, note in (("unix-socket go→python", 3.0, "a Unix socket + msgspec"),
                                 ("iceoryx2 python→python", 1.5, "iceoryx2 + msgspec (Python→Python)")):  # fmt: skip
            # the opponent's time over crossbuf's: ≥ limit means crossbuf is that many times faster
            out.append(ratio_target(f"Headline, LogEntry made in Go → typed Python object, {what}: ≥ {limit:g}× "
                                    f"{note}", cell(opp, op, "typed"), cell(xb_typed, op, "typed"), limit, False))  # fmt: skip
    out.append(ratio_target("Go→Python decoded whole (typed), throughput: ≥ 1.5× the Unix socket + msgspec pipeline",
                            cell("unix-socket go→python", "throughput", "typed"),
                            cell(xb_typed, "throughput", "typed"), 1.5, False))  # fmt: skip
    # the producer alone over the one-field consumer's pipeline: ≥ 0.8 means it keeps up with 80 % of the rate
    out.append(ratio_target("Go→Python reading one field (FlatBuffers, compiled path, batches), throughput: "
                            "≥ 80 % of the Go publisher's own encode-and-publish rate",
                            cell("crossbuf go→nobody", "throughput", "one-field"),
                            cell("crossbuf go→python", "throughput", "one-field"), 0.8, False))  # fmt: skip
    out.append(ratio_target("1 MB Tensor Go→Python throughput (every byte checksummed): ≥ 2× the Unix socket",
                            cell("unix-socket go→python", "throughput", record="Tensor/size=1MB"),
                            cell("crossbuf go→python", "throughput", record="Tensor/size=1MB"), 2.0, False))  # fmt: skip
    out.append(ratio_target("Parked wake-up p50 (Python→Python): no worse than an os.pipe wake-up (ratio ≤ 1)",
                            cell("crossbuf python→python", "latency-p50", "wake"),
                            cell("os.pipe python→python", "latency-p50", "wake"), 1.0, True))  # fmt: skip
    for lib, limit in (("crossbuf go→go", 1e3), ("crossbuf go→python", 5e3)):
        for r in ("Sample", "LogEntry"):
            out.append(absolute_target(f"{lib}, {r}, busy-spin p50 one-way ≤ {limit / 1e3:g} µs",
                                       cell(lib, "latency-p50", record=r), limit))  # fmt: skip
    return out


def channel_notes(cells: Sequence[Any], quick: bool) -> List[str]:
    """bench/channel/analysis.md (profile notes kept by hand) when the run has channel cells."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if quick or not os.path.exists(path) or not any(c.context == "channel" for c in cells):
        return []
    with open(path) as f:
        return [f.read().rstrip(), ""]


def channel_plots(cells: Sequence[Any], out_dir: str, quick: bool) -> List[str]:
    ch = [c for c in cells if c.context == "channel" and c.status == "ok" and c.samples]
    if not ch:
        return []
    import matplotlib

    matplotlib.use("Agg")
    made: List[str] = []
    from report import record_key

    for rec in sorted({c.record for c in ch}, key=record_key):
        name = f"channel-latency-{rec.replace('/size=', '-')}.png"
        if latency_plot([c for c in ch if c.record == rec], rec, os.path.join(out_dir, name), quick):
            made.append(name)
    name = "channel-throughput-by-size.png"
    if throughput_plot(ch, os.path.join(out_dir, name), quick):
        made.append(name)
    return made


def series(cells: Sequence[Any]) -> List[tuple]:
    """(format, lib, variant) of each pipeline, crossbuf's first."""
    return sorted({(c.format, c.lib, c.variant) for c in cells},
                  key=lambda k: (not k[1].startswith("crossbuf"), k[2], k[1], k[0]))  # fmt: skip


def series_label(fmt: str, lib: str, variant: str) -> str:
    """The legend entry: the body's format only where it is not MessagePack."""
    return f"{lib} ({variant})" if fmt == "msgpack" else f"{lib} ({variant}, {fmt})"


def style(lib: str, i: int) -> tuple:
    """crossbuf in oranges and reds, thick; the opponents in the report's palette."""
    from report import COLORS, MARKERS

    if lib.startswith("crossbuf"):
        return ["#ff7f0e", "#d62728", "#a63603", "#fdae6b", "#e377c2", "#8c2d04"][i % 6], "osD^vP"[i % 6], 2.2
    return COLORS[(i + 1) % len(COLORS)], MARKERS[(i + 1) % len(MARKERS)], 1.2


def latency_plot(cells: Sequence[Any], rec: str, path: str, quick: bool) -> bool:
    """Latency against percentile (50, 99, 99.9 on a 'nines' axis), a line
    per pipeline, the 95 % interval of each point as whiskers."""
    import matplotlib.pyplot as plt

    from report import fmt_ns, watermark

    keys = series([c for c in cells if c.op.startswith("latency")])
    if not keys:
        return False
    fig, ax = plt.subplots(figsize=(10, 6.5))
    nx = [-math.log10(1 - p / 100) for _, p in PERCENTILES]
    ic = io = 0
    for fmt, lib, variant in keys:
        pts = [next((c for c in cells if (c.format, c.lib, c.variant, c.op) == (fmt, lib, variant, op)), None)
               for op, _ in PERCENTILES]  # fmt: skip
        xs = [x for x, c in zip(nx, pts) if c is not None]
        ok_pts = [c for c in pts if c is not None]
        if not ok_pts:
            continue
        mine = lib.startswith("crossbuf")
        col, m, lw = style(lib, ic if mine else io)
        ic, io = (ic + 1, io) if mine else (ic, io + 1)
        ys = [c.ns_per_op for c in ok_pts]
        err = [[c.ns_per_op - c.ci_lo for c in ok_pts], [c.ci_hi - c.ns_per_op for c in ok_pts]]
        ax.errorbar(xs, ys, yerr=err, marker=m, color=col, linewidth=lw, capsize=3,
                    label=series_label(fmt, lib, variant), linestyle="-" if variant != "typed" else "--")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(nx)
    ax.set_xticklabels(["p50", "p99", "p99.9"])
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: fmt_ns(v)))
    ax.grid(alpha=0.3, which="both")
    ax.set_ylabel("one-way latency (median of repetitions, 95 % interval; log scale)")
    ax.set_title(f"channel: one-way latency percentiles, {rec}, producer and consumer on different CPUs\n"
                 "raw: consumer checksums the bytes; typed: and decodes a msgspec Struct or protobuf message (stamp "
                 "before encoding);\nwake: paced so waiters park; one-field: reads and checks one field in place",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    fig.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.08)
    watermark(fig, quick)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def throughput_plot(cells: Sequence[Any], path: str, quick: bool) -> bool:
    """Messages per second against the body size, a line per pipeline."""
    import matplotlib.pyplot as plt

    from report import watermark

    # wake cells run the same throughput phase as raw ones; one x per record
    # (its bodies differ by a few bytes between encoders): the median size
    tc = [c for c in cells if c.op == "throughput" and c.bytes and c.variant != "wake"]
    import statistics

    size = {r: statistics.median([c.bytes for c in tc if c.record == r]) for r in {c.record for c in tc}}
    keys = series(tc)
    if not keys:
        return False
    fig, ax = plt.subplots(figsize=(10, 6.5))
    ic = io = 0
    for fmt, lib, variant in keys:
        pts = sorted([c for c in tc if (c.format, c.lib, c.variant) == (fmt, lib, variant)],
                     key=lambda c: size[c.record])  # fmt: skip
        mine = lib.startswith("crossbuf")
        col, m, lw = style(lib, ic if mine else io)
        ic, io = (ic + 1, io) if mine else (ic, io + 1)
        ys = [1e9 / c.ns_per_op for c in pts]
        err = [[y - 1e9 / c.ci_hi for y, c in zip(ys, pts)], [1e9 / c.ci_lo - y for y, c in zip(ys, pts)]]
        ax.errorbar([size[c.record] for c in pts], ys, yerr=err, marker=m, color=col, linewidth=lw, capsize=3,
                    label=series_label(fmt, lib, variant), linestyle="-" if variant != "typed" else "--")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    for r, b in size.items():
        ax.annotate(r, (b, 1), xycoords=("data", "axes fraction"), xytext=(0, -28), textcoords="offset points",
                    ha="center", fontsize=7)  # fmt: skip
    ax.set_xlabel("message body (bytes; the median over the pipelines of each record)", labelpad=14)
    ax.set_ylabel("messages per second (median, 95 % interval; log scale)")
    ax.set_title("channel: throughput against message size; the consumer checksums every body byte "
                 "(one-field: reads and checks one field; go→nobody: the publisher alone)", fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    fig.subplots_adjust(left=0.1, right=0.98, top=0.93, bottom=0.09)
    watermark(fig, quick)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True
