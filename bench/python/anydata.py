"""Record pools of any schema ("any schema" benchmarks): a user's own type
with --schema/--type/--data, and the two records nobody here designed,
FlatBuffers' Monster and Cap'n Proto's carsales ParkingLot (from
../shared/conformance).

The messages of a pool are written by the format's official tools, never by
crossbuf: flatc (`flatc -b` of the JSON records) for FlatBuffers, pycapnp
(`new_message(**record).to_bytes()`) for Cap'n Proto. Each one is checked
with the same tools before anything is timed: flatc prints every message
back as JSON equal to its record; pycapnp reads every message back to a dict
equal to its record.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# Beside the clone, as the tests find it; CROSSBUF_CONFORMANCE overrides.
CONFORMANCE = os.environ.get("CROSSBUF_CONFORMANCE") or os.path.join(os.path.dirname(ROOT), "shared", "conformance")
FB_DIR = os.path.join(CONFORMANCE, "flatbuffers")
CP_DIR = os.path.join(CONFORMANCE, "capnp")


@dataclass
class SchemaPool:
    """The records of one type: values as the JSON data gives them, and the
    same records encoded by the format's official tool."""

    record: str  # the row name: the type's short name
    schema: str  # the schema file (absolute)
    type: str  # the type's name as crossbuf finds it
    format: str  # flatbuffers | capnp
    imports: List[str]
    values: List[Dict[str, Any]]
    wires: List[bytes]
    path: str  # what read-one-field reads
    written_by: str  # the official tool that wrote the messages
    proto: Optional[str] = None  # a FileDescriptorSet of the .proto twin
    proto_type: Optional[str] = None
    twin: Optional[str] = None
    twin_type: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def pool_file(self, path: str) -> str:
        """Writes the pool for the Go benchmark (bench/go/schema_test.go)."""
        import msgspec

        spec = {"record": self.record, "schema": self.schema, "type": self.type, "imports": self.imports,
                "path": self.path, "wires": self.wires, "twin": self.twin or "", "twin_type": self.twin_type or "",
                "proto": self.proto or "", "proto_type": self.proto_type or ""}  # fmt: skip
        with open(path, "wb") as f:
            f.write(msgspec.msgpack.encode(spec))
        return path


def format_of(schema: str) -> str:
    ext = os.path.splitext(schema)[1].lower()
    if ext in (".fbs", ".bfbs"):
        return "flatbuffers"
    if ext == ".capnp":
        return "capnp"
    raise ValueError(f"--schema {schema}: a .fbs or .capnp file")


def default_path(value: Dict[str, Any]) -> str:
    """read-one-field's default: the root's first string field, else its first
    scalar, else the same inside its first table (or first element of its
    first list of tables)."""
    for want in (str, (bool, int, float)):
        for k, v in value.items():
            if isinstance(v, want):
                return str(k)
    for k, v in value.items():
        if isinstance(v, dict):
            return f"{k}.{default_path(v)}"
        if isinstance(v, list) and v and isinstance(v[0], dict):
            return f"{k}[0].{default_path(v[0])}"
    raise ValueError("no string or scalar field in the first record: give --path")


# ---- official writers and checks ----------------------------------------------------


def flatc_pool(schema: str, imports: List[str], values: List[Dict[str, Any]], work: str) -> List[bytes]:
    """flatc -b writes every record; flatc --json reads each back, and it must
    equal the record."""
    os.makedirs(work, exist_ok=True)
    inc = [a for d in imports for a in ("-I", d)]
    out, names, wires = os.path.join(work, "bin"), [], []  # type: Tuple[str, List[str], List[bytes]]
    for i, v in enumerate(values):
        names.append(os.path.join(work, f"r{i:06d}.json"))
        with open(names[-1], "w") as f:
            json.dump(v, f)
    for chunk in range(0, len(names), 200):
        part = names[chunk:chunk + 200]
        shutil.rmtree(out, ignore_errors=True)
        run(["flatc", *inc, "-b", "-o", out, schema, *part])
        bins = [os.path.join(out, f) for f in sorted(os.listdir(out))]  # the schema's file_extension, or .bin
        if len(bins) != len(part):
            raise RuntimeError(f"flatc -b wrote {len(bins)} files for {len(part)} records")
        run(["flatc", *inc, "--json", "--strict-json", "--raw-binary", "-o", os.path.join(work, "back"), schema, "--",
             *bins])  # fmt: skip
        for b in bins:
            with open(b, "rb") as fb:
                wires.append(fb.read())
    for i, v in enumerate(values):
        with open(os.path.join(work, "back", f"r{i:06d}.json")) as f:
            back = json.load(f)
        if back != v:
            raise ValueError(f"flatc does not print record {i} back as it was given: {diff(v, back)}")
    return wires


