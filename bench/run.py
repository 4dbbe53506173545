#!/usr/bin/env python3
"""crossbuf benchmark suite: runs the contexts, writes results/latest.json,
RESULTS.md and plots. See bench/README.md for the methodology.

    ./build.sh bench                      # full suite (about 10 minutes on 2 cores)
    ./build.sh bench --quick              # smoke run into bench/results/tmp/
    ./build.sh bench --contexts go --formats flatbuffers,protobuf --records LogEntry
"""

from __future__ import annotations

import os

# numpy's OpenBLAS starts one spinning worker thread per core; on a 2-core
# machine they steal time from every Python measurement. No benchmark here
# uses BLAS, so one thread is enough. Must be set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import datetime as dt
import platform
import re
import shlex
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from python.timing import Cell, Timed, run_interleaved  # noqa: E402

FORMATS = ["flatbuffers", "capnp", "json", "msgpack", "protobuf"]
RECORDS = ["LogEntry", "Sample", "Tensor"]
CONTEXTS = ["go", "python", "boundary", "c"]
SIZES = {"1KB": 1 << 10, "1MB": 1 << 20, "64MB": 64 << 20}
OPS = ["encode", "decode-full", "read-one-field"]
GO_OPS = {"Encode": "encode", "Decode": "decode-full", "ReadField": "read-one-field"}
CODEC_IDS = {"flatbuffers": 1, "capnp": 2, "json": 3, "msgpack": 4, "protobuf": 5}
C_BENCH = os.path.join(ROOT, "build", "bin", "xb_bench_c")


