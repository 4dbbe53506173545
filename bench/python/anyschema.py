"""Python and boundary cells of any schema (a SchemaPool of anydata): the
user's own type, Monster, ParkingLot.

boundary, lib=crossbuf (crossbuf.Schema, the schema loaded at run time):
  encode / dict         Schema.encode(region, record dict) into a prefaulted region, reset when full
  encode / native       Schema.encode(region, record_class instance)
  verify                Schema.verify(type, message)
  decode-full / dict    Schema.to_dict(frame)
  decode-full / native  Schema.to_record(frame): the msgspec Struct of record_class
  read-one-field        FieldPath.read(frame) of the pool's path
  to-json               Schema.to_json(frame)
  batch-*               to_dicts / FieldPath.read_many over the whole pool (records of at most
                        BATCH_MAX_BYTES, as the bundled batch cells: LogEntry-sized, not ParkingLot)

python, the opponents, on the same record dicts:
  pycapnp-dynamic       Cap'n Proto: pycapnp loads the schema at run time (new_message(**dict),
                        from_bytes + to_dict, attribute reads)
  flatbuffers-flatc-gen FlatBuffers: the official runtime with code flatc --python --gen-object-api
                        writes at bench time into build/bench/gen (object API: T.InitFromBuf,
                        T.Pack; reads through the generated accessors)
  orjson, msgspec       JSON and MessagePack of the dicts
  protobuf-dynamic      with --proto: message classes built at run time from the FileDescriptorSet
                        (json_format.ParseDict / MessageToDict)
"""

from __future__ import annotations

import importlib
import itertools
import math
import os
import re
import subprocess
import sys
from typing import Any, Callable, Dict, List, Tuple

from .anydata import SchemaPool
from .timing import Cell, Timed

OPS = ["encode", "decode-full", "read-one-field"]
# A batch call reads the whole pool: over 1000 ParkingLots (14 KB, 100 cars
# each) one pycapnp call lasts seconds and says nothing a single decode does not.
BATCH_MAX_BYTES = 4096


def lookup(v: Any, path: str) -> Any:
    """The path's value in a decoded dict; lists and bytes read as their length."""
    for part in path.split("."):
        m = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", part)
        if not m:
            raise ValueError(f"path {path!r}: cannot read {part!r}")
        v = v[m.group(1)]
        if m.group(2) is not None:
            if int(m.group(2)) >= len(v):
                return None  # absent, as a path read of a missing element
            v = v[int(m.group(2))]
    return len(v) if isinstance(v, (list, bytes)) else v


def same_tree(a: Any, b: Any) -> bool:
    """Equality of generated-code objects (no __eq__): their attributes, recursively."""
    if hasattr(a, "__dict__") and hasattr(b, "__dict__"):
        return type(a) is type(b) and vars(a).keys() == vars(b).keys() and all(
            same_tree(vars(a)[k], vars(b)[k]) for k in vars(a))  # fmt: skip
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    if hasattr(a, "tolist"):  # numpy arrays of scalar vectors
        a = a.tolist()
    if hasattr(b, "tolist"):
        b = b.tolist()
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True  # Monster's nan defaults
    return bool(a == b)


class Lib:
    """One implementation's cells: (op, variant, function of record i, options)."""

    def __init__(self, context: str, fmt: str, lib: str) -> None:
        self.context, self.format, self.lib = context, fmt, lib
        self.fns: List[Tuple[str, str, Callable[[int], Any], Dict[str, Any]]] = []

    def add(self, op: str, variant: str, fn: Callable[[int], Any], **kw: Any) -> None:
        self.fns.append((op, variant, fn, kw))


