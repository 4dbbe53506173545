#!/usr/bin/env python3
"""crossbuf benchmark suite: runs the contexts, writes results/latest.json,
RESULTS.md and plots. See bench/README.md for the methodology.

    ./build.sh bench                      # full suite (about 30 minutes on 2 cores)
    ./build.sh bench --quick              # smoke run into bench/results/tmp/
    ./build.sh bench --contexts go --formats flatbuffers,protobuf --records LogEntry
    ./build.sh bench --schema my.fbs --type my.ns.Order --data orders.json   # any schema: your own type
"""

from __future__ import annotations

import os

# numpy's OpenBLAS starts one spinning worker thread per core; on a 2-core
# machine they steal time from every Python measurement. No benchmark here
# uses BLAS, so one thread is enough. Must be set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import datetime as dt
import gc
import itertools
import platform
import re
import shlex
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from python.timing import Cell, Timed, run_interleaved  # noqa: E402

FORMATS = ["flatbuffers", "capnp", "json", "msgpack", "protobuf"]
RECORDS = ["LogEntry", "Sample", "Tensor", "Monster", "ParkingLot"]  # the last two: any-schema records
CONTEXTS = ["go", "python", "boundary", "c", "channel"]
SIZES = {"1KB": 1 << 10, "1MB": 1 << 20, "64MB": 64 << 20}
OPS = ["encode", "decode-full", "read-one-field"]
GO_OPS = {"encode": "encode", "decode": "decode-full", "read": "read-one-field"}
CODEC_IDS = {"flatbuffers": 1, "capnp": 2, "json": 3, "msgpack": 4, "protobuf": 5}
C_BENCH = os.path.join(ROOT, "build", "bin", "xb_bench_c")
# Record pools: seeds 1..N with N = 1000 or as many as fit in 256 MiB of
# record data, whichever is smaller: the same rule in every language.
POOL_MAX, POOL_BYTES = 1000, 256 << 20
QUICK_POOL = 16
# Batch cells read the whole pool in one call (records with a 1000 pool).
BATCH_RECORDS = {"LogEntry", "Sample", "Tensor/size=1KB"}


def csv(s: str) -> List[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--formats", type=csv, default=FORMATS, help="comma list of " + ",".join(FORMATS))
    p.add_argument("--records", type=csv, default=None, help="comma list of " + ",".join(RECORDS) + " (default: all)")
    p.add_argument("--contexts", type=csv, default=CONTEXTS, help="comma list of " + ",".join(CONTEXTS))
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny iteration counts and pools, Tensor at 1KB and 1MB, output in <out>/tmp")  # fmt: skip
    p.add_argument("--out", default=None, help="output directory (default bench/results; --quick: bench/results/tmp)")
    p.add_argument("--go-benchtime", default=None, help="go test -benchtime per round (default 200ms; --quick: 20x)")
    p.add_argument("--go-rounds", type=int, default=None,
                   help="Go rounds per cell, the first discarded (default 10; --quick: 3)")  # fmt: skip
    p.add_argument("--reps", type=int, default=None, help="Python/C repetitions per cell (default 10; --quick: 3)")
    p.add_argument("--target-ms", type=float, default=None, help="Python: time per repetition (default 20; --quick: 1)")
    p.add_argument("--pool", type=int, default=None, help="cap the record pools (default 1000 / 256 MiB; --quick: 16)")
    p.add_argument("--pin", default="auto",
                   help="CPU of the timed loops: auto (the last CPU when there are two or more), a CPU number, "
                        "or none")  # fmt: skip
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--report-only", action="store_true",
                   help="measure nothing: render RESULTS.md and the plots again from <out>/latest.json "
                        "(after editing bench/analysis.md or the report code)")  # fmt: skip
    g = p.add_argument_group("any schema: your own type (then --records defaults to it alone)")
    g.add_argument("--schema", help="a .fbs or .capnp schema")
    g.add_argument("--type", help="the message type (FlatBuffers: full name, e.g. MyGame.Example.Monster)")
    g.add_argument("--data", help="a JSON file: one record or a list of them (the pool)")
    g.add_argument("--imports", type=csv, default=[], help="comma list of include/import dirs (default: the schema's)")
    g.add_argument("--path", help="what read-one-field reads, e.g. lines[0].sku (default: the first string or "
                                  "scalar field, searched from the root)")  # fmt: skip
    g.add_argument("--proto", help="a .proto twin: adds Protobuf through dynamicpb / python protobuf (dynamic)")
    g.add_argument("--proto-type", help="the twin's message, fully qualified")
    g.add_argument("--twin", help="a twin .fbs or .capnp of the other zero-copy format (Go cells)")
    g.add_argument("--twin-type", help="the twin's type")
    a = p.parse_args(argv)
    if a.schema:
        if not (a.type and a.data):
            p.error("--schema needs --type and --data")
    if a.records is None:
        a.records = [] if a.schema else RECORDS
    for name, allowed in (("formats", FORMATS), ("records", RECORDS), ("contexts", CONTEXTS)):
        bad = [x for x in getattr(a, name) if x not in allowed]
        if bad:
            p.error(f"--{name}: unknown {bad}; choose from {allowed}")
    a.sizes = ["1KB", "1MB"] if a.quick else ["1KB", "1MB", "64MB"]
    if a.out is None:
        a.out = os.path.join(HERE, "results", "tmp") if a.quick else os.path.join(HERE, "results")
    a.go_benchtime = a.go_benchtime or ("20x" if a.quick else "200ms")
    a.go_rounds = a.go_rounds or (3 if a.quick else 10)
    if a.go_rounds < 2:
        p.error("--go-rounds: at least 2 (the first round is discarded)")
    a.reps = a.reps or (3 if a.quick else 10)
    a.target_s = (a.target_ms or (1.0 if a.quick else 20.0)) / 1000
    a.pool = a.pool or (QUICK_POOL if a.quick else None)
    a.pin_cpu, a.pin_note = choose_pin(a.pin)
    return a