def csv(s: str) -> List[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--formats", type=csv, default=FORMATS, help="comma list of " + ",".join(FORMATS))
    p.add_argument("--records", type=csv, default=RECORDS, help="comma list of " + ",".join(RECORDS))
    p.add_argument("--contexts", type=csv, default=CONTEXTS, help="comma list of " + ",".join(CONTEXTS))
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny iteration counts, Tensor at 1KB and 1MB, output in <out>/tmp")  # fmt: skip
    p.add_argument("--out", default=None, help="output directory (default bench/results; --quick: bench/results/tmp)")
    p.add_argument("--go-benchtime", default=None, help="go test -benchtime per round (default 100ms; --quick: 20x)")
    p.add_argument("--reps", type=int, default=None, help="repetitions per cell (default 7, Go rounds 3; --quick: 2/1)")
    p.add_argument("--target-ms", type=float, default=None, help="Python: time per repetition (default 20; --quick: 1)")
    p.add_argument("--pin", default=None, help="run benchmark processes under taskset -c PIN (e.g. 1)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    a = p.parse_args(argv)
    for name, allowed in (("formats", FORMATS), ("records", RECORDS), ("contexts", CONTEXTS)):
        bad = [x for x in getattr(a, name) if x not in allowed]
        if bad:
            p.error(f"--{name}: unknown {bad}; choose from {allowed}")
    a.sizes = ["1KB", "1MB"] if a.quick else ["1KB", "1MB", "64MB"]
    if a.out is None:
        a.out = os.path.join(HERE, "results", "tmp") if a.quick else os.path.join(HERE, "results")
    a.go_benchtime = a.go_benchtime or ("20x" if a.quick else "100ms")
    a.go_rounds = (a.reps if a.reps else 1) if a.quick else (a.reps or 3)
    a.reps = a.reps or (2 if a.quick else 7)
    a.target_s = (a.target_ms or (1.0 if a.quick else 20.0)) / 1000
    if a.pin and not shutil.which("taskset"):
        print("taskset not found: --pin ignored", file=sys.stderr)
        a.pin = None
    return a


def record_names(args: argparse.Namespace) -> List[str]:
    out: List[str] = []
    for r in args.records:
        out += [f"Tensor/size={s}" for s in args.sizes] if r == "Tensor" else [r]
    return out


# ---- machine and versions --------------------------------------------------------


def run_text(cmd: List[str], **kw: Any) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable: {e}"


def machine_info(args: argparse.Namespace, argv: List[str]) -> Dict[str, Any]:
    from importlib import metadata

    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    py = {}
    for dist in ["numpy", "matplotlib", "rich", "orjson", "msgspec", "msgpack", "protobuf", "flatbuffers", "pycapnp"]:
        try:
            py[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            py[dist] = "not installed"
    try:
        from google.protobuf.internal import api_implementation

        py["protobuf-backend"] = api_implementation.Type()
    except Exception as e:  # noqa: BLE001
        py["protobuf-backend"] = f"unavailable: {e}"
    go_mods = {}
    for ln in run_text(["go", "list", "-m", "all"], cwd=ROOT).splitlines():
        parts = ln.split()
        if len(parts) >= 2:
            go_mods[parts[0]] = parts[1]
    wanted = ["capnproto.org/go/capnp/v3", "github.com/google/flatbuffers", "google.golang.org/protobuf",
              "github.com/planetscale/vtprotobuf", "github.com/bytedance/sonic", "github.com/goccy/go-json",
              "github.com/vmihailenco/msgpack/v5", "github.com/tinylib/msgp"]  # fmt: skip
    return {
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        # build.sh names itself; run directly, the interpreter and arguments.
        "command": os.environ.get("XB_BENCH_COMMAND") or " ".join(shlex.quote(x) for x in [sys.executable, *argv]),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "kernel": platform.release(),
        "go": run_text(["go", "version"]),
        "python": sys.version.split()[0],
        "python_packages": py,
        "go_modules": {m: go_mods.get(m, "not in module graph") for m in wanted},
        "pinned_cpu": args.pin,
        "quick": args.quick,
    }


# ---- context 1: Go ------------------------------------------------------------------

GO_LINE = re.compile(r"^Benchmark(\w+)/format=([\w-]+)/lib=([\w-]+)/record=(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$")
GO_MISSING = re.compile(r"^XB_MISSING Benchmark(\w+)/format=([\w-]+)/lib=([\w-]+)/record=(\S+)\t(.*)$")


def taskset(args: argparse.Namespace) -> List[str]:
    return ["taskset", "-c", args.pin] if args.pin else []


def run_go(args: argparse.Namespace, progress: Any) -> List[Cell]:
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    binary = os.path.join(ROOT, "build", "bench", "xbbench.test")
    build = subprocess.run(["go", "test", "-c", "-o", binary, "./bench/go"], cwd=ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        reason = "Go benchmarks do not build: " + (build.stderr.strip().splitlines() or ["?"])[-1]
        return [Cell("go", f, "?", r, op, status="failed", reason=reason)
                for f in args.formats for r in record_names(args) for op in OPS]  # fmt: skip
    env = dict(os.environ, XB_BENCH_FORMATS=",".join(args.formats), XB_BENCH_RECORDS=",".join(args.records),
               XB_BENCH_TENSOR_SIZES=",".join(args.sizes))  # fmt: skip
    samples: Dict[Tuple[str, str, str, str], List[Dict[str, float]]] = {}
    missing: Dict[Tuple[str, str, str, str], str] = {}
    failures: List[str] = []
    raw = open(os.path.join(args.out, "go-bench.txt"), "w")
    try:
        for rnd in range(args.go_rounds):
            cmd = taskset(args) + [binary, "-test.run", "^$", "-test.bench", ".", "-test.benchmem",
                                   "-test.benchtime", args.go_benchtime, "-test.timeout", "30m"]  # fmt: skip
            proc = subprocess.Popen(cmd, cwd=os.path.join(ROOT, "bench", "go"), env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                raw.write(line)
                if m := GO_MISSING.match(line.rstrip("\n")):
                    op, f, lib, rec, why = m.groups()
                    missing[(GO_OPS.get(op, op), f, lib, rec)] = why
                elif m := GO_LINE.match(line.strip()):
                    op, f, lib, rec, _n, rest = m.groups()
                    vals = {unit: float(v) for v, unit in re.findall(r"([\d.]+) (\S+)", rest)}
                    samples.setdefault((GO_OPS.get(op, op), f, lib, rec), []).append(vals)
                    progress(f"go round {rnd + 1}/{args.go_rounds}: {op} {f} {lib} {rec}")
                elif line.startswith(("--- FAIL", "FAIL", "panic:")) or "_test.go:" in line:
                    failures.append(line.rstrip())
            if proc.wait() != 0:
                failures.append(f"round {rnd + 1}: benchmark binary exited {proc.returncode}")
    finally:
        raw.close()
    cells = []
    for (op, f, lib, rec), vs in sorted(samples.items()):
        c = Cell("go", f, lib, rec, op)
        c.set_samples([v["ns/op"] for v in vs])
        c.allocs_per_op = median([v.get("allocs/op", float("nan")) for v in vs])
        c.bytes_per_op = median([v.get("B/op", float("nan")) for v in vs])
        if "bytes" in vs[0]:
            c.bytes = int(vs[0]["bytes"])
        cells.append(c)
    for (op, f, lib, rec), why in sorted(missing.items()):
        if (op, f, lib, rec) not in samples:
            cells.append(Cell("go", f, lib, rec, op, status="missing", reason=why))
    if failures:
        cells.append(Cell("go", "*", "*", "*", "*", status="failed", reason="\n".join(failures[:20])))
    return cells


def median(xs: List[float]) -> float:
    import statistics

    return statistics.median(xs)


# ---- context 2: Python native ----------------------------------------------------------


def test_records(args: argparse.Namespace) -> List[Tuple[str, Any]]:
    from crossbuf import testdata

    out: List[Tuple[str, Any]] = []
    for r in args.records:
        if r == "LogEntry":
            out.append((r, testdata.log_entry(1)))
        elif r == "Sample":
            out.append((r, testdata.sample(1)))
        else:
            out += [(f"Tensor/size={s}", testdata.tensor(1, SIZES[s])) for s in args.sizes]
    return out


def python_cells(args: argparse.Namespace) -> Tuple[List[Cell], List[Timed]]:
    from python import native

    cells: List[Cell] = []
    timed: List[Timed] = []
    try:
        recs = test_records(args)
    except Exception as e:  # noqa: BLE001
        why = f"crossbuf.testdata unavailable: {type(e).__name__}: {e}"
        return [Cell("python", f, "*", r, op, status="missing", reason=why)
                for f in args.formats for r in record_names(args) for op in OPS], []  # fmt: skip
    for fmt, lib, _dist, factory in native.LIBS:
        if fmt not in args.formats:
            continue
        for rname, rec in recs:
            mk = lambda op: Cell("python", fmt, lib, rname, op)  # noqa: E731
            try:
                impl = factory(rec)
                why = native.check(impl, rec)
            except ImportError as e:
                why = f"missing: {e}"
                cells += [Cell("python", fmt, lib, rname, op, status="missing", reason=str(e)) for op in OPS]
                continue
            except Exception as e:  # noqa: BLE001
                why = f"{type(e).__name__}: {e}"
            if why:
                cells += [Cell("python", fmt, lib, rname, op, status="failed", reason=why) for op in OPS]
                continue
            wire = impl.wire
            enc, dec, rd = mk("encode"), mk("decode-full"), mk("read-one-field")
            enc.bytes = len(wire)
            timed.append(Timed(enc, impl.encode))  # type: ignore[arg-type]
            timed.append(Timed(dec, lambda d=impl.decode, w=wire: d(w)))  # type: ignore[misc]
            timed.append(Timed(rd, lambda r=impl.read, w=wire: r(w)))  # type: ignore[misc]
            cells += [enc, dec, rd]
    return cells, timed


# ---- context 3: across the boundary -----------------------------------------------------


def boundary_cells(args: argparse.Namespace) -> Tuple[List[Cell], List[Timed], List[Any]]:
    try:
        from python import boundary  # first: its import puts python/ on sys.path

        import crossbuf as xb
    except Exception as e:  # noqa: BLE001
        why = f"crossbuf package unavailable: {type(e).__name__}: {e}"
        return [Cell("boundary", f, "crossbuf", r, op, status="missing", reason=why)
                for f in args.formats for r in record_names(args) for op in OPS], [], []  # fmt: skip
    cells: List[Cell] = []
    timed: List[Timed] = []
    setups: List[Any] = []
    for fmt in args.formats:
        codec = xb.Codec(CODEC_IDS[fmt])
        for rname, rec in test_records(args):
            kind = rname.split("/")[0]
            batch = kind != "Tensor" or rname.endswith("=1KB")
            try:
                s = boundary.Setup(xb, codec, rec, batch)
                setups.append(s)
                why = boundary.check(s)
            except Exception as e:  # noqa: BLE001
                why = f"{type(e).__name__}: {e}"
            if why:
                cells += [Cell("boundary", fmt, "crossbuf", rname, op, status="failed", reason=why) for op in OPS]
                continue
            for bc in boundary.cells(xb, s, kind):
                c = Cell("boundary", fmt, bc.lib, rname, bc.op, bytes=bc.nbytes, records_per_op=bc.records_per_op)
                cells.append(c)
                timed.append(Timed(c, bc.fn))  # type: ignore[arg-type]
    return cells, timed, setups


# ---- context 4: C --------------------------------------------------------------------------

C_LINE = re.compile(r"^BENCH\s+(.*)$")
C_OPS = {"decode": "decode-full", "decode_full": "decode-full", "read_field": "read-one-field",
         "read_one_field": "read-one-field", "read": "read-one-field"}  # fmt: skip


def c_record(r: str) -> str:
    """Tensor-1KB, Tensor_1KB and Tensor/size=1KB all name the same row."""
    m = re.match(r"^Tensor(?:[-_/]|/size=)(\w+)$", r)
    return f"Tensor/size={m.group(1)}" if m and not r.startswith("Tensor/size=") else r


def run_c(args: argparse.Namespace) -> List[Cell]:
    if not os.path.exists(C_BENCH):
        return [Cell("c", f, "crossbuf", r, op, status="missing", reason="C bench not built")
                for f in args.formats for r in record_names(args) for op in OPS]  # fmt: skip
    cmd = taskset(args) + [C_BENCH] + (["--quick"] if args.quick else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    with open(os.path.join(args.out, "c-bench.txt"), "w") as f:
        f.write(proc.stdout + proc.stderr)
    per: Dict[Tuple[str, str, str], List[Tuple[float, Optional[int]]]] = {}
    for line in proc.stdout.splitlines():
        m = C_LINE.match(line.strip())
        if not m:
            continue
        kv = dict(x.split("=", 1) for x in m.group(1).split() if "=" in x)
        try:
            key = (kv["format"], c_record(kv["record"]), C_OPS.get(kv["op"], kv["op"]))
            per.setdefault(key, []).append((float(kv["ns_per_op"]), int(kv["bytes"]) if "bytes" in kv else None))
        except (KeyError, ValueError):
            continue
    cells = []
    for (f, r, op), vs in sorted(per.items()):
        if f not in args.formats:
            continue
        c = Cell("c", f, "crossbuf", r, op)
        c.set_samples([v for v, _ in vs])
        c.bytes = vs[0][1]
        cells.append(c)
    for f in args.formats:
        for r in record_names(args):
            for op in OPS:
                if not any(c.format == f and c.record == r and c.op == op for c in cells):
                    why = f"not reported by xb_bench_c (exit {proc.returncode})"
                    cells.append(Cell("c", f, "crossbuf", r, op, status="missing", reason=why))
    return cells


# ---- main ------------------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    info = machine_info(args, [os.path.relpath(__file__, ROOT)] + argv)
    cells: List[Cell] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as prog:  # fmt: skip
        if "go" in args.contexts:
            t = prog.add_task("go: building", total=None)
            cells += run_go(args, lambda d: prog.update(t, description=d[:90], advance=1))
            prog.update(t, description="go: done", total=1, completed=1)
        timed: List[Timed] = []
        setups: List[Any] = []
        if "python" in args.contexts:
            cs, ts = python_cells(args)
            cells += cs
            timed += ts
        if "boundary" in args.contexts:
            cs, ts, setups = boundary_cells(args)
            cells += cs
            timed += ts
        if timed:
            t = prog.add_task("python + boundary", total=len(timed) * (1 + args.reps))
            if args.pin:
                os.sched_setaffinity(0, {int(x) for x in args.pin.split(",")})
            run_interleaved(timed, args.reps, args.target_s, lambda: prog.advance(t))
        del timed
        for s in setups:
            try:
                s.close()
            except Exception:  # noqa: BLE001 - closing is best effort at exit
                pass
        if "c" in args.contexts:
            cells += run_c(args)
    from report import write_outputs

    write_outputs(args, info, cells)
    failed = [c for c in cells if c.status == "failed"]
    for c in failed:
        console.print(f"[red]FAILED[/] {c.key()}: {c.reason}")
    console.print(f"wrote {args.out}: {sum(c.status == 'ok' for c in cells)} cells ok, "
                  f"{sum(c.status == 'missing' for c in cells)} missing, {len(failed)} failed")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
