"""Typed record classes built from users' schemas (msgspec Structs)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import uuid
from typing import Any, List

import msgspec
import numpy as np
import pytest

import crossbuf as xb

from conftest import PYTHON_DIR, conformance


def _same(record: Any, value: Any) -> None:
    """record (Structs) holds what value (to_dict's dicts) holds; fields the
    message lacks read as defaults."""
    if isinstance(record, msgspec.Struct):
        assert isinstance(value, dict)
        for k, v in value.items():
            _same(getattr(record, k), v)
    elif isinstance(record, list):
        assert len(record) == len(value)
        for r, v in zip(record, value):
            _same(r, v)
    elif isinstance(record, float) and record != record:
        assert value != value
    else:
        assert record == value


def test_monster_records() -> None:
    d = conformance("flatbuffers")
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
        data = fh.read()
    with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:
        m = s.to_record(data)
        assert type(m) is s.record_class("MyGame.Example.Monster")
        _same(m, s.to_dict(data))
        assert m.mana == 150, "absent: the schema default"
        assert m.enemy.name == "Fred" and m.pos.test3.a == 5
        with xb.Region.anonymous(1 << 20) as r:
            f = r.append_raw(xb.Codec.FLATBUFFERS, s.root_type, data)
            assert s.to_record(f) == m
            del f
        tree = ast.parse(s.stubs())
        names = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        assert {"MyGame_Example_Monster", "MyGame_Example_Vec3"} <= names


def test_testalltypes_records() -> None:
    d = conformance("capnp")
    capnp = shutil.which("capnp")
    if capnp is None:
        pytest.skip("capnp not installed (./build.sh test installs it)")
    req = subprocess.run([capnp, "compile", "--no-standard-import", "-I", ".", "-o-", "capnp/test.capnp"], cwd=d,
                         capture_output=True, check=True).stdout
    with open(os.path.join(d, "capnp", "testdata", "binary"), "rb") as fh:
        data = fh.read()
    with xb.Schema.load(req) as s:
        tid = s.type_id("TestAllTypes")
        rec = s.to_record(data, type=tid)
        _same(rec, s.to_dict(data, type=tid))
        assert rec.int64Field == -123456789012345 and rec.structField.structField.textField == "nested"


def test_stubs_command(tmp_path: Any) -> None:
    d = conformance("flatbuffers")
    out = os.path.join(os.fspath(tmp_path), "monster.pyi")
    p = subprocess.run([sys.executable, "-m", "crossbuf", "schema", "stubs", os.path.join(d, "monster_test.bfbs"), "-o",
                        out], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=PYTHON_DIR), timeout=60)
    assert p.returncode == 0, p.stderr
    with open(out) as fh:
        ast.parse(fh.read())
    json.dumps(p.stdout)


def test_encode_records_and_dicts() -> None:
    d = conformance("flatbuffers")
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
        data = fh.read()
    with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s, xb.Region.anonymous(1 << 20) as r:
        m = s.to_record(data)
        f = s.encode(r, m)  # the record's own type
        assert f.type_id == s.root_type and s.to_record(f) == m
        s.verify(s.root_type, bytes(f.payload))
        f2 = s.encode(r, {"name": "Orc", "hp": 7, "color": "Green"})
        assert s.to_dict(f2) == {"name": "Orc", "hp": 7, "color": 2}
        before = r.stats().used
        for bad in ({"name": "x", "hp": 1 << 20}, {"name": "x", "color": "Purple"}, {"hp": 1}, {"nope": 1},
                    {"name": "x", "testf": 1e39}):
            with pytest.raises(xb.InvalidRecordError):
                s.encode(r, bad)
        with pytest.raises(xb.InvalidRecordError):
            s.encode(r, {"name": object()})
        assert r.stats().used == before, "failed encodes commit nothing"
        del f, f2


def test_encode_capnp_record() -> None:
    d = conformance("capnp")
    capnp = shutil.which("capnp")
    if capnp is None:
        pytest.skip("capnp not installed (./build.sh test installs it)")
    req = subprocess.run([capnp, "compile", "--no-standard-import", "-I", ".", "-o-", "capnp/test.capnp"], cwd=d,
                         capture_output=True, check=True).stdout
    with open(os.path.join(d, "capnp", "testdata", "binary"), "rb") as fh:
        data = fh.read()
    with xb.Schema.load(req) as s, xb.Region.anonymous(1 << 20) as r:
        tid = s.type_id("TestAllTypes")
        rec = s.to_record(data, type=tid)
        f = s.encode(r, rec)
        assert s.to_json(f) == s.to_json(data, type=tid)
        del f


def test_paths_read_one_field_of_many_frames() -> None:
    d = conformance("flatbuffers")
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
        data = fh.read()
    with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s, xb.Region.anonymous(1 << 20) as r:
        t = s.root_type
        frames = [r.append_raw(xb.Codec.FLATBUFFERS, t, data) for _ in range(3)]
        frames.append(s.encode(r, {"name": "Orc", "hp": 7}))
        assert s.path(t, "name").read_many(frames) == ["MyMonster"] * 3 + ["Orc"]
        assert s.path(t, "hp").read_many(frames) == [80, 80, 80, 7]
        assert s.path(t, "mana").read(frames[3]) == 150, "absent: the default"
        assert s.path(t, "pos.x").read(frames[0]) == 1.0
        assert s.path(t, "test.Monster.name").read(frames[0]) == "Fred"
        assert s.path(t, "testhashu64_fnv1").read(frames[0]) == 7930699090847568257
        assert s.path(t, "enemy.name").read(frames[3]) is None, "no enemy"
        assert s.path(t, "inventory").read(frames[0]) == bytes([0, 1, 2, 3, 4])
        for bad in ("nope", "name.x", "test", ""):
            with pytest.raises(xb.InvalidArgumentError):
                s.path(t, bad)
        other = r.append_raw(xb.Codec.FLATBUFFERS, t + 1, data)
        with pytest.raises(xb.RecordTypeError):
            s.path(t, "name").read(other)
        del frames, other


# Fields named like the builtins and typing names annotations use, and like
# the modules the stubs import: record classes must not resolve their types
# through them (the class namespace comes first when annotations resolve).
_NAMES_FBS = """
namespace N;
enum Color : byte { Red, Green }
enum Odd : byte { None, class, mro, name, value, _missing_, _order_, __init__ }
struct Inner { bool: bool; int: int; }
table Sub { str: string; }
table T {
  int: int; str: string; float: float; bool: bool; bytes: [ubyte]; list: [int]; dict: string; Any: int;
  Optional: string; Union: bool; List: [string]; builtins: int; typing: int; msgspec: int; IntEnum: int;
  inner: Inner; color: Color; N_Sub: Sub; from: int; odd: Odd;
}
root_type T;
"""
_NAMES_CAPNP = """@0xbf5147cbbecf40c1;
enum Color { red @0; green @1; }
struct Inner { bool @0 :Bool; int @1 :Int32; }
struct IntEnum { int @0 :Int32; }
struct S {
  int @0 :Int32; str @1 :Text; float @2 :Float64; bool @3 :Bool; bytes @4 :Data; list @5 :List(Int32);
  dict @6 :Text; any @7 :Int8; optional @8 :Text; union @9 :Bool; builtins @10 :Int16; typing @11 :UInt8;
  msgspec @12 :Int64; inner @13 :Inner; color @14 :Color; from @15 :UInt32; e @16 :IntEnum;
}
"""


def _load_text(tmp_path: Any, name: str, text: str) -> xb.Schema:
    if shutil.which("flatc" if name.endswith(".fbs") else "capnp") is None:
        pytest.skip("flatc or capnp not installed (./build.sh test installs them)")
    path = os.path.join(os.fspath(tmp_path), name)
    with open(path, "w") as fh:
        fh.write(text)
    return xb.Schema.load(path)


def test_fields_named_like_builtins_flatbuffers(tmp_path: Any) -> None:
    with _load_text(tmp_path, "names.fbs", _NAMES_FBS) as s, xb.Region.anonymous(1 << 20) as r:
        T, Inner, Sub = s["N.T"], s["N.Inner"], s["N.Sub"]
        rec = T(int=5, str="a", float=1.5, bool=True, bytes=[1, 2], list=[3, 4], dict="d", Any=6, Optional="o",
                Union=True, List=["x", "y"], builtins=7, typing=8, msgspec=9, IntEnum=10,
                inner=Inner(bool=True, int=-1), color=1, N_Sub=Sub(str="s"), from_=11)  # fmt: skip
        f = r.encode(rec)
        back = r.decode(f)
        assert back == rec and type(back) is T
        assert back.int == 5 and back.str == "a" and back.bool is True and back.from_ == 11
        assert back.inner == Inner(bool=True, int=-1) and back.color == 1 and back.N_Sub.str == "s"
        want = {"int": 5, "str": "a", "float": 1.5, "bool": True, "bytes": [1, 2], "list": [3, 4], "dict": "d",
                "Any": 6, "Optional": "o", "Union": True, "List": ["x", "y"], "builtins": 7, "typing": 8,
                "msgspec": 9, "IntEnum": 10, "inner": {"bool": True, "int": -1}, "color": 1, "N_Sub": {"str": "s"},
                "from": 11}  # fmt: skip
        assert s.to_dict(f) == want
        assert s.to_record(s.encode(r, want, type="N.T")) == rec, "a dict encodes by the schema's names"
        empty = r.decode(s.encode(r, {}, type="N.T"))
        assert (empty.int, empty.str, empty.bool, empty.inner) == (0, None, False, None)
        del f


def test_fields_named_like_builtins_capnp(tmp_path: Any) -> None:
    with _load_text(tmp_path, "names.capnp", _NAMES_CAPNP) as s, xb.Region.anonymous(1 << 20) as r:
        S, Inner = s["S"], s["Inner"]
        rec = S(int=5, str="a", float=1.5, bool=True, bytes=b"\x00\xff", list=[3, 4], dict="d", any=-6,
                optional="o", union=True, builtins=7, typing=8, msgspec=9, inner=Inner(bool=True, int=-1), color=1,
                from_=11, e=s["IntEnum"](int=12))  # fmt: skip
        f = r.encode(rec)
        back = r.decode(f)
        assert back == rec and type(back) is S
        assert back.int == 5 and back.str == "a" and back.bool is True and back.bytes == b"\x00\xff"
        d = s.to_dict(f)
        assert d["int"] == 5 and d["str"] == "a" and d["float"] == 1.5 and d["bool"] is True and d["from"] == 11
        assert d["inner"] == {"bool": True, "int": -1} and d["list"] == [3, 4] and d["bytes"] == b"\x00\xff"
        assert d["e"] == {"int": 12} and back.e.int == 12
        assert s.to_record(s.encode(r, d, type="S")) == rec
        del f


def test_stubs_of_builtin_field_names_pass_mypy(tmp_path: Any) -> None:
    """The stubs of schemas whose fields are named int, str, Optional...
    type-check under mypy --strict, and so does code using them."""
    pytest.importorskip("mypy")
    tmp = os.fspath(tmp_path)
    with _load_text(tmp_path, "names.fbs", _NAMES_FBS) as s:
        stubs = {"names_fb": s.stubs()}
    with _load_text(tmp_path, "names.capnp", _NAMES_CAPNP) as s:
        stubs["names_capnp"] = s.stubs()
    with xb.Schema.load(os.path.join(conformance("flatbuffers"), "monster_test.bfbs")) as s:
        stubs["monster"] = s.stubs()
    for mod, text in stubs.items():
        with open(os.path.join(tmp, mod + ".pyi"), "w") as fh:
            fh.write(text)
    with open(os.path.join(tmp, "use.py"), "w") as fh:
        fh.write(
            "from typing import List, Optional\n"
            "import names_capnp\n"
            "import names_fb\n"
            "t = names_fb.N_T(int=5, str='a', bool=True, from_=9, inner=names_fb.N_Inner(bool=True, int=7),\n"
            "                 color=names_fb.N_Color.Green)\n"
            "i: int = t.int\n"
            "s: Optional[str] = t.str\n"
            "b: bool = t.bool\n"
            "f: float = t.float\n"
            "li: Optional[List[str]] = t.List\n"
            "c: names_fb.N_Color = t.color\n"
            "o: names_fb.N_Odd = names_fb.N_Odd.missing__\n"  # enum values Enum keeps for itself are renamed
            "o = names_fb.N_Odd.name_\n"
            "n: Optional[names_fb.N_Inner] = t.inner\n"
            "u = names_capnp.S(int=1, bytes=b'x', inner=names_capnp.Inner(int=2))\n"
            "by: Optional[bytes] = u.bytes\n"
            "ui: int = u.int\n"
            "e: Optional[names_capnp.IntEnum] = u.e\n"
            "import monster\n"  # a union reads as one of its members' classes
            "m = monster.MyGame_Example_Monster(name='m', test=monster.MyGame_Example_Monster(name='in'))\n"
            "if isinstance(m.test, monster.MyGame_Example_Monster):\n"
            "    inner: Optional[str] = m.test.name\n"
        )
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", os.devnull, "--no-color-output",
                        "names_fb.pyi", "names_capnp.pyi", "monster.pyi", "use.py"], check=False, cwd=tmp, capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr


def _bools_read(s: xb.Schema, r: xb.Region, tid: Any, paths: List[str], frames: List[Any]) -> None:
    """Each path reads the same Python bools through read, read_many and a
    view as the decoded records hold."""
    records = [r.decode(f) for f in frames]
    for path in paths:
        p = s.path(tid, path)
        want = []
        for rec in records:
            v = rec
            for part in path.replace("[", ".[").split("."):
                v = v[int(part[1:-1])] if part.startswith("[") else getattr(v, part)
            want.append(v)
        got = [p.read(f) for f in frames]
        assert got == want and all(type(v) is bool for v in got), (path, got)
        many = p.read_many(frames)
        assert many == want and all(type(v) is bool for v in many), (path, many)
        if "[" not in path:
            views = []
            for f in frames:
                v = r.view(f)
                for part in path.split("."):
                    v = getattr(v, part)
                views.append(v)
            assert views == want and all(type(v) is bool for v in views), (path, views)


def test_bool_paths_flatbuffers() -> None:
    d = conformance("flatbuffers")
    with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
        data = fh.read()
    with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s, xb.Region.anonymous(1 << 20) as r:
        t = s.root_type
        frames = [r.append_raw(xb.Codec.FLATBUFFERS, t, data), s.encode(r, {"name": "a", "testbool": False}),
                  s.encode(r, {"name": "b"}), s.encode(r, {"name": "c", "testbool": True})]  # fmt: skip
        assert s.path(t, "testbool").read_many(frames) == [True, False, False, True]
        _bools_read(s, r, t, ["testbool"], frames)
        # through a union member, and an element of a vector of bools
        assert s.path(t, "test.Monster.testbool").read(frames[0]) is False
        assert s.path(t, "test.Monster.testbool").read_many(frames[:2]) == [False, None]
        first = s.path(t, "testarrayofbools[0]")
        assert first.read(frames[0]) is True and first.read_many(frames[:2]) == [True, None]
        assert s.path(t, "testarrayofbools[1]").read(frames[0]) is False
        whole = s.path(t, "testarrayofbools").read(frames[0])
        assert whole.dtype == np.bool_ and whole.tolist() == [True, False, True], "vectors stay numpy arrays"
        assert type(s.path(t, "hp").read(frames[0])) is int and s.path(t, "hp").read_many(frames[:1]) == [80]
        assert type(r.view(frames[0]).hp) is int
        del frames, whole


def test_bool_paths_capnp(tmp_path: Any) -> None:
    text = """@0xd4c4b7bca4a1f7e3;
struct Inner { on @0 :Bool; n @1 :Int32; }
struct S {
  bool @0 :Bool; flags @1 :List(Bool); inner @2 :Inner; n @3 :Int32;
  choice :union { yes @4 :Bool; count @5 :Int32; }
  dflt @6 :Bool = true;
}
"""
    with _load_text(tmp_path, "bools.capnp", text) as s, xb.Region.anonymous(1 << 20) as r:
        frames = [s.encode(r, {"bool": True, "flags": [True, False], "inner": {"on": True}, "choice": {"yes": True}},
                           type="S"),
                  s.encode(r, {"bool": False, "flags": [False, True], "inner": {"on": False}, "dflt": False,
                               "choice": {"yes": False}}, type="S")]  # fmt: skip
        assert s.path("S", "bool").read_many(frames) == [True, False]
        _bools_read(s, r, "S", ["bool", "dflt", "inner.on", "flags[0]", "flags[1]", "choice.yes"], frames)
        other = s.encode(r, {"choice": {"count": 3}}, type="S")
        assert s.path("S", "choice.yes").read(other) is None, "the union holds another member"
        assert s.path("S", "choice.count").read(other) == 3 and type(r.view(other).n) is int
        del frames, other


def test_bool_paths_of_received_frames() -> None:
    """Bools read as bools from frames a subscriber holds too (read,
    read_many, receive_many)."""
    d = conformance("flatbuffers")
    name = f"xb-test-bool-{uuid.uuid4().hex[:12]}"
    with xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s, xb.Region.anonymous(1 << 20) as r:
        t = s.root_type
        assert t is not None
        ch = xb.Channel.create(name, 1 << 16)
        try:
            sub = ch.subscribe()
            for b in (True, False, True, False):
                ch.publish(s.encode(r, {"name": "m", "testbool": b}).payload, codec=xb.Codec.FLATBUFFERS, type_id=t)
            p = s.path(t, "testbool")
            got = sub.receive_many(max=2, timeout=1)
            assert [p.read(f) for f in got] == [True, False] and [type(p.read(f)) for f in got] == [bool, bool]
            assert p.read_many(got) == [True, False] and all(type(v) is bool for v in p.read_many(got))
            del got
            many = p.receive_many(sub, max=2, timeout=1)
            assert many == [True, False] and all(type(v) is bool for v in many)
            sub.close()
        finally:
            ch.close()
            xb.Channel.unlink(name)


_UNIONS_CAPNP = """@0xd4a1bbd3d6b7a1c2;
struct P { x @0 :UInt32; }
struct U {
  id @0 :UInt16;
  union {
    none @1 :Void;
    text @2 :Text;
    list @3 :List(UInt8);
    point @4 :P;
    n @5 :UInt32;
  }
  g :group { union { a @6 :Text; b @7 :Int8; } }
}
"""


def test_capnp_union_records_round_trip(tmp_path: Any) -> None:
    """A Cap'n Proto union's active member is the one a record holds; the
    others are msgspec.UNSET, so each variant, also a Void member or a null
    pointer (None), decodes and encodes back to the same variant. A null
    pointer member reads as capnp's getter reads it: "", [], a struct of
    defaults."""
    with _load_text(tmp_path, "unions.capnp", _UNIONS_CAPNP) as s, xb.Region.anonymous(1 << 20) as r:
        U, G, P = s["U"], s["U.g"], s["P"]
        members = {"none": None, "text": "t", "list": [1, 2], "point": P(x=3), "n": 4}
        null_reads = {"text": "", "point": P(), "list": []}
        for name, value in [*members.items(), ("text", None), ("point", None), ("list", None)]:
            rec = U(id=1, g=G(b=-2), **{name: value})
            back = r.decode(r.encode(rec))
            if value is None and name in null_reads:
                value = null_reads[name]
            assert back == U(id=1, g=G(b=-2), **{name: value}), name
            assert getattr(back, name) == value, name
            for other in members.keys() - {name}:
                assert getattr(back, other) is msgspec.UNSET, (name, other)
            assert back.g.a is msgspec.UNSET and back.g.b == -2
            again = r.decode(r.encode(back))
            assert again == back, f"{name} survives a second round trip"
            assert s.to_record(s.encode(r, s.to_dict(r.encode(back)), type="U")) == back, f"{name} through a dict"
        with pytest.raises(xb.InvalidRecordError, match="both set"):
            r.encode(U(text="a", n=1))
        empty = r.decode(r.encode(U()))
        assert empty.none is None, "no member given: the union keeps its first member"


_GENERICS_CAPNP = """@0xc3a7b1e2f4d5a6b7;
struct Inner { a @0 :Int32; b @1 :Text; }
struct Pair(K, V) { key @0 :K; value @1 :V; }
struct Uses { p @0 :Pair(Text, Inner); d @1 :Pair(Data, List(Inner)); raw @2 :Pair; }
"""


def test_capnp_generic_records(tmp_path: Any) -> None:
    """A generic struct with bound parameters is a record class of its own,
    whose fields have the bound types; unbound ones stay untyped."""
    with _load_text(tmp_path, "generics.capnp", _GENERICS_CAPNP) as s, xb.Region.anonymous(1 << 20) as r:
        Uses, Inner = s["Uses"], s["Inner"]
        PairTI, PairDL = s["Pair(Text, Inner)"], s["Pair(Data, List(Inner))"]
        assert PairTI.__name__ == "Pair_Text__Inner_"
        rec = Uses(p=PairTI(key="k", value=Inner(a=1, b="x")), d=PairDL(key=b"\x00", value=[Inner(a=2)]))
        back = r.decode(r.encode(rec))
        assert back == rec and type(back.p) is PairTI and type(back.p.value) is Inner
        assert s.to_dict(r.encode(back)) == {"p": {"key": "k", "value": {"a": 1, "b": "x"}},
                                             "d": {"key": b"\x00", "value": [{"a": 2}]}}  # fmt: skip
        assert s.path("Uses", "d.value[0].a").read(r.encode(rec)) == 2
        assert "value: _xb_typing.Optional[_xb_T_Inner]" in s.stubs()


def test_views_name_keyword_fields_like_records(tmp_path: Any) -> None:
    """A view's attribute for a field named like a keyword is the record
    class's (from_), for fields read by path and from the record alike."""
    with _load_text(tmp_path, "names.capnp", _NAMES_CAPNP) as s, xb.Region.anonymous(1 << 20) as r:
        f = r.encode(s["S"](from_=11, list=[1, 2]))
        v = r.view(f)
        assert v.from_ == 11 and list(v.list) == [1, 2]
        with pytest.raises(AttributeError):
            getattr(v, "from")
        del v, f


def test_keyword_fields_never_collide(tmp_path: Any) -> None:
    """A keyword field (from) is from_, or from__ where the type also has a
    field from_: every field keeps its own attribute, in records, views and
    stubs, and round trips."""
    fbs = "namespace K; table F { name: string; from: string; from_: int; w: float; } root_type F;"
    with _load_text(tmp_path, "k.fbs", fbs) as s, xb.Region.anonymous(1 << 16) as r:
        F = s["K.F"]
        assert F.__struct_fields__ == ("name", "from__", "from_", "w")
        rec = F(name="n", from__="a", from_=1, w=0.5)
        frame = r.encode(rec)
        assert r.decode(frame) == rec
        assert s.to_dict(frame) == {"name": "n", "from": "a", "from_": 1, "w": 0.5}
        assert r.decode(s.encode(r, {"from": "b", "from_": 2}, "K.F")) == F(from__="b", from_=2)
        v = r.view(frame)
        assert (v.from__, v.from_) == ("a", 1)
        stubs = s.stubs()
        assert stubs.count("from__:") == 1 and stubs.count("from_:") == 1
        del v, frame


def test_enum_classes_by_name(tmp_path: Any) -> None:
    with _load_text(tmp_path, "names.fbs", _NAMES_FBS) as s:
        Color = s["N.Color"]
        assert Color.Green == 1 and Color(7) == 7  # an unknown value stays an int
        assert s["N.T"](color=Color.Green).color is Color.Green
        with pytest.raises(xb.RecordTypeError, match="not a table or struct"):
            s.record_class("N.Color")


def test_flatbuffers_union_members_set_their_tag(tmp_path: Any) -> None:
    """A union member given as a record sets its unset type field (as flatc's
    object API does); a tag given is kept; a dict member still needs it."""
    fbs = """namespace m;
table Int { bitWidth: int; }
table Utf8 {}
union Type { Int, Utf8 }
table Field { name: string; type: Type; other: Type; }
root_type Field;
"""
    with _load_text(tmp_path, "u.fbs", fbs) as s, xb.Region.anonymous(1 << 16) as r:
        F, Int, Utf8 = s["m.Field"], s["m.Int"], s["m.Utf8"]
        f = F(name="a", type=Int(bitWidth=8), other=Utf8())
        assert (f.type_type, f.other_type) == (1, 2)
        frame = r.encode(f)
        assert json.loads(s.to_json(frame)) == {"name": "a", "type_type": "Int", "type": {"bitWidth": 8},
                                                "other_type": "Utf8", "other": {}}
        assert F(type=Int(), type_type=2).type_type == 2, "a tag given is kept"
        with pytest.raises(xb.InvalidRecordError, match="type"):
            r.encode(F(type={"bitWidth": 8}))
        del frame


def test_flatbuffers_union_members_decode_as_their_records(tmp_path: Any) -> None:
    """A decoded union member, alone or in a vector of unions, is the record
    class its type field names, and encodes back to the same message; a
    member of a tag this schema does not know (a newer writer's) stays a
    dict."""
    fbs = """namespace m;
table Int { bitWidth: int; signed: bool = true; }
table Utf8 { note: string; }
struct Pair { a: short; b: short; }
union Type { Int, Utf8, Pair }
table Field { name: string; type: Type; kids: [Type]; }
root_type Field;
"""
    with _load_text(tmp_path, "uv.fbs", fbs) as s, xb.Region.anonymous(1 << 16) as r:
        F, Int, Utf8 = s["m.Field"], s["m.Int"], s["m.Utf8"]
        text = ('{"name": "x", "type_type": "Utf8", "type": {"note": "hi"}, "kids_type": ["Int", "Utf8", "Int"], '
                '"kids": [{"bitWidth": 8}, {"note": "n"}, {"bitWidth": 16, "signed": false}]}')
        frame = s.encode_json(r, text)
        got = r.decode(frame)
        assert got.type == Utf8(note="hi") and got.type_type == 2
        assert got.kids == [Int(bitWidth=8), Utf8(note="n"), Int(bitWidth=16, signed=False)]
        assert r.decode(s.encode(r, got)) == got
        assert json.loads(s.to_json(s.encode(r, got))) == json.loads(s.to_json(frame))
        made = F(kids=[Int(bitWidth=1), Utf8()])  # tags from the members, as for a single union
        assert made.kids_type == [1, 2]
        assert F(type={"note": "raw"}, type_type=9).type == {"note": "raw"}, "an unknown tag keeps the dict"
        del frame