def choose_pin(pin: str) -> Tuple[Optional[int], str]:
    """The CPU the timed loops run on, and a note for the results. The
    orchestrating process (progress display, output parsing) moves to the
    other CPUs, so no role shares a CPU with a timed loop."""
    if pin == "none":
        return None, "not pinned (--pin none)"
    try:
        cpus = sorted(os.sched_getaffinity(0))
        ALL_CPUS.update(cpus)
    except (AttributeError, OSError) as e:
        return None, f"not pinned: {e}"
    if pin == "auto":
        if len(cpus) < 2:
            return None, "not pinned: one CPU available"
        cpu = cpus[-1]
    else:
        cpu = int(pin)
    rest = set(cpus) - {cpu}
    try:
        os.sched_setaffinity(0, {cpu})  # probe: can this process pin at all?
        os.sched_setaffinity(0, rest or {cpu})
    except OSError as e:
        return None, f"not pinned: sched_setaffinity failed: {e}"
    return cpu, f"timed loops on CPU {cpu}; the harness on CPU {','.join(map(str, sorted(rest)))}"


def record_names(args: argparse.Namespace) -> List[str]:
    out: List[str] = []
    for r in args.records:
        if r not in SCHEMA_RECORDS:
            out += [f"Tensor/size={s}" for s in args.sizes] if r == "Tensor" else [r]
    return out


def pool_size(args: argparse.Namespace, rec_bytes: int) -> int:
    n = min(POOL_MAX, max(1, POOL_BYTES // max(1, rec_bytes)))
    return min(n, args.pool) if args.pool else n


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
        "pinned_cpu": args.pin_cpu,
        "pinning": args.pin_note,
        "load_average": load_average(),
        "go_rounds": args.go_rounds,
        "go_benchtime": args.go_benchtime,
        "reps": args.reps,
        "pool_cap": args.pool,
        "quick": args.quick,
    }


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unavailable"


# ---- context 1: Go ------------------------------------------------------------------

GO_LINE = re.compile(r"^Benchmark(?:Codecs|Schemas)/(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$")
GO_MISSING = re.compile(r"^XB_MISSING Benchmark(?:Codecs|Schemas)/(\S+)\t(.*)$")


def go_key(path: str) -> Tuple[str, str, str, str, str, str]:
    """(op, format, lib, variant, data, record) of a benchmark name's key=value path."""
    kv: Dict[str, str] = {}
    for part in path.split("/"):
        k, _, v = part.partition("=")
        kv[k] = v
    rec = kv.get("record", "?") + (f"/size={kv['size']}" if "size" in kv else "")
    return (GO_OPS.get(kv.get("op", ""), kv.get("op", "?")), kv.get("format", "?"), kv.get("lib", "?"),
            kv.get("variant", "default"), kv.get("data", "pool"), rec)  # fmt: skip


def benchtime_floor(bt: str) -> Tuple[float, int]:
    """(seconds, iterations) a round must reach, one of the two: -benchtime's
    duration, or 10 iterations."""
    if bt.endswith("x"):
        return float("inf"), int(bt[:-1])
    m = re.match(r"^([\d.]+)(ns|us|µs|ms|s|m)$", bt)
    if not m:
        return float("inf"), 10
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(2)]
    return float(m.group(1)) * scale, 10


