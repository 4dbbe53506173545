"""Users' schemas from Python: crossbuf.Schema on the reference projects' own
schemas and messages, compared with what their tools print.

The conformance data is read from $CROSSBUF_CONFORMANCE, else
../shared/conformance beside the repository; tests that need it (or flatc,
or capnp) skip with the reason when it is absent."""

from __future__ import annotations

import ctypes
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple

import msgspec
import pytest

import crossbuf as xb
from crossbuf import _lib

from conftest import ROOT, conformance

MONSTER = "MyGame.Example.Monster"


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (./build.sh test installs it)")
    return path


def run(args: List[str], cwd: str, stdin: Optional[bytes] = None) -> bytes:
    p = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, check=False)
    assert p.returncode == 0, f"{' '.join(args)}: {p.stderr.decode(errors='replace')}"
    return p.stdout


def loads_flatc(text: str) -> Any:
    """flatc prints non-finite floats bare (inf, nan), which JSON lacks."""
    text = re.sub(r"(?<=[:\[,\s])(-?)inf\b", r"\1Infinity", text)
    text = re.sub(r"(?<=[:\[,\s])-?nan\b", "NaN", text)
    return json.loads(text)


def flatc_json(tmp: str, fbs_dir: str, fbs: str, binary: str) -> Any:
    """What `flatc --json --strict-json --raw-binary` prints for binary."""
    run([need_tool("flatc"), "-I", "include_test", "--json", "--strict-json", "--raw-binary", "-o", tmp, fbs, "--",
         binary], fbs_dir)
    base = os.path.splitext(os.path.basename(binary))[0]
    with open(os.path.join(tmp, base + ".json")) as f:
        return loads_flatc(f.read())


def same(got: Any, want: Any, path: str = "") -> None:
    """Equal values; floats to the precision the reference tools print."""
    if isinstance(want, float) or (isinstance(got, float) and isinstance(want, int) and not isinstance(want, bool)):
        assert isinstance(got, (float, int)) and not isinstance(got, bool), f"{path}: {got!r} is not a number"
        if math.isnan(want):
            assert math.isnan(got), f"{path}: {got} != nan"
        else:
            assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6), f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert isinstance(got, dict), f"{path}: {got!r} is not a dict"
        assert set(got) == set(want), f"{path}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{path}[{i}]")
    else:
        assert type(got) is type(want) and got == want, f"{path}: {got!r} != {want!r}"


# ---- FlatBuffers: flatc's JSON as the values to_dict returns -------------------
# The types come from the .bfbs itself, printed by flatc (reflection.fbs), not
# from crossbuf: enum names become their values, nested flatbuffers and
# unions their tables.

_INTS = {"UType", "Bool", "Byte", "UByte", "Short", "UShort", "Int", "UInt", "Long", "ULong"}


class FlatBuffersValues:
    def __init__(self, reflection: Dict[str, Any]) -> None:
        self.objects: List[Dict[str, Any]] = reflection["objects"]
        self.enums: List[Dict[str, Any]] = reflection["enums"]
        self.by_name = {o["name"]: o for o in self.objects}

    def enum(self, index: int, v: Any) -> Any:
        if not isinstance(v, str):
            return v
        values = {e["name"]: e.get("value", 0) for e in self.enums[index]["values"]}
        names = v.split()
        if len(names) == 1:
            return values[names[0]]
        total = 0
        for n in names:  # bit_flags print as space-separated names
            total |= values[n]
        return total

    def member(self, union: int, tag: int, v: Any) -> Any:
        for e in self.enums[union]["values"]:
            if e.get("value", 0) == tag:
                ut = e.get("union_type", {})
                if ut.get("base_type") == "Obj":
                    return self.table(self.objects[ut["index"]], v)
                return v
        return v

    def scalar(self, base: str, index: int, v: Any) -> Any:
        if base == "Obj":
            return self.table(self.objects[index], v)
        if base in _INTS and index >= 0:
            return self.enum(index, v)
        if base in ("Float", "Double") and isinstance(v, int):
            return float(v)
        return v

    def table(self, obj: Dict[str, Any], v: Dict[str, Any]) -> Dict[str, Any]:
        fields = {f["name"]: f for f in obj["fields"]}
        out: Dict[str, Any] = {}
        for k, x in v.items():
            f = fields[k]
            t = f["type"]
            base, index = t.get("base_type", "None"), t.get("index", -1)
            attrs = {a["key"]: a.get("value") for a in f.get("attributes", [])}
            if f.get("key") and x == f.get("default_integer", 0) and not obj.get("is_struct"):
                continue  # flatc prints key fields even when absent; crossbuf holds what is present
            if "nested_flatbuffer" in attrs:
                name = attrs["nested_flatbuffer"]
                ns = obj["name"].rsplit(".", 1)[0]
                out[k] = self.table(self.by_name.get(name) or self.by_name[f"{ns}.{name}"], x)
            elif base == "Union":
                out[k] = self.member(index, self.enum(index, v[k + "_type"]), x)
            elif base in ("Vector", "Array") and t.get("element") == "Union":
                tags = [self.enum(index, s) for s in v[k + "_type"]]
                out[k] = [self.member(index, tag, e) for tag, e in zip(tags, x)]
            elif base in ("Vector", "Array"):
                out[k] = [self.scalar(t.get("element", "None"), index, e) for e in x]
            else:
                out[k] = self.scalar(base, index, x)
        return out