def cells(args: Any, sp: SchemaPool, gen_dir: str) -> Tuple[List[Cell], List[Timed], List[Any]]:
    """Every cell of one schema pool, each checked on every record first."""
    out: List[Cell] = []
    timed: List[Timed] = []
    setups: List[Any] = []
    makers: List[Tuple[str, str, str, Callable[[], Lib]]] = [("boundary", sp.format, "crossbuf",
                                                              lambda: crossbuf_lib(sp, setups))]  # fmt: skip
    if sp.format == "capnp":
        makers.append(("python", "capnp", "pycapnp-dynamic", lambda: pycapnp_lib(sp)))
    else:
        makers.append(("python", "flatbuffers", "flatbuffers-flatc-gen", lambda: flatc_gen_lib(sp, gen_dir)))
    makers += [("python", "json", "orjson", lambda: dict_lib(sp, "json", "orjson")),
               ("python", "json", "msgspec", lambda: dict_lib(sp, "json", "msgspec")),
               ("python", "msgpack", "msgspec", lambda: dict_lib(sp, "msgpack", "msgspec"))]  # fmt: skip
    if sp.proto:
        makers.append(("python", "protobuf", "protobuf-dynamic", lambda: proto_lib(sp)))
    n = len(sp.values)
    batch = sum(map(len, sp.wires)) <= BATCH_MAX_BYTES * n
    for ctx, fmt, lib, make in makers:
        if ctx not in args.contexts or fmt not in args.formats:
            continue
        try:
            impl = make()
            impl.fns = [f for f in impl.fns if batch or not f[0].startswith("batch")]
            for op, _variant, fn, _kw in impl.fns:  # the check before timing: every record
                for i in range(n if not op.startswith("batch") else 1):
                    fn(i)
        except ImportError as e:
            out += [Cell(ctx, fmt, lib, sp.record, op, status="missing", reason=str(e)) for op in OPS]
            continue
        except Exception as e:  # noqa: BLE001 - any failure becomes a visible cell
            out += [Cell(ctx, fmt, lib, sp.record, op, status="failed", reason=f"{type(e).__name__}: {e}")
                    for op in OPS]  # fmt: skip
            continue
        for op, variant, fn, kw in impl.fns:
            c = Cell(ctx, impl.format, lib, sp.record, op, variant=variant, records_per_op=kw.get("per_op", 1),
                     bytes=kw.get("nbytes"))  # fmt: skip
            if kw.get("output"):
                c.extra["output"] = kw["output"]
            out.append(c)
            timed.append(Timed(c, timer(fn, n, op.startswith("batch"))))
    return out, timed, setups


def timer(fn: Callable[[int], Any], n: int, whole_pool: bool) -> Callable[[], Any]:
    """The timed call: the next record of the pool, or the whole pool at once."""
    if whole_pool:
        return lambda: fn(0)
    it = itertools.cycle(range(n))
    return lambda: fn(next(it))


class _Checked(Exception):
    pass


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise _Checked(what)


# ---- crossbuf ----------------------------------------------------------------------------


class _Regions:
    def __init__(self, xb: Any, sp: SchemaPool) -> None:
        size = sum(map(len, sp.wires))
        self.src = xb.Region.anonymous(max(1 << 20, 2 * size + (1 << 16)))
        self.dst = xb.Region.anonymous(max(16 << 20, 8 * max(map(len, sp.wires)) + (1 << 16)))
        self.dst.prefault()

    def close(self) -> None:
        self.src.close()
        self.dst.close()


def crossbuf_lib(sp: SchemaPool, setups: List[Any]) -> Lib:
    import crossbuf as xb

    s = xb.Schema.load(sp.schema, imports=sp.imports)
    tid = s.type_id(sp.type)
    rg = _Regions(xb, sp)
    setups.append(rg)
    frames = [s.encode(rg.src, v, tid) for v in sp.values]
    path = s.path(tid, sp.path)
    records = [s.to_record(f) for f in frames]
    for i, (f, w) in enumerate(zip(frames, sp.wires)):
        s.verify(tid, w)
        d = s.to_dict(f)
        _check(d == s.to_dict(w, tid), f"record {i}: crossbuf's encoding and the official one decode differently")
        _check(path.read(f) == lookup(d, sp.path), f"record {i}: {sp.path} reads {path.read(f)!r}")
    dst = rg.dst

    def enc(v: Any) -> Any:
        try:
            return s.encode(dst, v, tid)
        except xb.errors.RegionFullError:
            dst.reset()
            return s.encode(dst, v, tid)

    L = Lib("boundary", sp.format, "crossbuf")
    nb = sum(map(len, sp.wires)) // len(sp.wires)
    L.add("encode", "dict", lambda i: enc(sp.values[i]), nbytes=nb)
    L.add("encode", "native", lambda i: enc(records[i]))
    L.add("verify", "default", lambda i: s.verify(tid, sp.wires[i]))
    L.add("decode-full", "dict", lambda i: s.to_dict(frames[i]), output="dict (enums as numbers)")
    L.add("decode-full", "native", lambda i: s.to_record(frames[i]), output="msgspec Struct (Schema.record_class)")
    L.add("read-one-field", "default", lambda i: path.read(frames[i]))
    L.add("to-json", "default", lambda i: s.to_json(frames[i]))
    L.add("batch-decode-full", "dict", lambda i: s.to_dicts(frames), per_op=len(frames))
    L.add("batch-read-one-field", "default", lambda i: path.read_many(frames), per_op=len(frames))
    return L


