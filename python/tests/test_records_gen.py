"""Typed record classes built from users' schemas (msgspec Structs)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from typing import Any

import msgspec
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
