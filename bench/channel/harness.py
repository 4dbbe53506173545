"""The `channel` context of the benchmark suite: one-way latency (p50, p99,
p99.9 from HDR histograms) and throughput between two processes pinned to
different CPUs, crossbuf's channel against the opponent transports. Every
pipeline runs a producer and a consumer process (proto.py has the protocol);
bench/README.md describes the cells."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOPEER = os.path.join(ROOT, "build", "bench", "chanbench-gopeer")
CPEER = os.path.join(ROOT, "build", "bin", "xb_chanbench_sub")
PYPEER = os.path.join(HERE, "pypeer.py")
RECORDS = {"LogEntry": "LogEntry", "Sample": "Sample", "Tensor/size=1MB": "Tensor1MB"}
OPS = ["latency-p50", "latency-p99", "latency-p99.9", "throughput"]
SPIN_GAP_NS = 10_000
WAKE_GAP_NS = 300_000  # long enough that every waiter has parked


@dataclass
class Pipeline:
    lib: str  # the transport: crossbuf, unix-socket, os.pipe, ...
    direction: str  # go→go, go→python, go→c, python→go, python→python
    pub: str  # go | python
    sub: str  # go | python | c
    transport: str  # xb | unix | pipe | mpqueue | shm | zmq | iox2
    mode: str = "spin"  # spin: the consumer polls or blocks as the transport does; wake: paced to park
    typed: bool = False  # the consumer decodes each body into a msgspec Struct (protobuf: the generated message)
    body: str = "msgpack"  # the record's encoding: msgpack, protobuf, flatbuffers (bare frames read by path)
    alone: bool = False  # the producer alone, no consumer: its own encode-and-publish rate (throughput only)

    @property
    def label(self) -> str:
        """The lib column: transport and direction."""
        return f"{self.lib} {self.direction}"

    @property
    def variant(self) -> str:
        """raw: the consumer checks the bytes; typed: and decodes them into a
        typed object; wake: raw, paced so that waiters park; one-field: the
        consumer reads one field of each frame in place (and checks it),
        and the same producer alone, with no consumer (its pair)."""
        if self.body == "flatbuffers":
            return "one-field"
        return "typed" if self.typed else "wake" if self.mode == "wake" else "raw"

    @property
    def headline(self) -> bool:
        """Run on LogEntry only (the typed, one-field and alone cells)."""
        return self.typed or self.alone or self.body != "msgpack"


def pipelines() -> List[Pipeline]:
    P = Pipeline
    return [
        P("crossbuf", "go→go", "go", "go", "xb"),
        P("crossbuf", "go→python", "go", "python", "xb"),
        P("crossbuf", "go→c", "go", "c", "xb"),
        P("crossbuf", "python→go", "python", "go", "xb"),
        P("crossbuf", "python→python", "python", "python", "xb"),
        P("unix-socket", "go→python", "go", "python", "unix"),
        P("unix-socket", "python→python", "python", "python", "unix"),
        P("os.pipe", "python→python", "python", "python", "pipe"),
        P("mp.Queue", "python→python", "python", "python", "mpqueue"),
        P("shared_memory-ring", "python→python", "python", "python", "shm"),
        P("zmq-ipc", "python→python", "python", "python", "zmq"),
        P("iceoryx2", "python→python", "python", "python", "iox2"),
        # the headline: a record made in one process becomes a typed object in another
        P("crossbuf", "go→python", "go", "python", "xb", typed=True),
        P("unix-socket", "go→python", "go", "python", "unix", typed=True),
        P("iceoryx2", "python→python", "python", "python", "iox2", typed=True),
        P("unix-socket", "go→python", "go", "python", "unix", typed=True, body="protobuf"),
        # reading one field in place of every frame, against the producer's own rate
        P("crossbuf", "go→python", "go", "python", "xb", body="flatbuffers"),
        P("crossbuf", "go→nobody", "go", "", "xb", body="flatbuffers", alone=True),
        # parked wake-ups: crossbuf parks on its futex, os.pipe blocks in read()
        P("crossbuf", "python→python", "python", "python", "xb", mode="wake"),
        P("os.pipe", "python→python", "python", "python", "pipe", mode="wake"),
    ]


def counts(record: str, quick: bool) -> Dict[str, int]:
    """Messages per latency phase (n) and throughput phase (m), repetitions,
    and the producer's record pool (each message is the next record)."""
    big = record.startswith("Tensor")
    if quick:
        return {"n": 20 if big else 100, "m": 20 if big else 200, "reps": 2, "pool": 4 if big else 16}
    return {"n": 100 if big else 2000, "m": 100 if big else 10000, "reps": 5, "pool": 8 if big else 256}