# ---- official runtimes ------------------------------------------------------------------------


def pycapnp_lib(sp: SchemaPool) -> Lib:
    from .anydata import pycapnp_load

    cls: Any = pycapnp_load(sp.schema, sp.imports)
    for part in sp.type.split(":")[-1].split("."):
        cls = getattr(cls, part)

    def read(w: bytes) -> Any:
        with cls.from_bytes(w) as r:
            v = r
            for part in sp.path.split("."):
                m = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", part)
                assert m
                v = getattr(v, m.group(1))
                if m.group(2) is not None:
                    if int(m.group(2)) >= len(v):
                        return None
                    v = v[int(m.group(2))]
            return len(v) if hasattr(v, "__len__") and not isinstance(v, str) else v

    def decode(w: bytes) -> Any:
        with cls.from_bytes(w) as r:
            return r.to_dict()

    for i, v in enumerate(sp.values):
        _check(decode(cls.new_message(**v).to_bytes()) == v, f"record {i} does not round-trip")
        _check(read(sp.wires[i]) == lookup(v, sp.path), f"record {i}: {sp.path}")
    L = Lib("python", "capnp", "pycapnp-dynamic")
    L.add("encode", "dict", lambda i: cls.new_message(**sp.values[i]).to_bytes())
    L.add("decode-full", "dict", lambda i: decode(sp.wires[i]), output="dict (enums as names)")
    L.add("read-one-field", "default", lambda i: read(sp.wires[i]))
    L.add("batch-decode-full", "dict", lambda i: [decode(w) for w in sp.wires], per_op=len(sp.wires))
    L.add("batch-read-one-field", "default", lambda i: [read(w) for w in sp.wires], per_op=len(sp.wires))
    return L


def flatc_gen_lib(sp: SchemaPool, gen_dir: str) -> Lib:
    """The official flatbuffers runtime with code that flatc generates now,
    into gen_dir (not committed)."""
    import flatbuffers

    os.makedirs(gen_dir, exist_ok=True)
    inc = [a for d in sp.imports for a in ("-I", d)]
    p = subprocess.run(["flatc", "--python", "--gen-object-api", "--gen-all", *inc, "-o", gen_dir, sp.schema],
                       capture_output=True, text=True)  # fmt: skip
    if p.returncode != 0:
        raise RuntimeError(f"flatc --python: {p.stderr.strip()[-300:]}")
    if gen_dir not in sys.path:
        sys.path.insert(0, gen_dir)
    mod = importlib.import_module(sp.type)  # flatc writes one module per type, named by the full name
    fix_imports(gen_dir)
    short = sp.type.split(".")[-1]
    table, obj_cls = getattr(mod, short), getattr(mod, short + "T")

    def camel(name: str) -> str:
        return "".join(x[:1].upper() + x[1:] for x in name.split("_"))

    def read(w: bytes) -> Any:
        v: Any = table.GetRootAs(w, 0)
        parts = sp.path.split(".")
        for k, part in enumerate(parts):
            m = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", part)
            assert m
            name = camel(m.group(1))
            if m.group(2) is not None:
                v = getattr(v, name)(int(m.group(2)))
            elif k == len(parts) - 1 and hasattr(v, name + "Length") and not hasattr(v, name + "Type"):
                return getattr(v, name + "Length")()
            else:
                v = getattr(v, name)()
        return v.decode("utf-8") if isinstance(v, bytes) else v

    def encode(o: Any) -> bytes:
        b = flatbuffers.Builder(1024)
        b.Finish(o.Pack(b))
        return bytes(b.Output())

    objs = [obj_cls.InitFromBuf(w, table.GetRootAs(w, 0)._tab.Pos) for w in sp.wires]
    for i, (o, w) in enumerate(zip(objs, sp.wires)):
        back = encode(o)
        _check(same_tree(obj_cls.InitFromBuf(back, table.GetRootAs(back, 0)._tab.Pos), o),
               f"record {i}: Pack then InitFromBuf differs")  # fmt: skip
        _check(read(w) == lookup(sp.values[i], sp.path), f"record {i}: {sp.path} reads {read(w)!r}")
    L = Lib("python", "flatbuffers", "flatbuffers-flatc-gen")
    L.add("encode", "native", lambda i: encode(objs[i]))
    L.add("decode-full", "native", lambda i: obj_cls.InitFromBuf(sp.wires[i], table.GetRootAs(sp.wires[i], 0)._tab.Pos),
          output=f"{short}T (flatc object API)")  # fmt: skip
    L.add("read-one-field", "default", lambda i: read(sp.wires[i]))
    L.add("batch-read-one-field", "default", lambda i: [read(w) for w in sp.wires], per_op=len(sp.wires))
    return L