def pycapnp_pool(schema: str, imports: List[str], type_name: str, values: List[Dict[str, Any]]) -> List[bytes]:
    """pycapnp writes every record and reads it back, equal to the record."""
    mod = pycapnp_load(schema, imports)
    cls = mod
    for part in type_name.split(":")[-1].split("."):
        cls = getattr(cls, part)
    wires = []
    for i, v in enumerate(values):
        w = cls.new_message(**v).to_bytes()
        with cls.from_bytes(w) as r:
            back = r.to_dict()
        if back != v:
            raise ValueError(f"pycapnp does not read record {i} back as it was given: {diff(v, back)}")
        wires.append(w)
    return wires


def pycapnp_load(schema: str, imports: List[str]) -> Any:
    """capnp.load with pycapnp's own import root first: pycapnp keeps one
    parser per process and aborts when a file it loaded (its bundled
    /capnp/c++.capnp) comes again from another path."""
    import capnp

    own = os.path.dirname(os.path.dirname(os.path.abspath(capnp.__file__)))
    return capnp.load(schema, imports=[own, *imports])


def diff(want: Any, got: Any, at: str = "") -> str:
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            if want.get(k) != got.get(k):
                return diff(want.get(k), got.get(k), f"{at}.{k}")
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got)):
            if a != b:
                return diff(a, b, f"{at}[{i}]")
    return f"{at or 'root'}: {got!r} != {want!r}"


def run(cmd: List[str], cwd: Optional[str] = None) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ...: {p.stderr.strip()[-400:]}")
    return p.stdout


# ---- the pools -------------------------------------------------------------------------


def user_pool(schema: str, type_name: str, data: str, n: int, work: str, path: Optional[str] = None,
              imports: Optional[List[str]] = None) -> SchemaPool:  # fmt: skip
    """--schema/--type/--data: data is one JSON record or a list of them (the
    pool cycles through up to n of them)."""
    schema = os.path.abspath(schema)
    with open(data) as f:
        d = json.load(f)
    values = (d if isinstance(d, list) else [d])[:n]
    if not values or not all(isinstance(v, dict) for v in values):
        raise ValueError(f"--data {data}: a JSON object or a list of objects")
    fmt = format_of(schema)
    inc = [os.path.abspath(p) for p in (imports or [])] or [os.path.dirname(schema)]
    return _pool(type_name.split(".")[-1].split(":")[-1], schema, type_name, fmt, inc, values, work, path)


def _pool(record: str, schema: str, type_name: str, fmt: str, imports: List[str], values: List[Dict[str, Any]],
          work: str, path: Optional[str]) -> SchemaPool:  # fmt: skip
    if fmt == "flatbuffers":
        wires, by = flatc_pool(schema, imports, values, work), "flatc -b (checked: flatc --json prints it back)"
    else:
        wires = pycapnp_pool(schema, imports, type_name, values)
        by = "pycapnp new_message(**record).to_bytes() (checked: pycapnp reads it back)"
    return SchemaPool(record, schema, type_name, fmt, imports, values, wires, path or default_path(values[0]), by)