def run_go(args: argparse.Namespace, progress: Callable[[str], None]) -> List[Cell]:
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    binary = os.path.join(ROOT, "build", "bench", "xbbench.test")
    build = subprocess.run(["go", "test", "-c", "-o", binary, "./bench/go"], cwd=ROOT, capture_output=True, text=True,
                           preexec_fn=child_affinity)  # fmt: skip
    if build.returncode != 0:
        reason = "Go benchmarks do not build: " + (build.stderr.strip().splitlines() or ["?"])[-1]
        return [Cell("go", f, "?", r, op, status="failed", reason=reason)
                for f in args.formats for r in record_names(args) for op in OPS]  # fmt: skip
    env = dict(os.environ, XB_BENCH_FORMATS=",".join(args.formats), XB_BENCH_RECORDS=",".join(args.records) or "-",
               XB_BENCH_TENSOR_SIZES=",".join(args.sizes),
               XB_BENCH_SCHEMAS=",".join(sp.pool_file(os.path.join(args.work, sp.record + ".pool"))
                                         for sp in args.schema_pools))  # fmt: skip
    if args.pool:
        env["XB_BENCH_POOL"] = str(args.pool)
    if args.pin_cpu is not None:
        env["XB_BENCH_PIN_CPU"] = str(args.pin_cpu)
    Key = Tuple[str, str, str, str, str, str]
    samples: Dict[Key, List[Tuple[int, Dict[str, float]]]] = {}
    missing: Dict[Key, str] = {}
    failures: List[str] = []
    raw = open(os.path.join(args.out, "go-bench.txt"), "w")
    try:
        for rnd in range(args.go_rounds):
            # Round 1 checks every implementation on every record (the check is
            # the same in every round: same binary, same seeded data) and is
            # discarded as the warm-up.
            env["XB_BENCH_CHECK"] = "1" if rnd == 0 else "0"
            cmd = [binary, "-test.run", "^$", "-test.bench", ".", "-test.benchmem",
                   "-test.benchtime", args.go_benchtime, "-test.timeout", "60m"]  # fmt: skip
            proc = subprocess.Popen(cmd, cwd=os.path.join(ROOT, "bench", "go"), env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, preexec_fn=child_affinity)  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                raw.write(line)
                if m := GO_MISSING.match(line.rstrip("\n")):
                    missing[go_key(m.group(1))] = m.group(2)
                elif m := GO_LINE.match(line.strip()):
                    path, n, rest = m.groups()
                    vals = {unit: float(v) for v, unit in re.findall(r"([\d.]+) (\S+)", rest)}
                    if rnd > 0:
                        samples.setdefault(go_key(path), []).append((int(n), vals))
                    progress(f"go round {rnd + 1}/{args.go_rounds}{' (warm-up, checks)' if rnd == 0 else ''}: "
                             f"{path[:70]}")  # fmt: skip
                elif line.startswith("XB_PIN_FAILED"):
                    failures.append("pinning failed: " + line.strip())
                elif line.startswith(("--- FAIL", "FAIL", "panic:")) or "_test.go:" in line:
                    failures.append(line.rstrip())
            if proc.wait() != 0:
                failures.append(f"round {rnd + 1}: benchmark binary exited {proc.returncode}")
    finally:
        raw.close()
    floor_s, floor_n = benchtime_floor(args.go_benchtime)
    cells = []
    for key, vs in sorted(samples.items()):
        op, f, lib, variant, data, rec = key
        c = Cell("go", f, lib, rec, op, variant=variant, data=data)
        c.set_samples([v["ns/op"] for _, v in vs])
        c.iters = [n for n, _ in vs]
        c.inner = min(c.iters)
        c.below_floor = any(n < floor_n and n * v["ns/op"] * 1e-9 < 0.95 * floor_s for n, v in vs)
        c.allocs_per_op = median([v.get("allocs/op", float("nan")) for _, v in vs])
        c.bytes_per_op = median([v.get("B/op", float("nan")) for _, v in vs])
        if "bytes" in vs[0][1]:
            c.bytes = int(vs[0][1]["bytes"])
        cells.append(c)
    for key, why in sorted(missing.items()):
        if key not in samples:
            op, f, lib, variant, data, rec = key
            cells.append(Cell("go", f, lib, rec, op, variant=variant, data=data, status="missing", reason=why))
    if failures:
        cells.append(Cell("go", "*", "*", "*", "*", status="failed", reason="\n".join(failures[:20])))
    return cells