def monster_files() -> Tuple[str, bytes, bytes]:
    d = conformance("flatbuffers")
    with open(os.path.join(d, "monster_test.bfbs"), "rb") as f:
        bfbs = f.read()
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as f:
        mon = f.read()
    return d, bfbs, mon


@pytest.fixture(scope="module")
def monster() -> Any:
    d, bfbs, mon = monster_files()
    s = xb.Schema.load(bfbs)
    yield s, mon
    s.close()


@pytest.fixture(scope="module")
def fb_values(tmp_path_factory: pytest.TempPathFactory) -> FlatBuffersValues:
    d, _, _ = monster_files()
    tmp = str(tmp_path_factory.mktemp("reflection"))
    return FlatBuffersValues(flatc_json(tmp, d, "reflection.fbs", os.path.join(d, "monster_test.bfbs")))


def test_monster_to_dict_matches_flatc(monster: Any, fb_values: FlatBuffersValues, tmp_path: Any) -> None:
    s, mon = monster
    d, _, _ = monster_files()
    want = flatc_json(str(tmp_path), d, "monster_test.fbs", os.path.join(d, "monsterdata_test.mon"))
    got = s.to_dict(mon)
    same(got, fb_values.table(fb_values.by_name[MONSTER], want))
    # The spot values of monsterdata_test.json, as Python types.
    assert got["name"] == "MyMonster" and got["hp"] == 80 and got["inventory"] == [0, 1, 2, 3, 4]
    assert got["test_type"] == 1 and got["test"] == {"name": "Fred"}
    assert got["testhashs64_fnv1"] == 7930699090847568257 and got["testhashs32_fnv1"] == -579221183
    assert "mana" not in got  # absent: the schema default applies
    # to_json is flatc's JSON.
    same(loads_flatc(s.to_json(mon)), want)
    # monsterdata_test.json itself, through flatc, gives the same values.
    run([need_tool("flatc"), "-I", "include_test", "-b", "-o", str(tmp_path / "fromjson"), "monster_test.fbs",
         "monsterdata_test.json"], d)
    with open(tmp_path / "fromjson" / "monsterdata_test.mon", "rb") as f:
        same(s.to_dict(f.read()), got)


def test_monster_from_text_schema(monster: Any) -> None:
    s, mon = monster
    d, _, _ = monster_files()
    need_tool("flatc")
    with xb.Schema.load(os.path.join(d, "monster_test.fbs"), imports=[os.path.join(d, "include_test")]) as t:
        assert t.type_id(MONSTER) == s.type_id(MONSTER)
        assert t.to_dict(mon) == s.to_dict(mon)
        assert t.to_json(mon) == s.to_json(mon)