def fix_imports(gen_dir: str) -> None:
    """flatc 2.0.8's Python code names the classes of other generated modules
    (a struct field's Vec3) without importing them: give each generated
    module the classes of the others it lacks, its own namespace first."""
    mods = []
    for base, _, files in os.walk(gen_dir):
        for f in files:
            if f.endswith(".py") and f != "__init__.py":
                rel = os.path.relpath(os.path.join(base, f[:-3]), gen_dir)
                mods.append(importlib.import_module(rel.replace(os.sep, ".")))
    for m in mods:
        ns = m.__name__.rpartition(".")[0]
        for o in sorted(mods, key=lambda o: o.__name__.rpartition(".")[0] != ns):
            for k, v in vars(o).items():
                if callable(v) and getattr(v, "__module__", None) == o.__name__ and k not in vars(m):
                    setattr(m, k, v)


def dict_lib(sp: SchemaPool, fmt: str, lib: str) -> Lib:
    """orjson / msgspec over the record dicts, with no schema."""
    if lib == "orjson":
        import orjson

        enc, dec = orjson.dumps, orjson.loads
    else:
        import msgspec

        m = msgspec.json if fmt == "json" else msgspec.msgpack
        enc, dec = m.encode, m.decode
    wires = [enc(v) for v in sp.values]
    for i, (v, w) in enumerate(zip(sp.values, wires)):
        _check(dec(w) == v, f"record {i} does not round-trip")
    L = Lib("python", fmt, lib)
    L.add("encode", "dict", lambda i: enc(sp.values[i]), nbytes=sum(map(len, wires)) // len(wires))
    L.add("decode-full", "dict", lambda i: dec(wires[i]), output="dict (enums as the data names them)")
    L.add("read-one-field", "default", lambda i: lookup(dec(wires[i]), sp.path))
    L.add("batch-decode-full", "dict", lambda i: [dec(w) for w in wires], per_op=len(wires))
    L.add("batch-read-one-field", "default", lambda i: [lookup(dec(w), sp.path) for w in wires], per_op=len(wires))
    return L


def proto_lib(sp: SchemaPool) -> Lib:
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

    assert sp.proto and sp.proto_type
    fds = descriptor_pb2.FileDescriptorSet()
    with open(sp.proto, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(sp.proto_type))

    def enc(v: Dict[str, Any]) -> bytes:
        return json_format.ParseDict(v, cls()).SerializeToString()  # type: ignore[no-any-return]

    def dec(w: bytes) -> Dict[str, Any]:
        return json_format.MessageToDict(cls.FromString(w), preserving_proto_field_name=True)  # type: ignore[no-any-return]

    wires = [enc(v) for v in sp.values]
    for i, w in enumerate(wires):
        _check(enc(dec(w)) == w, f"record {i} does not round-trip")
    L = Lib("python", "protobuf", "protobuf-dynamic")
    L.add("encode", "dict", lambda i: enc(sp.values[i]), nbytes=sum(map(len, wires)) // len(wires))
    L.add("decode-full", "dict", lambda i: dec(wires[i]), output="dict (json_format)")
    L.add("read-one-field", "default", lambda i: lookup(dec(wires[i]), sp.path))
    return L