def median(xs: List[float]) -> float:
    import statistics

    return statistics.median(xs)


# ---- the record pools ------------------------------------------------------------------


def record_pools(args: argparse.Namespace) -> List[Tuple[str, Callable[[], List[Any]]]]:
    """(record name, pool factory) per record, generated lazily so one
    record's pool at a time is alive."""
    from python import native  # noqa: F401 - puts python/ and python/refgen on sys.path

    from crossbuf import testdata

    out: List[Tuple[str, Callable[[], List[Any]]]] = []
    for r in args.records:
        if r == "LogEntry":
            n = pool_size(args, 1024)
            out.append((r, lambda n=n: [testdata.log_entry(i) for i in range(1, n + 1)]))
        elif r == "Sample":
            n = pool_size(args, 80)
            out.append((r, lambda n=n: [testdata.sample(i) for i in range(1, n + 1)]))
        elif r == "Tensor":
            for s in args.sizes:
                n = pool_size(args, SIZES[s])
                out.append((f"Tensor/size={s}",
                            lambda n=n, b=SIZES[s]: [testdata.tensor(i, b) for i in range(1, n + 1)]))  # fmt: skip
    return out + [(sp.record, lambda sp=sp: sp) for sp in args.schema_pools]


SCHEMA_RECORDS = ["Monster", "ParkingLot"]


def schema_pools(args: argparse.Namespace) -> List[Any]:
    """The any-schema pools (bench/python/anydata.py): Monster and ParkingLot
    when asked for, and the user's --schema type; written by the official
    tools and checked with them before anything runs."""
    from python import anydata

    if args.schema:
        SCHEMA_RECORDS.append(args.type.split(".")[-1].split(":")[-1])
    n = min(args.pool or POOL_MAX, POOL_MAX)
    out = []
    for r in args.records:
        if r in anydata.BUILTIN:
            try:
                out.append(anydata.builtin_pool(r, n, os.path.join(args.work, r)))
            except FileNotFoundError as e:  # the conformance folder is not beside this clone
                args.schema_missing += [Cell(ctx, "*", "*", "*", "*", status="missing", reason=f"{r}: {e}")
                                        for ctx in args.contexts if ctx != "c"]  # fmt: skip
    if args.schema:
        sp = anydata.user_pool(args.schema, args.type, args.data, n, os.path.join(args.work, "user"), args.path,
                               args.imports)  # fmt: skip
        if args.proto:
            fds = os.path.join(args.work, "twin.fds")
            anydata.run(["protoc", "--include_imports", "-I", os.path.dirname(os.path.abspath(args.proto)),
                         "--descriptor_set_out", fds, os.path.abspath(args.proto)])  # fmt: skip
            sp.proto, sp.proto_type = fds, args.proto_type
        if args.twin:
            sp.twin, sp.twin_type = os.path.abspath(args.twin), args.twin_type
        out.append(sp)
    return out


# ---- context 2: Python native ----------------------------------------------------------