def test_type_ids_and_names(monster: Any) -> None:
    s, _ = monster
    tid = s.type_id(MONSTER)
    # FlatBuffers type ids are FNV-1a 64 of the fully-qualified name.
    h = 0xCBF29CE484222325
    for c in MONSTER.encode():
        h = ((h ^ c) * 0x100000001B3) & ((1 << 64) - 1)
    assert tid == h
    assert s.root_type == tid
    assert s.type_name(tid) == MONSTER
    with pytest.raises(xb.UnknownTypeError, match="MyGame.Example.Nope"):
        s.type_id("MyGame.Example.Nope")
    with pytest.raises(xb.UnknownTypeError, match="0x0000000000000007"):
        s.type_name(7)
    with pytest.raises(xb.UnknownTypeError):
        s.type_name(-1)
    with pytest.raises(xb.UnknownTypeError, match="NUL"):
        s.type_id("a\0b")
    with pytest.raises(xb.RecordTypeError, match="not a message type"):
        s.verify("MyGame.Example.Color", b"\0" * 16)
    assert issubclass(xb.UnknownTypeError, LookupError) and xb.UnknownTypeError.code == -21
    assert xb.SchemaError.code == -22 and xb.status_name(-21) == "XB_ERR_UNKNOWN_TYPE"


def test_frames_decode_as_their_type(monster: Any, region: xb.Region) -> None:
    s, mon = monster
    tid = s.type_id(MONSTER)
    f = region.append_raw(xb.Codec.FLATBUFFERS, tid, mon)
    assert s.to_dict(f) == s.to_dict(mon)
    assert s.to_dict(f, type=MONSTER) == s.to_dict(mon)
    assert s.to_json(f) == s.to_json(mon)
    other = region.append_raw(xb.Codec.FLATBUFFERS, 0xDEADBEEF, mon)
    with pytest.raises(xb.UnknownTypeError, match="0x00000000deadbeef"):
        s.to_dict(other)
    with pytest.raises(xb.RecordTypeError):
        s.to_dict(f, type="MyGame.Example.Referrable")
    many = [f] * 3 + [region.append_raw(xb.Codec.FLATBUFFERS, tid, mon)]
    assert s.to_dicts(many) == [s.to_dict(mon)] * 4
    assert s.to_dicts([]) == []
    with pytest.raises(xb.UnknownTypeError, match="frame 1 "):
        s.to_dicts([f, other])
    with pytest.raises(xb.InvalidArgumentError):
        s.to_dicts([mon])
    with xb.Region.anonymous(1 << 16) as r2:
        g = r2.append_raw(xb.Codec.FLATBUFFERS, tid, mon)
        with pytest.raises(xb.InvalidArgumentError, match="one region"):
            s.to_dicts([f, g])
        del g
    del many
    wrong_codec = region.append_raw(xb.Codec.CAPNP, tid, mon)
    with pytest.raises(xb.InvalidArgumentError, match="codec"):
        s.to_json(wrong_codec)
    del f, other, wrong_codec


def test_malformed_monsters(monster: Any) -> None:
    s, mon = monster
    rng = random.Random(7)
    outcomes = {"ok": 0, "malformed": 0}
    for n in range(len(mon)):
        try:
            s.to_dict(mon[:n])
            assert not mon[n:].strip(b"\0"), f"a Monster cut at {n} decoded"
            outcomes["ok"] += 1
        except xb.MalformedError as e:
            assert MONSTER in str(e)
            outcomes["malformed"] += 1
    for _ in range(1500):
        b = bytearray(mon)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            s.verify(MONSTER, b)
        except xb.MalformedError:
            with pytest.raises(xb.MalformedError):
                s.to_dict(bytes(b))
            continue
        try:
            s.to_dict(bytes(b))
            s.to_json(b)
        except xb.MalformedError as e:
            assert "UTF-8" in str(e)  # verify does not look into strings' text
    # Invalid UTF-8 in a string: the same error, with the field, on both paths.
    bad = bytearray(mon)
    i = bad.index(b"MyMonster")
    bad[i + 2] = 0xFF
    for call in (s.to_dict, s.to_json):
        with pytest.raises(xb.MalformedError, match=r"name: string is not valid UTF-8"):
            call(bytes(bad))
    with pytest.raises(xb.MalformedError):
        s.verify(MONSTER, b"")


