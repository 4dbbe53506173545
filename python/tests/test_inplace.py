"""In-place path reads (crossbuf._inplace): FieldPath.read of a region
frame reads the field in Python from the path's program, and goes to the
library for anything unusual. It must give exactly what the library gives,
on the reference projects' messages, on the bundled records, and on
corrupted copies of them (where it may only answer when the library gives
a value, never an error)."""

from __future__ import annotations

import math
import os
import random
from typing import Any, Dict, Iterator, List, Tuple

import crossbuf as xb
import pytest
from conftest import conformance
from crossbuf import _inplace, _registry, bundled
from crossbuf.schema import FieldPath
from test_schema import capnp_request, monster, need_tool, run  # noqa: F401 (fixtures)


def candidate_paths(schema: xb.Schema, type_name: str, depth: int = 2, prefix: str = "") -> Iterator[str]:
    """Paths through the fields of type_name: each field, two elements of
    each vector, the fields of nested tables and structs, union members."""
    classes = schema._classes()
    desc = classes.types.get(type_name) or {}
    for f in desc.get("fields", []):
        name = prefix + str(f["name"])
        t = f["type"]
        kind = t["kind"]
        yield name
        if depth == 0:
            continue
        if kind in ("vector", "array"):
            for i in (0, 1, 3):
                yield f"{name}[{i}]"
                if t["elem"]["kind"] in ("table", "struct"):
                    yield from candidate_paths(schema, str(t["elem"]["type"]), depth - 1, f"{name}[{i}].")
        elif kind in ("table", "struct", "group"):
            yield from candidate_paths(schema, str(t["type"]), depth - 1, name + ".")
        elif kind == "union":
            for m in (classes.types.get(str(t["type"])) or {}).get("values", []):
                member = m.get("type") if isinstance(m, dict) else None
                if isinstance(member, str):
                    yield from candidate_paths(schema, member, depth - 1, f"{name}.{m['name']}.")


def compiled(schema: xb.Schema, tid: int, paths: Iterator[str]) -> List[Tuple[FieldPath, FieldPath]]:
    """(in-place path, library-only path) for each path that compiles."""
    out = []
    for text in paths:
        try:
            p = schema.path(tid, text)
        except xb.InvalidArgumentError:
            continue
        lib = schema.path(tid, text)
        lib._inplace = None
        out.append((p, lib))
    return out


def plain(v: Any) -> Any:
    if isinstance(v, memoryview):
        return v.tobytes()
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


def same(a: Any, b: Any) -> bool:
    if hasattr(a, "dtype") or hasattr(b, "dtype"):  # arrays: the same elements (NaNs too) of the same type
        return bool(getattr(a, "dtype", None) == getattr(b, "dtype", None) and a.tobytes() == b.tobytes())
    a, b = plain(a), plain(b)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def library_result(p: FieldPath, f: xb.Frame) -> Tuple[str, Any]:
    try:
        return "value", p.read(f)
    except xb.CrossbufError as e:
        return "error", type(e)


def check_frame(pairs: List[Tuple[FieldPath, FieldPath]], region: xb.Region, f: xb.Frame,
                counts: Dict[str, int]) -> None:  # fmt: skip
    """Each in-place answer for f is the library's value."""
    start = f._paddr - region._base
    for p, lib in pairs:
        if p._inplace is None:
            continue
        got = p._inplace(region._mv, start, start + len(f))
        how, want = library_result(lib, f)
        if got is _inplace.LIBRARY:
            counts["library"] += 1
            continue
        counts["in place"] += 1
        assert how == "value" and same(got, want), f"{p.text}: in place {got!r}, library {how} {want!r}"
        assert same(p.read(f), want), p.text


def corrupt(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] = rng.choice((0, 0xFF, b[i] ^ (1 << rng.randrange(8)), rng.randrange(256)))
    if rng.random() < 0.1:
        b = b[: rng.randrange(len(b))]
    return bytes(b)