def monster_values(n: int, work: str) -> List[Dict[str, Any]]:
    """monsterdata_test.json (as flatc prints the reference monsterdata_test.mon
    in strict JSON) and n-1 seeded variations of it, in the manner of
    FlatBuffers' own tests: other names, stats, positions, inventories,
    string arrays, enemies and longs, every float exact in float32 so
    flatc prints it back unchanged."""
    run(["flatc", "-I", os.path.join(FB_DIR, "include_test"), "--json", "--strict-json", "--raw-binary", "-o", work,
         os.path.join(FB_DIR, "monster_test.fbs"), "--", os.path.join(FB_DIR, "monsterdata_test.mon")])  # fmt: skip
    with open(os.path.join(work, "monsterdata_test.json")) as f:
        base = json.load(f)
    out = [base]
    colors = ["Red", "Green", "Blue"]
    for seed in range(2, n + 1):
        rng = random.Random(seed)
        m = json.loads(json.dumps(base))

        def word(k: int, rng: random.Random = rng) -> str:
            return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(k))

        m["name"] = word(rng.randint(3, 24)).capitalize()
        m["hp"] = rng.choice([v for v in range(1, 1000) if v != 100])  # 100 is the default: flatc leaves it out
        m["mana"] = rng.choice([v for v in range(1, 1000) if v != 150])
        m["pos"] = {"x": rng.randint(-4096, 4096) / 4, "y": rng.randint(-4096, 4096) / 4,
                    "z": rng.randint(-4096, 4096) / 4, "test1": rng.randint(1, 400) / 8,
                    "test2": rng.choice(colors), "test3": {"a": rng.randint(-999, 999), "b": rng.randint(-99, 99)}}  # fmt: skip
        m["inventory"] = [rng.randrange(256) for _ in range(rng.randint(0, 64))]
        m["testarrayofstring"] = [word(rng.randint(1, 12)) for _ in range(rng.randint(0, 8))]
        m["enemy"] = {"name": word(rng.randint(3, 12)).capitalize()}
        m["test"] = {"name": word(rng.randint(3, 12)).capitalize()}
        m["test4"] = [{"a": rng.randint(-999, 999), "b": rng.randint(-99, 99)} for _ in range(rng.randint(0, 6))]
        m["vector_of_longs"] = [rng.randint(-(1 << 62), 1 << 62) for _ in range(rng.randint(1, 16))]
        m["testarrayofbools"] = [rng.random() < 0.5 for _ in range(rng.randint(1, 12))]
        for k in ("inventory", "testarrayofstring", "test4"):
            if not m[k]:
                del m[k]  # flatc prints an empty vector; keep the record as it would come back
        out.append(m)
    return out


# Cap'n Proto's carsales benchmark (c++/src/capnp/benchmark/carsales.c++):
# a parking lot of up to 199 random cars.
MAKES = ["Toyota", "GM", "Ford", "Honda", "Tesla"]
MODELS = ["Camry", "Prius", "Volt", "Mustang", "Model S"]
COLORS = ["black", "white", "red", "green", "blue", "cyan", "magenta", "yellow", "silver"]


def random_car(rng: random.Random) -> Dict[str, Any]:
    """One car as carsales' randomCar makes it; its floats are rounded to
    1/64 so they are exact in float32 (pycapnp reads them back unchanged)."""

    def r32(x: float) -> float:
        return round(x * 64) / 64

    length, width, height = 170 + rng.randrange(150), 48 + rng.randrange(36), 54 + rng.randrange(48)
    cap = r32(10.0 + rng.random() * 30.0)
    return {
        "make": rng.choice(MAKES), "model": rng.choice(MODELS), "color": rng.choice(COLORS),
        "seats": 2 + rng.randrange(6), "doors": 2 + rng.randrange(3),
        "wheels": [{"diameter": 25 + rng.randrange(15), "airPressure": r32(30 + rng.random() * 20),
                    "snowTires": rng.randrange(16) == 0} for _ in range(4)],
        "length": length, "width": width, "height": height, "weight": length * width * height // 200,
        "engine": {"horsepower": 100 * rng.randrange(400), "cylinders": 4 + 2 * rng.randrange(3),
                   "cc": 800 + rng.randrange(10000), "usesGas": True, "usesElectric": bool(rng.randrange(2))},
        "fuelCapacity": cap, "fuelLevel": r32(rng.random() * cap),
        "hasPowerWindows": bool(rng.randrange(2)), "hasPowerSteering": bool(rng.randrange(2)),
        "hasCruiseControl": bool(rng.randrange(2)), "cupHolders": rng.randrange(12),
        "hasNavSystem": bool(rng.randrange(2)),
    }  # fmt: skip


def parking_lot_values(n: int) -> List[Dict[str, Any]]:
    out = []
    for seed in range(1, n + 1):
        rng = random.Random(seed)
        out.append({"cars": [random_car(rng) for _ in range(rng.randrange(200))]})
    return out


BUILTIN = ["Monster", "ParkingLot"]


def builtin_pool(name: str, n: int, work: str) -> SchemaPool:
    if not os.path.isdir(CONFORMANCE):
        raise FileNotFoundError(f"{CONFORMANCE} is absent (the reference projects' schemas)")
    os.makedirs(work, exist_ok=True)
    if name == "Monster":
        return _pool("Monster", os.path.join(FB_DIR, "monster_test.fbs"), "MyGame.Example.Monster", "flatbuffers",
                     [os.path.join(FB_DIR, "include_test")], monster_values(n, work), work, "name")  # fmt: skip
    return _pool("ParkingLot", os.path.join(CP_DIR, "carsales.capnp"), "ParkingLot", "capnp", [CP_DIR],
                 parking_lot_values(n), work, "cars[0].make")  # fmt: skip