def python_cells(args: argparse.Namespace, rname: str, pool: List[Any]) -> Tuple[List[Cell], List[Timed]]:
    from python import native

    cells: List[Cell] = []
    timed: List[Timed] = []
    kind = type(pool[0])
    single = rname == "LogEntry"
    for fmt, lib, _dist, factory in native.LIBS:
        if fmt not in args.formats:
            continue

        def mk(op: str, variant: str = "default", data: str = "pool", **kw: Any) -> Cell:
            return Cell("python", fmt, lib, rname, op, variant=variant, data=data, **kw)  # noqa: B023

        try:
            impl = factory(kind)
            wires = [impl.encode(r) for r in pool]
            why = native.check(impl, pool, wires)
        except ImportError as e:
            cells += [mk(op, status="missing", reason=str(e)) for op in OPS]
            continue
        except Exception as e:  # noqa: BLE001
            why = f"{type(e).__name__}: {e}"
        if why:
            cells += [mk(op, status="failed", reason=why) for op in OPS]
            continue

        def add(c: Cell, fn: Callable[[], Any]) -> None:
            cells.append(c)
            timed.append(Timed(c, fn))

        datas = [("pool", pool, wires)] + ([("single", pool[:1], wires[:1])] if single else [])
        for data, recs, ws in datas:
            nb = sum(map(len, ws)) // len(ws)
            add(mk("encode", "record", data, bytes=nb), lambda e=impl.encode, it=itertools.cycle(recs): e(next(it)))
            add(mk("decode-full", "record", data), lambda d=impl.decode, it=itertools.cycle(ws): d(next(it)))
            add(mk("read-one-field", "default", data), lambda r=impl.read, it=itertools.cycle(ws): r(next(it)))
        if impl.encode_native is not None and impl.to_native is not None:
            natives = [impl.to_native(r) for r in pool]
            add(mk("encode", "native"), lambda e=impl.encode_native, it=itertools.cycle(natives): e(next(it)))
        else:
            cells.append(mk("encode", "native", status="missing", reason=impl.why_no_native))
        if impl.decode_native is not None:
            c = mk("decode-full", "native")
            c.extra["output"] = impl.native_kind
            add(c, lambda d=impl.decode_native, it=itertools.cycle(wires): d(next(it)))
        else:
            cells.append(mk("decode-full", "native", status="missing", reason=impl.why_no_native))
        if rname in BATCH_RECORDS:
            n = len(wires)
            add(mk("batch-decode-full", "record", records_per_op=n), lambda d=impl.decode, ws=wires: [d(w) for w in ws])
            add(mk("batch-read-one-field", records_per_op=n), lambda r=impl.read, ws=wires: [r(w) for w in ws])
        if impl.to_numpy is not None:
            add(mk("to-numpy"), lambda t=impl.to_numpy, it=itertools.cycle(wires): t(next(it)))
    return cells, timed


# ---- context 3: across the boundary -----------------------------------------------------


def boundary_cells(args: argparse.Namespace, rname: str, pool: List[Any]) -> Tuple[List[Cell], List[Timed], List[Any]]:
    try:
        from python import boundary  # first: its import puts python/ on sys.path

        import crossbuf as xb
    except Exception as e:  # noqa: BLE001
        why = f"crossbuf package unavailable: {type(e).__name__}: {e}"
        return [Cell("boundary", f, "crossbuf", rname, op, status="missing", reason=why)
                for f in args.formats for op in OPS], [], []  # fmt: skip
    cells: List[Cell] = []
    timed: List[Timed] = []
    setups: List[Any] = []
    kind = rname.split("/")[0]
    for fmt in args.formats:
        codec = xb.Codec(CODEC_IDS[fmt])
        try:
            s = boundary.Setup(xb, codec, pool)
            setups.append(s)
            why = boundary.check(s)
        except Exception as e:  # noqa: BLE001
            why = f"{type(e).__name__}: {e}"
        if why:
            cells += [Cell("boundary", fmt, "crossbuf", rname, op, status="failed", reason=why) for op in OPS]
            continue
        for bc in boundary.cells(xb, s, kind, single=rname == "LogEntry", batch=rname in BATCH_RECORDS):
            c = Cell("boundary", fmt, bc.lib, rname, bc.op, variant=bc.variant, data=bc.data, bytes=bc.nbytes,
                     records_per_op=bc.records_per_op)  # fmt: skip
            cells.append(c)
            timed.append(Timed(c, bc.fn))
    return cells, timed, setups