def run_differential(schema: xb.Schema, tid: int, codec: int, messages: List[bytes], region: xb.Region,
                     type_name: str, mutations: int) -> Dict[str, int]:
    pairs = compiled(schema, tid, candidate_paths(schema, type_name))
    with_program = [p for p, _ in pairs if p._inplace is not None]
    assert len(with_program) >= 5, f"{type_name}: only {len(with_program)} of {len(pairs)} paths have a program"
    counts = {"in place": 0, "library": 0}
    for m in messages:
        check_frame(pairs, region, region.append_raw(codec, tid, m), counts)
    assert counts["in place"] > counts["library"], counts
    rng = random.Random(7)
    programs = [pair for pair in pairs if pair[0]._inplace is not None]
    for i in range(mutations):
        m = corrupt(messages[i % len(messages)], rng)
        if len(m) < 8 or codec == xb.Codec.CAPNP and len(m) % 8:
            continue
        some = rng.sample(programs, min(len(programs), 40))  # a sample of the paths per corrupted copy
        check_frame(some, region, region.append_raw(codec, tid, m), counts)
        if i % 200 == 199:
            region.reset()
    return counts


def test_monster_paths_in_place_match_the_library(monster: Any) -> None:  # noqa: F811
    s, mon = monster
    with xb.Region.anonymous(1 << 24) as r:
        counts = run_differential(s, s.root_type or 0, xb.Codec.FLATBUFFERS, [mon], r, "MyGame.Example.Monster",
                                  3000)
    assert counts["in place"] > 1000, counts


def test_testalltypes_paths_in_place_match_the_library(capnp_request: Tuple[str, bytes]) -> None:  # noqa: F811
    d, req = capnp_request
    with open(os.path.join(d, "capnp", "testdata", "binary"), "rb") as f:
        binary = f.read()
    with xb.Schema.load(req) as s, xb.Region.anonymous(1 << 24) as r:
        tid = s.type_id("TestAllTypes")
        counts = run_differential(s, tid, xb.Codec.CAPNP, [binary], r, "capnp/test.capnp:TestAllTypes", 3000)
        # A multi-segment message is the library's to read.
        with open(os.path.join(d, "capnp", "testdata", "segmented"), "rb") as f:
            seg = r.append_raw(xb.Codec.CAPNP, tid, f.read())
        p = s.path(tid, "textField")
        assert p._inplace is not None
        assert p._inplace(r._mv, seg._paddr - r._base, seg._paddr - r._base + len(seg)) is _inplace.LIBRARY
        assert p.read(seg) == "foo"
    assert counts["in place"] > 500, counts


# Features monster_test.fbs lacks: fixed arrays in a struct, vectors of
# enums (an unknown value too), of bytes, of bools and of floats.
ARRAYS_FBS = """
namespace arr.test;
enum Kind:byte { Zero, One, Two }
struct Inner { v:short; k:Kind; }
struct WithArrays { xs:[int:3]; ds:[double:2]; inners:[Inner:2]; u:[ubyte:4]; }
table Root { arrays:WithArrays; kinds:[Kind]; bools:[bool]; fs:[float]; us:[ushort]; bytes:[byte]; name:string; }
root_type Root;
"""
ARRAYS_JSON = """{ arrays: { xs: [1, -2, 2147483647], ds: [2.5, -0.0], inners: [{v: 1, k: One}, {v: -1, k: Two}],
  u: [0, 1, 254, 255] }, kinds: [Zero, Two, 5], bools: [true, false, true], fs: [1.5, -3.25, 1e30],
  us: [0, 65535], bytes: [-1, 0, 127], name: "n" }"""