def test_hostile_schemas() -> None:
    _, bfbs, _ = monster_files()
    with pytest.raises(xb.SchemaError):
        xb.Schema.load(b"\0\0\0\0BFBS" + b"\xff" * 40)
    with pytest.raises(xb.SchemaError):
        xb.Schema.load(b"not a schema at all")
    with pytest.raises(xb.SchemaError):
        xb.Schema.load(b"")
    rng = random.Random(3)
    for _ in range(100):
        b = bytearray(bfbs)
        b[rng.randrange(len(b))] ^= 1 + rng.randrange(255)
        try:
            xb.Schema.load(bytes(b)).close()
        except xb.SchemaError:
            pass


def test_load_errors(tmp_path: Any) -> None:
    for missing in ("missing.bfbs", "missing.fbs", "missing.capnp"):
        with pytest.raises(xb.SchemaNotFoundError, match="missing") as e:
            xb.Schema.load(str(tmp_path / missing))
        assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, xb.SchemaError)
    inc = tmp_path / "inc.fbs"
    inc.write_text('include "absent.fbs";\ntable T { a: int; }\nroot_type T;\n')
    with pytest.raises(xb.SchemaError, match="absent"):
        xb.Schema.load(str(inc))
    with pytest.raises(xb.InvalidArgumentError):
        xb.Schema.load(42)  # type: ignore[arg-type]
    # Not regular files: refused before they are opened or read.
    fifo = tmp_path / "schema.fifo"
    os.mkfifo(fifo)
    for p in (tmp_path, fifo, "/dev/zero"):
        with pytest.raises(xb.SchemaError, match="not a regular file"):
            xb.Schema.load(p)
    bad = tmp_path / "bad.fbs"
    bad.write_text("table {")
    if shutil.which("flatc"):
        with pytest.raises(xb.SchemaError, match="flatc"):
            xb.Schema.load(str(bad))


@pytest.mark.parametrize("ext,package", [(".fbs", "flatbuffers-compiler"), (".capnp", "capnproto")])
def test_missing_compiler_names_the_package(tmp_path: Any, ext: str, package: str) -> None:
    src = tmp_path / ("x" + ext)
    src.write_text("")
    code = f"import crossbuf\ntry:\n crossbuf.Schema.load({str(src)!r})\nexcept crossbuf.SchemaError as e:\n print(e)\n"
    env = dict(os.environ, PATH=str(tmp_path), PYTHONPATH=os.path.join(ROOT, "python"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert f"apt-get install {package}" in out, out


def test_wrong_kind_handles(monster: Any, region: xb.Region) -> None:
    s, mon = monster
    out = ctypes.c_uint64()
    st = _lib.lib.xb_schema_type_id(region._h, MONSTER.encode(), ctypes.byref(out))
    assert st == xb.InvalidArgumentError.code
    assert "schema" in (_lib.lib.xb_last_error() or b"").decode()
    assert _lib.lib.xb_schema_free(region._h) == xb.InvalidArgumentError.code
    assert _lib.lib.xb_schema_type_id(None, MONSTER.encode(), ctypes.byref(out)) == xb.ClosedError.code
    p, n = ctypes.c_void_p(), ctypes.c_uint64()
    st = _lib.lib.xb_schema_to_json(s._h, s._h, s.type_id(MONSTER), mon, len(mon), 0, ctypes.byref(p), ctypes.byref(n))
    assert st == xb.InvalidArgumentError.code  # a schema where a scratch belongs


def test_closed_schema() -> None:
    _, bfbs, mon = monster_files()
    s = xb.Schema.load(bfbs)
    s.close()
    with pytest.raises(xb.ClosedError):
        s.close()
    with pytest.raises(xb.ClosedError):
        s.to_dict(mon)
    with pytest.raises(xb.ClosedError):
        s.type_id(MONSTER)


def test_close_while_other_threads_decode(region: xb.Region) -> None:
    _, bfbs, mon = monster_files()
    for _ in range(3):
        s = xb.Schema.load(bfbs)
        tid = s.type_id(MONSTER)
        f = region.append_raw(xb.Codec.FLATBUFFERS, tid, mon)
        started = threading.Barrier(5)
        results: List[str] = []

        def work(use_frame: bool) -> None:
            started.wait()
            closed = False
            for i in range(2000):
                try:
                    v = s.to_dict(f if use_frame else mon)
                    assert v["hp"] == 80 and not closed
                    s.type_name(tid)
                except xb.ClosedError:
                    closed = True
                    if i > 10 and results.count("closed") > 40:
                        break
                    results.append("closed")
            results.append("done")

        threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(4)]
        for t in threads:
            t.start()
        started.wait()
        s.close()
        for t in threads:
            t.join()
        assert results.count("done") == 4
        del f


# ---- Cap'n Proto: `capnp convert binary:json` as the values to_dict returns ----
# The types come from the CodeGeneratorRequest capnp writes, read by pycapnp
# with Cap'n Proto's own schema.capnp.


class CapnpValues:
    def __init__(self, request: bytes) -> None:
        capnp = pytest.importorskip("capnp")
        d = os.path.dirname(capnp.__file__)
        schema_capnp = capnp.load(os.path.join(d, "schema.capnp"), imports=[os.path.dirname(d)])
        with schema_capnp.CodeGeneratorRequest.from_bytes(request, traversal_limit_in_words=1 << 30) as req:
            self.nodes = {n["id"]: n for n in req.to_dict()["nodes"]}

    def struct(self, node_id: int, v: Dict[str, Any]) -> Dict[str, Any]:
        fields = {f["name"]: f for f in self.nodes[node_id]["struct"]["fields"]}
        out: Dict[str, Any] = {}
        for k, x in v.items():
            f = fields[k]
            out[k] = self.struct(f["group"]["typeId"], x) if "group" in f else self.value(f["slot"]["type"], x)
        return out

    def value(self, t: Dict[str, Any], x: Any) -> Any:
        (w, arg), = t.items()
        if w in ("int64", "uint64"):
            return int(x)
        if w in ("float32", "float64"):
            return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}.get(x, x))
        if w == "data":
            return bytes(x)
        if w == "enum":
            names = [e["name"] for e in self.nodes[arg["typeId"]]["enum"]["enumerants"]]
            return names.index(x) if isinstance(x, str) else x
        if w == "struct":
            return self.struct(arg["typeId"], x)
        if w == "list":
            return [self.value(arg["elementType"], e) for e in x]
        return x