def build_gopeer() -> Optional[str]:
    os.makedirs(os.path.dirname(GOPEER), exist_ok=True)
    p = subprocess.run(["go", "build", "-o", GOPEER, "./bench/channel/gopeer"], cwd=ROOT, capture_output=True,
                       text=True)  # fmt: skip
    return None if p.returncode == 0 else "gopeer does not build: " + p.stderr.strip()[-300:]


def peer_cmd(lang: str, role: str, pl: Pipeline, addr: str, rec: str, ack: str, cpu: int, c: Dict[str, int],
             fds: str) -> List[str]:  # fmt: skip
    gap = WAKE_GAP_NS if pl.mode == "wake" else SPIN_GAP_NS
    wait = "park" if pl.mode == "wake" else "spin"
    common = {"n": c["n"], "m": c["m"], "reps": c["reps"], "pool": c["pool"]}
    if lang == "go":
        return [GOPEER, "-role", role, "-transport", pl.transport, "-addr", addr, "-record", rec, "-ack", ack,
                "-wait", wait, "-stamp", "made" if pl.typed else "sent", "-gap", f"{gap}ns", "-cpu", str(cpu),
                "-body", pl.body] + [f"-{k}={v}" for k, v in common.items()]  # fmt: skip
    if lang == "c":
        return [CPEER, addr, ack, str(c["n"]), str(c["m"]), str(c["reps"]), str(cpu), wait]
    cmd = [sys.executable, PYPEER, "--role", role, "--transport", pl.transport, "--addr", addr, "--record", rec,
           "--ack", ack, "--wait", wait, "--stamp", "made" if pl.typed else "sent", "--gap-ns", str(gap), "--cpu", str(cpu)] + \
        [f"--{k}={v}" for k, v in common.items()]  # fmt: skip
    cmd += ["--body", pl.body]
    if fds:
        cmd += ["--fds", fds]
    if role == "sub" and pl.typed:
        cmd.append("--typed")
    return cmd