def test_arrays_in_place_match_the_library(tmp_path: Any) -> None:
    """Vectors and fixed arrays of scalars read in place as numpy arrays
    over the frame, of the library's dtype, on a message flatc wrote and
    on corrupted copies of it."""
    (tmp_path / "a.fbs").write_text(ARRAYS_FBS)
    (tmp_path / "m.json").write_text(ARRAYS_JSON)
    run([need_tool("flatc"), "-b", "a.fbs", "m.json"], str(tmp_path))
    msg = (tmp_path / "m.bin").read_bytes()
    with xb.Schema.load(str(tmp_path / "a.fbs")) as s, xb.Region.anonymous(1 << 24) as r:
        tid = s.type_id("arr.test.Root")
        f = r.append_raw(xb.Codec.FLATBUFFERS, tid, msg)
        for text, dtype, want in [("arrays.xs", "<i4", [1, -2, 2147483647]), ("arrays.ds", "<f8", [2.5, -0.0]),
                                  ("arrays.u", "u1", [0, 1, 254, 255]), ("kinds", "i1", [0, 2, 5]),
                                  ("bools", "?", [True, False, True]), ("fs", "<f4", [1.5, -3.25, 1e30]),
                                  ("us", "<u2", [0, 65535])]:  # fmt: skip
            p = s.path(tid, text)
            assert p._inplace is not None, text
            start = f._paddr - r._base
            a = p._inplace(r._mv, start, start + len(f))
            assert a is not _inplace.LIBRARY and a.dtype == dtype, text
            assert a.tolist() == [pytest.approx(x) for x in want], text
            assert not a.flags.writeable and not a.flags.owndata, f"{text}: a view of the frame, read-only"
            del a
        r.reset()
        counts = run_differential(s, tid, xb.Codec.FLATBUFFERS, [msg], r, "arr.test.Root", 2000)
    assert counts["in place"] > 500, counts


@pytest.mark.parametrize("codec", [xb.Codec.FLATBUFFERS, xb.Codec.CAPNP])
def test_bundled_records_in_place_match_the_library(codec: int) -> None:
    s = bundled.schema(codec)
    name = bundled.type_name(codec, xb.RecordType.LOG_ENTRY)
    tid = s.type_id(name)
    with xb.Region.anonymous(1 << 24) as r:
        msgs = [bytes(r.encode(xb.testdata.log_entry(i), codec).payload) for i in range(1, 6)]
        r.reset()
        run_differential(s, tid, codec, msgs, r, name, 1500)
        # Frames of the per-record codec (type id XB_RECORD_LOG_ENTRY) read in place too.
        rec = xb.testdata.log_entry(3)
        f = r.encode(rec, codec)
        p = s.path(tid, "message")
        start = f._paddr - r._base
        assert p._inplace is not None and p._inplace(r._mv, start, start + len(f)) == rec.message
        assert p.read(f) == rec.message and s.path(tid, "http.status").read(f) == rec.http.status


def test_in_place_read_checks_the_frame() -> None:
    s = bundled.schema()
    p = s.path("crossbuf_fb.LogEntry", "message")
    view = s.path("crossbuf_fb.LogEntry", "message", text="view")
    with xb.Region.anonymous(1 << 20) as r:
        rec = xb.testdata.log_entry(1)
        f = r.encode(rec)
        assert p.read(f) == rec.message
        v = view.read(f)
        assert isinstance(v, memoryview) and v.tobytes() == rec.message.encode()
        del v
        # Another type's frame is the library's to refuse.
        g = r.encode(xb.testdata.sample(1))
        with pytest.raises(xb.RecordTypeError):
            p.read(g)
        # A reset makes old frames stale, in place as through the library.
        r.reset()
        with pytest.raises(xb.StaleFrameError):
            p.read(f)
        f = r.encode(rec)
    with pytest.raises(xb.ClosedError):
        p.read(f)


def test_invalid_utf8_is_the_librarys_error() -> None:
    s = bundled.schema()
    p = s.path("crossbuf_fb.LogEntry", "message")
    with xb.Region.anonymous(1 << 20) as r:
        rec = xb.testdata.log_entry(1)
        good = bytes(r.encode(rec).payload)
        at = good.index(rec.message.encode())
        bad = good[:at] + b"\xff" + good[at + 1 :]
        f = r.append_raw(xb.Codec.FLATBUFFERS, s.type_id("crossbuf_fb.LogEntry"), bad)
        with pytest.raises(xb.MalformedError, match="UTF-8"):
            p.read(f)