@pytest.fixture(scope="module")
def capnp_request() -> Tuple[str, bytes]:
    d = conformance("capnp")
    capnp = need_tool("capnp")
    return d, run([capnp, "compile", "--no-standard-import", "-I", ".", "-o-", "capnp/test.capnp"], d)


def test_testalltypes_to_dict_matches_capnp(capnp_request: Tuple[str, bytes], region: xb.Region) -> None:
    d, req = capnp_request
    values = CapnpValues(req)
    with xb.Schema.load(req) as s:
        tid = s.type_id("capnp/test.capnp:TestAllTypes")
        assert s.type_id("TestAllTypes") == tid and tid >> 63 == 1
        assert s.type_name(tid) == "capnp/test.capnp:TestAllTypes"
        assert s.root_type is None
        with pytest.raises(xb.UnknownTypeError, match="root type"):
            s.to_dict(b"\0" * 16)

        def read(name: str) -> bytes:
            with open(os.path.join(d, "capnp", "testdata", name), "rb") as f:
                return f.read()

        binary = read("binary")
        want_json = json.loads(run([need_tool("capnp"), "convert", "binary:json", "--no-standard-import", "-I", ".",
                                    "capnp/test.capnp", "TestAllTypes"], d, binary))
        got = s.to_dict(binary, type=tid)
        same(got, values.struct(tid, want_json))
        assert got["int64Field"] == -123456789012345 and got["uInt64Field"] == 12345678901234567890
        assert got["dataField"] == b"bar" and got["enumField"] == 5  # corge
        assert json.loads(s.to_json(binary, type=tid)) == want_json
        for name, layout in (("segmented", xb.Layout.PLAIN), ("flat", xb.Layout.FLAT),
                             ("packed", xb.Layout.PACKED)):
            assert s.to_json(read(name), type=tid, layout=layout) == s.to_json(binary, type=tid), name
            s.verify("TestAllTypes", read(name), layout=layout)
        f = region.append_raw(xb.Codec.CAPNP, tid, binary)
        same(s.to_dict(f), got)
        del f
        for n in range(0, len(binary), 5):
            with pytest.raises(xb.MalformedError, match="TestAllTypes"):
                s.to_dict(binary[:n], type=tid)