def run_python_contexts(args: argparse.Namespace, progress: Callable[[str, int, int], None]) -> List[Cell]:
    """Python and boundary cells, one record pool at a time: its cells are
    set up, timed interleaved (repetitions round-robin over all of them),
    then released before the next pool is made."""
    cells: List[Cell] = []
    try:
        pools = record_pools(args)
    except Exception as e:  # noqa: BLE001
        why = f"crossbuf.testdata unavailable: {type(e).__name__}: {e}"
        return [Cell(ctx, f, "*", r, op, status="missing", reason=why) for ctx in ("python", "boundary")
                if ctx in args.contexts for f in args.formats for r in record_names(args) for op in OPS]  # fmt: skip
    for rname, make in pools:
        progress(f"python/boundary {rname}: generating the pool and checking every library", 0, 1)
        pool = make()
        timed: List[Timed] = []
        setups: List[Any] = []
        if not isinstance(pool, list):  # an any-schema pool: its own python and boundary cells
            from python import anyschema

            cs, timed, setups = anyschema.cells(args, pool, os.path.join(args.work, "gen", rname))
            cells += cs
        if isinstance(pool, list) and "python" in args.contexts:
            cs, ts = python_cells(args, rname, pool)
            cells += cs
            timed += ts
        if isinstance(pool, list) and "boundary" in args.contexts:
            cs, ts, setups = boundary_cells(args, rname, pool)
            cells += cs
            timed += ts
        total = len(timed) * (1 + args.reps)
        done = [0]

        def step() -> None:
            done[0] += 1
            progress(f"python/boundary {rname}: {len(timed)} cells × {args.reps} reps", done[0], total)  # noqa: B023

        saved = os.sched_getaffinity(0)
        if args.pin_cpu is not None:
            os.sched_setaffinity(0, {args.pin_cpu})  # this thread only: the timed loop
        try:
            run_interleaved(timed, args.reps, args.target_s, step)
        finally:
            os.sched_setaffinity(0, saved)
        del timed
        for s in setups:
            try:
                s.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        del pool, setups
        gc.collect()
    return cells


ALL_CPUS: Set[int] = set()


def child_affinity() -> None:
    """In a benchmark child before exec: every CPU again. The child pins its
    own timed thread; its other threads (the Go runtime's) stay free, and
    GOMAXPROCS, which Go reads from the affinity mask, stays the CPU count."""
    if ALL_CPUS:
        os.sched_setaffinity(0, ALL_CPUS)


# ---- context 4: C --------------------------------------------------------------------------

C_LINE = re.compile(r"^BENCH\s+(.*)$")
C_OPS = {"decode": "decode-full", "read_field": "read-one-field", "encode": "encode"}


def c_record(r: str) -> str:
    """Tensor-1KB names the row Tensor/size=1KB."""
    m = re.match(r"^Tensor-(\w+)$", r)
    return f"Tensor/size={m.group(1)}" if m else r


def run_c(args: argparse.Namespace) -> List[Cell]:
    if not os.path.exists(C_BENCH):
        return [Cell("c", f, "crossbuf", r, op, status="missing", reason="C bench not built")
                for f in args.formats for r in record_names(args) for op in OPS]  # fmt: skip
    cmd = [C_BENCH, "--reps", str(args.reps), "--sizes", ",".join(args.sizes)]
    if args.pool:
        cmd += ["--pool", str(args.pool)]
    if args.pin_cpu is not None:
        cmd += ["--pin", str(args.pin_cpu)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, preexec_fn=child_affinity)
    with open(os.path.join(args.out, "c-bench.txt"), "w") as f:
        f.write(proc.stdout + proc.stderr)
    cells = []
    for line in proc.stdout.splitlines():
        m = C_LINE.match(line.strip())
        if not m:
            continue
        kv = dict(x.split("=", 1) for x in m.group(1).split() if "=" in x)
        try:
            if kv["format"] not in args.formats:
                continue
            c = Cell("c", kv["format"], "crossbuf", c_record(kv["record"]), C_OPS.get(kv["op"], kv["op"]),
                     variant=kv.get("variant", "default"), data=kv.get("data", "pool"))  # fmt: skip
            c.set_samples([float(x) for x in kv["samples"].split(",")])
            c.inner = int(kv.get("inner", "0"))
            c.bytes = int(kv["bytes"]) if "bytes" in kv else None
            cells.append(c)
        except (KeyError, ValueError):
            continue
    for f in args.formats:
        for r in record_names(args):
            for op in OPS:
                if not any(c.format == f and c.record == r and c.op == op for c in cells):
                    why = f"not reported by xb_bench_c (exit {proc.returncode}): {proc.stderr.strip()[-200:]}"
                    cells.append(Cell("c", f, "crossbuf", r, op, status="missing", reason=why))
    return cells


# ---- main ------------------------------------------------------------------------------------