def test_views_follow_the_open_schema() -> None:
    """Region.view keeps the view class of a type id only while its schema
    is open: after close, another schema with the type views the frame, and
    with none it is UnknownTypeError."""
    d = conformance("flatbuffers")
    with open(os.path.join(d, "monster_test.bfbs"), "rb") as f:
        bfbs = f.read()
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as f:
        mon = f.read()
    with xb.Region.anonymous(1 << 20) as r:
        a = xb.Schema.load(bfbs)
        tid = a.root_type or 0
        frame = r.append_raw(xb.Codec.FLATBUFFERS, tid, mon)
        assert r.view(frame).name == "MyMonster" and not r.view(frame)._schema.closed
        a.close()
        try:  # another test's schema may still hold the type
            other: Any = _registry.schema_for(tid)
        except xb.UnknownTypeError:
            other = None
            with pytest.raises(xb.UnknownTypeError):
                r.view(frame)
        with xb.Schema.load(bfbs) as b:
            v = r.view(frame)
            assert v._schema is (other or b) and v.name == "MyMonster" and v.hp == 80
            del v


def test_read_many_matches_single_reads() -> None:
    """read_many (one library call) gives what single in-place reads give,
    and names the first bad frame of a batch."""
    s = bundled.schema()
    tid = s.type_id("crossbuf_fb.LogEntry")
    p = s.path(tid, "message")
    lib = s.path(tid, "message")
    lib._inplace = None
    status = s.path(tid, "http.status")
    with xb.Region.anonymous(1 << 22) as r:
        frames = [r.encode(xb.testdata.log_entry(i)) for i in range(1, 50)]
        assert p.read_many(frames) == [p.read(f) for f in frames] == [xb.testdata.log_entry(i).message
                                                                      for i in range(1, 50)]
        assert status.read_many(frames) == [xb.testdata.log_entry(i).http.status for i in range(1, 50)]
        good = bytes(frames[0].payload)
        root = int.from_bytes(good[:4], "little")
        wild = good[:root] + (-0x7FFFFFF0).to_bytes(4, "little", signed=True) + good[root + 4 :]  # a vtable far off
        bad = r.append_raw(xb.Codec.FLATBUFFERS, tid, wild)
        with pytest.raises(xb.MalformedError) as e1:
            p.read_many(frames + [bad])
        with pytest.raises(xb.MalformedError) as e2:
            lib.read_many(frames + [bad])
        assert str(e1.value) == str(e2.value)
        other = r.encode(xb.testdata.sample(1))
        with pytest.raises(xb.RecordTypeError):
            p.read_many([frames[0], other])