def test_compiled_capnp_matches_request(capnp_request: Tuple[str, bytes]) -> None:
    d, req = capnp_request
    with xb.Schema.load(req) as a, xb.Schema.load(os.path.join(d, "capnp", "test.capnp"), imports=[d]) as b:
        assert a.type_id("TestAllTypes") == b.type_id("TestAllTypes")
        with open(os.path.join(d, "capnp", "testdata", "binary"), "rb") as f:
            msg = f.read()
        same(a.to_dict(msg, type="TestAllTypes"), b.to_dict(msg, type="TestAllTypes"))


# A message whose root pointer is null: every field reads as its default.
_EMPTY_CAPNP = b"\0\0\0\0\x01\0\0\0" + b"\0" * 8


def test_capnp_null_pointers_read_as_their_defaults(capnp_request: Tuple[str, bytes], region: xb.Region) -> None:
    """A Text, Data or List the message does not hold reads as its schema
    default through a path, a view and a record alike, as capnp's getters
    read it, from regions and channels."""
    _, req = capnp_request
    name = f"xb-test-defaults-{os.getpid()}"
    with xb.Schema.load(req) as s, xb.Channel.create(name, 1 << 16) as ch, ch.subscribe() as sub:
        xb.Channel.unlink(name)
        tid = s.type_id("TestDefaults")
        f = region.append_raw(xb.Codec.CAPNP, tid, _EMPTY_CAPNP)
        want = {"textField": "foo", "structField.textField": "baz",
                "structField.structField.structField.textField": "really nested"}
        for path, text in want.items():
            assert s.path("TestDefaults", path).read(f) == text, path
            assert s.path("TestDefaults", path).read_many([f, f]) == [text, text], path
            assert bytes(s.path("TestDefaults", path, text="view").read(f)) == text.encode(), path
        assert bytes(s.path("TestDefaults", "dataField").read(f)) == b"bar"
        assert bytes(s.path("TestDefaults", "structField.structField.dataField").read(f)) == b""  # no default anywhere
        ints = s.path("TestDefaults", "int16List").read(f)
        assert ints.tolist() == [11111, -11111] and str(ints.dtype) == "int16"
        assert s.path("TestDefaults", "structField.uInt32List").read_many([f])[0].tolist() == [
            12345678, 90123456, 0, 0xFFFFFFFF]
        v = region.view(f)
        assert v.textField == "foo" and bytes(v.dataField) == b"bar" and v.structField.textField == "baz"
        assert v.int16List.tolist() == [11111, -11111]
        r = region.decode(f)
        assert r.textField == v.textField and r.dataField == bytes(v.dataField)
        assert list(r.int16List) == v.int16List.tolist()
        assert r.float32List[:3] == [5555.5, math.inf, -math.inf] and math.isnan(r.float32List[3])
        assert r.enumList == [0, 7] and r.textList == ["plugh", "xyzzy", "thud"]
        assert r.dataList == [b"oops", b"exhausted", b"rfc3092"]
        r.int16List.append(1)
        assert region.decode(f).int16List == [11111, -11111], "each record holds its own copy of a default"
        # The same through frames received from a channel, one and many.
        ch.publish(_EMPTY_CAPNP, codec=xb.Codec.CAPNP, type_id=tid)
        ch.publish(_EMPTY_CAPNP, codec=xb.Codec.CAPNP, type_id=tid)
        got = sub.receive(timeout=5)
        assert s.path("TestDefaults", "textField").read(got) == "foo"
        assert bytes(s.path("TestDefaults", "dataField").read(got)) == b"bar"
        assert s.path("TestDefaults", "int16List").read(got).tolist() == [11111, -11111]
        cv = s.view(got)  # a received frame's view, as a region frame's
        assert cv.textField == "foo" and cv.structField.textField == "baz" and bytes(cv.dataField) == b"bar"
        assert cv.textList == ["plugh", "xyzzy", "thud"]
        assert s.to_dicts([got]) == [s.to_dict(got)] and s.to_records([got]) == [s.to_record(got)]
        assert [bytes(b) for b in s.path("TestDefaults", "dataField").receive_many(sub, max=4, timeout=5)] == [b"bar"]
        sub.release()
        with pytest.raises(xb.StaleFrameError):
            cv.structField.textField  # noqa: B018 - released: the view reads no more


