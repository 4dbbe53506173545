"""Decode-full through the schema engine against the issue's Python opponents,
as ratios measured in one run:

* LogEntry written by Go (Schema.encode, FlatBuffers and Cap'n Proto):
  Schema.to_record against msgspec's typed MessagePack decode of the same
  record into its Struct class (target: at most 1.3x);
* Monster (flatbuffers' monsterdata_test.mon): Schema.to_record against the
  official flatbuffers runtime's object API (flatc --python
  --gen-object-api; MonsterT.InitFromObj) (target: at least 20x faster);
* TestAllTypes (capnp testdata/binary): Schema.to_record against pycapnp's
  from_bytes + to_dict (target: at least 5x faster).

Run from the repository root, after ./build.sh lib:

    CROSSBUF_CONFORMANCE=../shared/conformance .venv/bin/python -m bench.python.schema_ratios

Monster and TestAllTypes need the conformance data (skipped, with the reason
printed, when it is absent), flatc and capnp.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import timeit
from typing import Any, Callable

import crossbuf as xb
import msgspec
from crossbuf.testdata import log_entry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pair_ns(ours: Callable[[], Any], theirs: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """ns per call of each of two functions: autoranged loops, the two
    interleaved repeats times, the fastest loop of each kept (the least
    disturbed by other load on the machine)."""
    ta, tb = timeit.Timer(ours), timeit.Timer(theirs)
    na, _ = ta.autorange()
    nb, _ = tb.autorange()
    a, b = [], []
    for _ in range(repeats):
        a.append(ta.timeit(na) / na)
        b.append(tb.timeit(nb) / nb)
    return min(a) * 1e9, min(b) * 1e9


def conformance(sub: str) -> str | None:
    d = os.path.join(os.environ.get("CROSSBUF_CONFORMANCE", os.path.join(ROOT, "..", "shared", "conformance")), sub)
    return d if os.path.isdir(d) else None


def row(name: str, ours: float, theirs: float, target: str) -> None:
    print(f"{name:44s} crossbuf {ours / 1000:8.2f} us   opponent {theirs / 1000:8.2f} us   "
          f"ratio {ours / theirs:6.2f}x ({theirs / ours:6.1f}x faster)   target {target}")


def log_entry_row(codec: xb.Codec, fname: str, tname: str, repeats: int) -> None:
    imports: list[str] = []
    if codec == xb.Codec.CAPNP:
        std = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", "capnproto.org/go/capnp/v3"], cwd=ROOT,
                             capture_output=True, check=True, text=True).stdout.strip()
        imports = [os.path.join(std, "std")]
    with xb.Schema.load(os.path.join(ROOT, "schemas", fname), imports=imports) as s, \
            xb.Region.anonymous(1 << 20) as r:
        # The bundled codec writes the record; the engine reads it and writes
        # it again as a frame of the schema's own type.
        tid = s.type_id(tname)
        frame = s.encode(r, s.to_record(r.encode(log_entry(1), codec).payload, type=tid), type=tid)
        mp = bytes(s._transcode(frame, tid, xb.Layout.PLAIN, True))
        dec = msgspec.msgpack.Decoder(s.record_class(tid))
        assert dec.decode(mp) == s.to_record(frame, type=tid)
        ours, theirs = pair_ns(lambda: s.to_record(frame, type=tid), lambda: dec.decode(mp), repeats)
        row(f"LogEntry {codec.name} to_record vs msgspec", ours, theirs, "<= 1.3x")


def monster_row(repeats: int) -> None:
    d = conformance("flatbuffers")
    flatc = shutil.which("flatc")
    if d is None or flatc is None:
        print("Monster: skipped (needs the conformance data and flatc)")
        return
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as f:
        mon = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([flatc, "--python", "--gen-object-api", "-I", os.path.join(d, "include_test"), "-I", d, "-o", tmp,
                        os.path.join(d, "monster_test.fbs")], check=True, capture_output=True)
        sys.path.insert(0, tmp)
        try:
            gen = importlib.import_module("MyGame.Example.Monster")
        finally:
            sys.path.remove(tmp)
        with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:
            tid = s.type_id("MyGame.Example.Monster")
            assert s.to_record(mon, type=tid).name == gen.MonsterT.InitFromObj(gen.Monster.GetRootAs(mon, 0)).name.decode()
            ours, theirs = pair_ns(lambda: s.to_record(mon, type=tid),
                                   lambda: gen.MonsterT.InitFromObj(gen.Monster.GetRootAs(mon, 0)), repeats)
            row("Monster to_record vs flatbuffers object API", ours, theirs, ">= 20x faster")


def testalltypes_row(repeats: int) -> None:
    d = conformance("capnp")
    capnp_tool = shutil.which("capnp")
    if d is None or capnp_tool is None:
        print("TestAllTypes: skipped (needs the conformance data and capnp)")
        return
    import capnp  # type: ignore[import-untyped]

    req = subprocess.run([capnp_tool, "compile", "--no-standard-import", "-I", ".", "-o-", "capnp/test.capnp"], cwd=d,
                         capture_output=True, check=True).stdout
    with open(os.path.join(d, "capnp", "testdata", "binary"), "rb") as f:
        data = f.read()
    test = capnp.load(os.path.join(d, "capnp", "test.capnp"), imports=[d])

    def pycapnp() -> Any:
        with test.TestAllTypes.from_bytes(data) as m:
            return m.to_dict()

    with xb.Schema.load(req) as s:
        tid = s.type_id("TestAllTypes")
        assert s.to_record(data, type=tid).int64Field == pycapnp()["int64Field"]
        ours, theirs = pair_ns(lambda: s.to_record(data, type=tid), pycapnp, repeats)
        row("TestAllTypes to_record vs pycapnp to_dict", ours, theirs, ">= 5x faster")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    log_entry_row(xb.Codec.FLATBUFFERS, "crossbuf.fbs", "crossbuf_fb.LogEntry", a.repeats)
    log_entry_row(xb.Codec.CAPNP, "crossbuf.capnp", "LogEntry", a.repeats)
    monster_row(a.repeats)
    testalltypes_row(a.repeats)


if __name__ == "__main__":
    main()