def test_truncated_file_regions_are_read_through_the_library(tmp_path: Any) -> None:
    """A file or named region another process can shrink is read through the
    library, which turns the fault into TruncatedError; Python reading the
    lost pages itself would die of SIGBUS. Run in a child, so a regression
    fails this test instead of killing the run."""
    import subprocess
    import sys

    script = f"""
import os, crossbuf as xb
from crossbuf import bundled
p = bundled.schema().path("crossbuf_fb.LogEntry", "message")
r = xb.Region.create_file({str(tmp_path / "r.region")!r}, 1 << 20)
f = r.encode(xb.testdata.log_entry(1))
assert p.read(f) == xb.testdata.log_entry(1).message
os.truncate({str(tmp_path / "r.region")!r}, 0)
for read in (lambda: p.read(f), lambda: p.read_many([f]), lambda: r.view(f).message):
    try:
        read()
    except xb.TruncatedError:
        pass
    else:
        raise SystemExit("no TruncatedError")
print("ok")
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", (out.returncode, out.stdout, out.stderr[-2000:])


def test_close_racing_reads_never_leaks_a_builtin_error() -> None:
    """A close() in another thread, refused (a payload pins the region) or
    done, never makes a read fail with anything but ClosedError."""
    import sys
    import threading

    s = bundled.schema()
    paths = [s.path("crossbuf_fb.LogEntry", "message"), s.path("crossbuf_fb.LogEntry", "http.status")]

    def reader(p: FieldPath, r: xb.Region, f: xb.Frame, stop: threading.Event, leaks: List[str]) -> None:
        while not stop.is_set():
            try:
                p.read(f)
                p.read_many([f, f])
                _ = r.view(f).message
            except xb.ClosedError:
                return
            except Exception as e:  # noqa: BLE001 - what the test looks for
                leaks.append(repr(e))
                return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for p in paths:
            r = xb.Region.anonymous(1 << 20)
            f = r.encode(xb.testdata.log_entry(1))
            pin = f.payload
            leaks: List[str] = []
            stop = threading.Event()
            t = threading.Thread(target=reader, args=(p, r, f, stop, leaks))
            t.start()
            for _ in range(3000):
                with pytest.raises(xb.RegionInUseError):
                    r.close()
            del pin
            r.close()
            stop.set()
            t.join()
            assert leaks == []
    finally:
        sys.setswitchinterval(old)


def test_view_classes_of_dropped_schemas_are_not_kept(tmp_path: Any) -> None:
    import gc

    (tmp_path / "a.fbs").write_text("namespace V; table R { a: int = 1; s: string; } root_type R;")
    (tmp_path / "b.fbs").write_text("namespace V; table R { s: string; a: long = 2; extra: int = 3; } root_type R;")
    with xb.Region.anonymous(1 << 20) as r:
        s1 = xb.Schema.load(str(tmp_path / "a.fbs"))
        assert r.view(s1.encode(r, {"a": 5, "s": "x"})).a == 5
        del s1
        gc.collect()
        with xb.Schema.load(str(tmp_path / "b.fbs")) as s2:
            v = r.view(s2.encode(r, {"s": "hello", "a": 7}))
            assert v._schema is s2 and v.a == 7 and v.s == "hello" and v.extra == 3
            del v


def test_every_field_of_a_view_reads(capnp_request: Tuple[str, bytes], monster: Any) -> None:  # noqa: F811
    """Each attribute of a RecordView reads (Void, AnyPointer and interface
    fields too) and scalars, strings and enums equal the decoded record's;
    a Cap'n Proto null pointer the record leaves out (None) reads empty, as
    capnp's getters read it."""
    d, req = capnp_request
    with open(os.path.join(d, "capnp", "testdata", "binary"), "rb") as f:
        binary = f.read()
    fb, mon = monster
    with xb.Schema.load(req) as s, xb.Region.anonymous(1 << 20) as r:
        cases = [(s, r.append_raw(xb.Codec.CAPNP, s.type_id("TestAllTypes"), binary)),
                 (fb, r.append_raw(xb.Codec.FLATBUFFERS, fb.root_type or 0, mon))]
        for schema, frame in cases:
            view, rec = r.view(frame), schema.to_record(frame)
            for name in rec.__struct_fields__:
                got, want = getattr(view, name), getattr(rec, name)
                if isinstance(want, float):  # a float32 default reads widened from float32 in place
                    assert math.isclose(got, want, rel_tol=1e-6) or math.isnan(want) and math.isnan(got), name
                elif want is None and schema.format != "flatbuffers":
                    assert got is None or len(got) == 0, name
                elif isinstance(want, (int, str)) or want is None:
                    assert same(got, want), name
            del view
        monster_view = r.view(cases[1][1])
        assert monster_view.testempty is None and monster_view.enemy.name == "Fred"  # absent, present tables
        assert monster_view.pos is not None and monster_view.pos.test3.a == 5
        del monster_view