def report_again(args: argparse.Namespace) -> int:
    """--report-only: the report of a saved run, with that run's machine and cells."""
    import json

    from report import write_outputs

    path = os.path.join(args.out, "latest.json")
    try:
        with open(path) as f:
            saved = json.load(f)
        cells = [Cell(**d) for d in saved["cells"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"bench: --report-only: cannot read the saved run {path}: {e}")
    write_outputs(args, saved["machine"], cells)
    print(f"rendered the report of the run of {saved['machine'].get('timestamp', '?')} from {path}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.report_only:
        return report_again(args)
    os.makedirs(args.out, exist_ok=True)
    args.work = os.path.join(ROOT, "build", "bench", "anyschema")
    os.makedirs(args.work, exist_ok=True)
    args.schema_missing = []
    t0 = time.monotonic()
    if args.schema or any(r in SCHEMA_RECORDS for r in args.records):
        print("any-schema pools: written by flatc / pycapnp and checked with them ...", file=sys.stderr, flush=True)
    try:
        args.schema_pools = schema_pools(args)
    except (ValueError, RuntimeError, OSError) as e:
        sys.exit(f"bench: any-schema pool: {e}")
    durations_pools = round(time.monotonic() - t0, 1)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    info = machine_info(args, [os.path.relpath(__file__, ROOT)] + argv)
    cells: List[Cell] = list(args.schema_missing)
    durations: Dict[str, float] = {}
    info["durations_s"] = durations
    if args.schema_pools:
        durations["any-schema pools"] = durations_pools
        info["schema_records"] = {sp.record: {"schema": os.path.relpath(sp.schema, ROOT), "type": sp.type,
                                              "records": len(sp.wires), "path": sp.path, "written_by": sp.written_by}
                                  for sp in args.schema_pools}  # fmt: skip
    # auto_refresh off: no display thread. The display is redrawn only between
    # cells (Python) or by this process while Go and C time on the pinned CPU.
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, auto_refresh=False) as prog:  # fmt: skip
        if "go" in args.contexts:
            t = prog.add_task("go: building the benchmark binary", total=None)
            prog.refresh()

            def go_progress(d: str) -> None:
                prog.update(t, description=d[:100], advance=1)
                prog.refresh()

            t0 = time.monotonic()
            cells += run_go(args, go_progress)
            durations["go"] = round(time.monotonic() - t0, 1)
            prog.update(t, description="go: done", total=1, completed=1)
            prog.refresh()
        if "python" in args.contexts or "boundary" in args.contexts:
            t = prog.add_task("python + boundary", total=None)

            def py_progress(d: str, done: int, total: int) -> None:
                prog.update(t, description=d[:100], completed=done, total=total)
                prog.refresh()

            t0 = time.monotonic()
            cells += run_python_contexts(args, py_progress)
            durations["python+boundary"] = round(time.monotonic() - t0, 1)
            prog.update(t, description="python + boundary: done")
            prog.refresh()
        if "c" in args.contexts and record_names(args):  # C: the bundled records only
            t = prog.add_task("c: running build/bin/xb_bench_c", total=None)
            prog.refresh()
            t0 = time.monotonic()
            cells += run_c(args)
            durations["c"] = round(time.monotonic() - t0, 1)
            prog.update(t, description="c: done", total=1, completed=1)
            prog.refresh()
        if "channel" in args.contexts:
            from channel.harness import run_channel

            t = prog.add_task("channel", total=None)

            def ch_progress(d: str, done: int, total: int) -> None:
                prog.update(t, description=d[:100], completed=done, total=total)
                prog.refresh()

            t0 = time.monotonic()
            cells += run_channel(args, Cell, sorted(ALL_CPUS), ch_progress)
            durations["channel"] = round(time.monotonic() - t0, 1)
            prog.update(t, description="channel: done")
            prog.refresh()
    from report import write_outputs

    info["load_average_end"] = load_average()
    t0 = time.monotonic()
    write_outputs(args, info, cells)
    console.print(f"context durations (s): {durations}; report and plots: {time.monotonic() - t0:.0f} s")
    failed = [c for c in cells if c.status == "failed"]
    for c in failed:
        console.print(f"[red]FAILED[/] {c.key()}: {c.reason}")
    console.print(f"wrote {args.out}: {sum(c.status == 'ok' for c in cells)} cells ok, "
                  f"{sum(c.status == 'missing' for c in cells)} missing, {len(failed)} failed")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