# The schema of go/schema/capnp_null_test.go: a null-able pointer of each
# kind a path reads.
_NULL_CAPNP = """@0xc0ffee1234567891;
struct Inner { name @0 :Text; n @1 :Int32 = 7; blob @2 :Data; nums @3 :List(Int16); label @4 :Text = "dflt"; }
struct Root {
  name @0 :Text; blob @1 :Data; nums @2 :List(Int32); inner @3 :Inner; texts @4 :List(Text);
  blobs @5 :List(Data); lists @6 :List(List(Int16)); inners @7 :List(Inner);
  u :union { none @8 :Void; text @9 :Text; obj @10 :Inner; list @11 :List(UInt8); }
}
"""

_NULL_PATHS = ["name", "blob", "nums", "inner.name", "inner.n", "inner.blob", "inner.nums", "inner.label",
               "texts[0]", "texts[1]", "texts[2]", "blobs[0]", "blobs[1]", "lists[0]", "lists[1]", "lists[0][0]",
               "lists[1][0]", "inners[0].name", "inners[0].n", "inners[0].label", "inners[0].nums", "inners[1].n",
               "u.text", "u.obj.n", "u.obj.name", "u.obj.label", "u.obj.nums", "u.list"]


def _capnp_getter(reader: Any, path: str) -> Any:
    """What pycapnp's getters read at path (None where they throw: another
    union member, an index past the end), as a path gives it."""
    v = reader
    try:
        for seg in path.split("."):
            name, *idx = seg.replace("]", "").split("[")
            v = getattr(v, name)
            for i in idx:
                v = v[int(i)]
    except IndexError:
        return None
    except Exception as e:  # pycapnp's KjException
        if "union member which is not currently initialized" in str(e):
            return None
        raise
    return list(v) if hasattr(v, "__len__") and not isinstance(v, (str, bytes)) else v


def _plain(v: Any) -> Any:
    if isinstance(v, memoryview):
        return v.tobytes()
    return v.tolist() if hasattr(v, "tolist") else v


def test_capnp_null_pointers_read_as_capnps_getters(tmp_path: Any, region: xb.Region) -> None:
    """A path through a null pointer reads what capnp's getters read (here
    pycapnp's, on messages pycapnp writes): a null Text "", Data and List
    empty, a null struct its defaults (a declared default wins); None only
    for a union holding another member or an index past the end. Single
    and batch reads, reads in place and through the library, received
    frames and views agree; so does the record, wherever it holds the value
    (it leaves null fields out, as capnp's JSON codec does)."""
    capnp = pytest.importorskip("capnp")
    need_tool("capnp")
    path = tmp_path / "null.capnp"
    path.write_text(_NULL_CAPNP)
    m = capnp.load(str(path))

    def elements(r: Any) -> None:
        r.init("inner")
        r.init("texts", 2)[0] = "a"  # [1] stays null
        r.init("blobs", 2)[1] = b"x"  # [0] stays null
        r.init("lists", 2).init(0, 1)[0] = 1  # [1] stays null
        r.init("inners", 1)
        r.u.text = "t"
        r.u.disown("text")  # the member stays text, its pointer null

    def member(name: str) -> Any:
        def build(r: Any) -> None:
            r.u.init(name, 1) if name == "list" else r.u.init(name)
            r.u.disown(name)
        return build

    messages = []
    for build in (lambda r: None, elements, member("obj"), member("list")):
        r = m.Root.new_message()
        build(r)
        messages.append(r.to_bytes())
    name = f"xb-test-null-{os.getpid()}"
    with xb.Schema.load(str(path)) as s, xb.Channel.create(name, 1 << 16) as ch, ch.subscribe() as sub:
        xb.Channel.unlink(name)
        tid = s.type_id("Root")
        paths = {p: s.path("Root", p) for p in _NULL_PATHS}
        library = {p: s.path("Root", p) for p in _NULL_PATHS}
        for p in library.values():
            p._inplace = None
        assert paths["name"]._inplace is not None, "a root Text has an in-place reader"
        frames = [region.append_raw(xb.Codec.CAPNP, tid, b) for b in messages]
        for f, b in zip(frames, messages):
            ch.publish(b, codec=xb.Codec.CAPNP, type_id=tid)
            got = sub.receive(timeout=5)
            with m.Root.from_bytes(b) as reader:
                record = s.to_record(f)
                view = s.view(f)
                for text, p in paths.items():
                    want = _capnp_getter(reader, text)
                    assert _plain(p.read(f)) == want, (text, reader.u.which())
                    assert _plain(library[text].read(f)) == want, text
                    assert [_plain(v) for v in p.read_many([f, f])] == [want, want], text
                    assert _plain(p.read(got)) == want, f"{text}, received"
                    if want is None:
                        continue
                    held = _at(record, text)
                    if held is not None:
                        assert _plain(held) == want, f"{text}: the record"
                    if "[" not in text:
                        assert _plain(_at(view, text)) == want, f"{text}: the view"
                    if p._inplace is not None:
                        start = f._paddr - region._base
                        v = p._inplace(region._mv, start, start + len(f))
                        assert v is xb._inplace.LIBRARY or _plain(v) == want, text
                assert view.texts == _capnp_getter(reader, "texts"), "a list the record holds or leaves out"
            sub.release()
        wants = []
        for b in messages:
            with m.Root.from_bytes(b) as reader:
                wants.append({text: _capnp_getter(reader, text) for text in paths})
        for text, p in paths.items():  # batches of received frames
            for b in messages:
                ch.publish(b, codec=xb.Codec.CAPNP, type_id=tid)
            got_many = p.receive_many(sub, max=len(messages), timeout=5)
            assert [_plain(v) for v in got_many] == [w[text] for w in wants], text
            del got_many
            sub.release()