def run_pipeline(pl: Pipeline, rname: str, quick: bool, cpus: List[Optional[int]], env: Dict[str, str],
                 all_cpus: Optional[List[int]] = None) -> List[Dict[str, Any]]:  # fmt: skip
    """Runs one pipeline on one record: the consumer's JSON lines. The peers
    start with every CPU in all_cpus (the Go runtime sizes GOMAXPROCS from
    the affinity mask at start-up, as run.py's child_affinity explains) and
    pin their own timed thread."""
    rec = RECORDS[rname]
    c = counts(rname, quick)
    tag = uuid.uuid4().hex[:10]
    addr = {"xb": f"xb-cb-{tag}", "unix": f"/tmp/xb-cb-{tag}.sock", "zmq": f"/tmp/xb-cb-{tag}.zmq",
            "shm": f"xb-cb-{tag}", "iox2": f"xb-cb-{tag}"}.get(pl.transport, "")  # fmt: skip
    ack = f"/dev/shm/xb-cb-{tag}.ack"
    with open(ack, "wb") as f:
        f.write(bytes(64))
    fds, keep = "", []
    if pl.transport == "pipe":
        r, w = os.pipe()
        fds, keep = f"{r},{w}", [r, w]
    pcpu, scpu = (-1 if x is None else x for x in cpus)
    procs: List[subprocess.Popen[str]] = []

    def every_cpu() -> None:
        if all_cpus:
            os.sched_setaffinity(0, all_cpus)

    try:
        sub_env = dict(env, XB_CHANBENCH_SUB_CPU=str(scpu), XB_CHANBENCH_SUB_TYPED="1" if pl.typed else "0")
        if pl.alone:
            procs.append(subprocess.Popen(peer_cmd(pl.pub, "alone", pl, addr, rec, ack, pcpu, c, fds), env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          preexec_fn=every_cpu))  # fmt: skip
        elif pl.transport != "mpqueue":  # the mp.Queue producer starts its own consumer
            procs.append(subprocess.Popen(peer_cmd(pl.sub, "sub", pl, addr, rec, ack, scpu, c, fds), env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, pass_fds=keep,
                                          preexec_fn=every_cpu))  # fmt: skip
        if not pl.alone:
            procs.append(subprocess.Popen(peer_cmd(pl.pub, "pub", pl, addr, rec, ack, pcpu, c, fds), env=sub_env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, pass_fds=keep,
                                          preexec_fn=every_cpu))  # fmt: skip
        for fd in keep:
            os.close(fd)
        keep = []
        # Wait for both; the first that fails stops the other (a consumer
        # whose producer died would wait for ever).
        deadline = time.monotonic() + (60 if quick else 240)
        bad: List[subprocess.Popen[str]] = []
        while any(p.poll() is None for p in procs):
            bad = [p for p in procs if p.poll() not in (None, 0)]
            if bad or time.monotonic() > deadline:
                for q in procs:
                    if q.poll() is None:
                        q.kill()
                if not bad:
                    raise RuntimeError("timed out")
                break
            time.sleep(0.02)
        outs = []
        for p in bad + [p for p in procs if p not in bad]:
            out, err = p.communicate()
            if p.returncode != 0:
                who = os.path.basename(p.args[1] if p.args[0] == sys.executable else p.args[0])  # type: ignore[index]
                raise RuntimeError(f"{who} exited {p.returncode}: {err.strip()[-300:]}")
            outs.append(out)
        lines = [json.loads(ln) for out in outs for ln in out.splitlines() if ln.startswith("{")]
        if len(lines) != c["reps"]:
            raise RuntimeError(f"{len(lines)} results for {c['reps']} repetitions")
        return lines
    finally:
        for fd in keep:
            os.close(fd)
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for path in (ack, addr if pl.transport in ("unix", "zmq") else ""):
            if path and os.path.exists(path):
                os.unlink(path)


def run_channel(args: Any, cell_type: Any, all_cpus: List[int], progress: Callable[[str, int, int], None]) -> List[Any]:
    """The channel context's cells (cell_type is timing.Cell)."""
    recs = ["LogEntry"] if args.quick else [r for r in RECORDS if r.split("/")[0] in args.records]
    pls = pipelines()
    cpus: List[Optional[int]] = [None, None]
    if args.pin_cpu is not None and len(all_cpus) >= 2:
        cpus = [min(all_cpus), args.pin_cpu]  # producer, consumer
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [os.path.join(ROOT, "python"), os.environ.get("PYTHONPATH", "")]))  # fmt: skip
    cells: List[Any] = []
    why_go = build_gopeer()
    total = sum(1 for r in recs for pl in pls if not pl.headline or r == "LogEntry")
    done = 0
    for rname in recs:
        for pl in pls:
            if pl.headline and rname != "LogEntry":  # the headline cells: LogEntry
                continue
            progress(f"channel {rname}: {pl.label} ({pl.variant})", done, total)
            done += 1

            ops = ["throughput"] if pl.alone else OPS

            def mk(op: str, **kw: Any) -> Any:
                return cell_type("channel", pl.body, pl.label, rname, op, variant=pl.variant, **kw)  # noqa: B023

            why = why_go if "go" in (pl.pub, pl.sub) else None
            if pl.sub == "c" and not os.path.exists(CPEER):
                why = "C consumer not built (./build.sh lib builds build/bin/xb_chanbench_sub)"
            if why:
                cells += [mk(op, status="missing", reason=why) for op in ops]
                continue
            try:
                lines = run_pipeline(pl, rname, args.quick, cpus, env, all_cpus)
            except Exception as e:  # noqa: BLE001 - a failed pipeline is a visible cell
                cells += [mk(op, status="failed", reason=f"{type(e).__name__}: {e}") for op in ops]
                continue
            c = counts(rname, args.quick)
            for op, key in zip(OPS, ["p50", "p99", "p999", "tput_ns"]):
                if pl.alone and op != "throughput":
                    continue
                cell = mk(op, bytes=lines[0]["bytes"])
                cell.set_samples([float(x[key]) for x in lines])
                cell.inner = c["m"] if op == "throughput" else c["n"]
                cells.append(cell)
    progress("channel: done", total, total)
    return cells