def _at(v: Any, path: str) -> Any:
    """getattr along path (record or view attribute names), [i] indexing;
    None below a value the record leaves out (None, or an unset member)."""
    for seg in path.split("."):
        name, *idx = seg.replace("]", "").split("[")
        v = None if v is None or v is msgspec.UNSET else getattr(v, name)
        for i in idx:
            v = v[int(i)] if v is not None and v is not msgspec.UNSET and int(i) < len(v) else None
    return None if v is msgspec.UNSET else v


def test_schema_from_a_file_of_bytes(tmp_path: Any, capnp_request: Tuple[str, bytes]) -> None:
    _, req = capnp_request
    p = tmp_path / "test.capnp.bin"
    p.write_bytes(req)
    with xb.Schema.load(p) as s:
        assert s.type_id("TestAllTypes") >> 63 == 1


def test_deprecated_fields_are_read_and_written_back(tmp_path: Any, region: xb.Region) -> None:
    """An old writer's value of a field now deprecated survives a decode and
    an encode of the record, and paths and views read it, as to_dict does."""
    need_tool("flatc")
    p = tmp_path / "old.fbs"
    p.write_text("table T { a:int; old:string (deprecated); b:int; }\nroot_type T;\n")
    with xb.Schema.load(str(p)) as s:
        f = s.encode(region, {"a": 1, "old": "kept", "b": 2})
        r = region.decode(f)
        assert (r.a, r.old, r.b) == (1, "kept", 2)
        assert s.to_dict(region.encode(r))["old"] == "kept"
        assert s.path("T", "old").read(f) == "kept" and region.view(f).old == "kept"
        assert region.decode(s.encode(region, {"a": 1})).old is None


def test_values_nested_too_deep_are_invalid_records(tmp_path: Any, region: xb.Region) -> None:
    need_tool("flatc")
    p = tmp_path / "deep.fbs"
    p.write_text("table N { c:N; v:int; }\nroot_type N;\n")
    with xb.Schema.load(str(p)) as s:
        for depth in (100, 5000):  # past the 64 levels of any message; past Python's recursion limit
            d: Dict[str, Any] = {"v": 1}
            for _ in range(depth):
                d = {"c": d}
            with pytest.raises(xb.InvalidRecordError, match="nest"):
                s.encode(region, d)
        assert region.stats().frame_count == 0
