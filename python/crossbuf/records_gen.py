"""Typed record classes for the types of a loaded schema.

Each FlatBuffers table or struct and each Cap'n Proto struct or group
becomes a msgspec.Struct class, built once per schema from the schema's own
description (xb_schema_describe). Messages decode into them straight from
the MessagePack the library writes (one call, then msgspec's typed decoder),
so no dict or tuple is built on the way.

Enums (and the type fields of FlatBuffers unions) become IntEnum classes
whose _missing_ hook keeps a value the schema does not name (one a newer
writer added) as a member-like int instead of failing the decode. Union
values are typed Any (the message carries no tag msgspec could tell their
types apart by); a decoded member becomes the record class its union's type
field names. Fields
absent from a message read as the schema's default, or None. Of a Cap'n
Proto union, the active member holds its value (None for Void or a null
pointer) and the other members are msgspec.UNSET, so encoding a record
writes the member it holds.
"""

from __future__ import annotations

import base64
import builtins
import copy
import functools
import json
import keyword
import re
import sys
import types
import typing
from enum import IntEnum
from typing import Any, Callable, Dict, List, Optional, Tuple

import msgspec

_SCALARS: Dict[str, Any] = {
    "bool": bool, "int8": int, "int16": int, "int32": int, "int64": int, "uint8": int, "uint16": int,
    "uint32": int, "uint64": int, "float32": float, "float64": float, "string": str, "bytes": bytes,
    "enum": int, "union type": int,
}
_STUB_SCALARS: Dict[str, str] = {k: v.__name__ for k, v in _SCALARS.items()}
_ENUM_KINDS = ("enum", "union type")


def _keep_unknown(cls: Any, value: object) -> Any:
    """IntEnum._missing_: a value the schema does not name survives as a
    pseudo-member (an int of the enum's class), as flatc, capnp and protoc
    readers keep it. msgspec's typed decoder calls this hook too."""
    if type(value) is not int:
        return None
    member = int.__new__(cls, value)
    member._name_ = str(value)
    member._value_ = value
    return member


def enum_class(name: str, values: List[Dict[str, Any]], module: str) -> Any:
    """An IntEnum of values ([{"name", "value"}]) that keeps unknown values.
    A value named like a keyword, or like a name Enum keeps for itself (mro,
    name, _sunder_ and __dunder__ names), gets trailing _s (class_,
    missing__)."""
    attrs = attribute_names([str(v["name"]) for v in values], _enum_reserved)
    members = [(attrs[str(v["name"])], int(v["value"])) for v in values]
    cls: Any = IntEnum(name, members, module=module)  # type: ignore[misc]
    setattr(cls, "_missing_", classmethod(_keep_unknown))  # noqa: B010 - mypy: not a method assignment
    return cls


def class_name(type_name: str) -> str:
    """A Python identifier for a schema type name ("MyGame.Example.Monster" ->
    "MyGame_Example_Monster"; "capnp/test.capnp:TestAllTypes" -> "TestAllTypes")."""
    name = type_name.split(":", 1)[-1]
    name = re.sub(r"\W", "_", name)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = "T_" + name
    return name


def _enum_reserved(n: str) -> bool:
    """A name Enum refuses or takes for itself as a member name."""
    sunder = len(n) > 2 and n[0] == "_" and n[-1] == "_" and n[-2] != "_"
    return n in ("mro", "name") or sunder or (len(n) > 4 and n.startswith("__") and n.endswith("__"))


def attribute_names(names: List[str], reserved: Optional[Callable[[str], bool]] = None) -> Dict[str, str]:
    """The attribute name of each of a type's fields (or an enum's values):
    a keyword (or a name reserved says is taken) gets trailing _s until it
    names no other field (from -> from_, or from__ where the type also has a
    field from_); a reserved name loses its leading _s too (_missing_ ->
    missing__), which type checkers take for private, non-member names."""
    taken = set(names)
    out = {}
    for n in names:
        a = n
        if keyword.iskeyword(n) or (reserved is not None and reserved(n)):
            if reserved is not None and reserved(n):
                a = n.lstrip("_") or "value"
            a += "_"
            while a in taken:
                a += "_"
            taken.add(a)
        out[n] = a
    return out


class Classes:
    """The record classes of one schema, by type name."""

    def __init__(self, description: bytes, module: str) -> None:
        d = json.loads(description)
        self.format: str = d["format"]
        self.types: Dict[str, Dict[str, Any]] = {t["name"]: t for t in d["types"]}
        self.by_type: Dict[str, type] = {}
        self.enums: Dict[str, Any] = {}
        names: Dict[str, str] = {}
        for name, t in self.types.items():
            if t["kind"] in ("table", "struct", "group", "enum", "union"):
                cn = class_name(name)
                while cn in names.values():
                    cn += "_"
                names[name] = cn
        self.names = names
        # Annotations name types only through private aliases: msgspec (and
        # mypy, in the stubs) looks a name up in the class first, where a
        # field called int, Optional or Vec3 would shadow the type. The
        # prefix is one no field or class name of the schema starts with.
        taken = set(names.values())
        for t in self.types.values():
            taken.update(attribute_names([str(f["name"]) for f in t.get("fields", [])]).values())
        p = "_xb_"
        while any(n.startswith(p) for n in taken):
            p += "_"
        self.prefix = p
        # Forward references (a Monster holding Monsters) resolve in a module
        # of their own, which msgspec reads when it builds a decoder.
        self.module = types.ModuleType(module)
        self.module.__dict__.update({p + "builtins": builtins, p + "typing": typing, p + "msgspec": msgspec})
        sys.modules[module] = self.module
        for name, cn in names.items():
            t = self.types[name]
            if t["kind"] in ("enum", "union"):
                # A union's class names its type field's values (NONE, members).
                e = enum_class(cn, t.get("values", []), module)
                e.__doc__ = f"{self.format} {t['kind']} {name}"
                setattr(self.module, cn, e)
                setattr(self.module, self._alias(cn), e)
                self.enums[name] = e
        for name, cn in names.items():
            if self.types[name]["kind"] in ("enum", "union"):
                continue
            # A keyword field (from, as from_) keeps the schema's name in the
            # MessagePack the library reads and writes.
            attrs = attribute_names([str(f["name"]) for f in self.types[name].get("fields", [])])
            rename = {a: n for n, a in attrs.items() if a != n}
            ns = self._union_tagging(name, attrs)
            cls = msgspec.defstruct(cn, self._fields(name), kw_only=True, module=module, rename=rename or None,
                                    namespace=ns)
            cls.__doc__ = f"{self.format} {self.types[name]['kind']} {name}"
            setattr(self.module, cn, cls)
            setattr(self.module, self._alias(cn), cls)
            self.by_type[name] = cls

    def _union_tagging(self, name: str, attrs: Dict[str, str]) -> Optional[Dict[str, Any]]:
        """A __post_init__ for a FlatBuffers table with union fields (or
        vectors of unions). A decoded member arrives as a dict, since
        MessagePack has no tag msgspec could tell the members apart by: it
        becomes the record class its type field names. A member given as a
        record with its type field unset sets that field to the member's
        tag, as flatc's object API does. A dict whose type field names no
        table or struct (a newer writer's member) stays a dict."""
        unions = []
        for f in self.types[name].get("fields", []):
            t = f["type"]
            vector = t["kind"] == "vector" and t["elem"]["kind"] == "union"
            if vector:
                t = t["elem"]
            if t["kind"] != "union" or f["name"] + "_type" not in attrs:
                continue
            tags = {str(v["member"]): int(v["value"])
                    for v in (self.types.get(str(t["type"])) or {}).get("values", []) if v.get("member")}
            if tags:
                unions.append((attrs[f["name"]], attrs[f["name"] + "_type"], tags, vector))
        if not unions:
            return None
        by_type = self.by_type
        # Made on first use, when every class exists: (type field, member
        # class) -> tag, and (type field, tag) -> member class.
        tag_of: Dict[Tuple[str, type], int] = {}
        class_of: Dict[Tuple[str, int], type] = {}

        def member(type_attr: str, tag: Any, v: Any) -> Any:
            if isinstance(v, dict):
                cls = class_of.get((type_attr, int(tag or 0)))
                if cls is not None:
                    try:
                        return msgspec.convert(v, cls)
                    except msgspec.ValidationError:  # a caller's dict: encode names what is wrong
                        return v
            return v

        def __post_init__(self: Any) -> None:
            if not tag_of:
                for _, ta, ts, _ in unions:
                    for m, tag in ts.items():
                        if m in by_type:
                            tag_of[(ta, by_type[m])] = tag
                            class_of[(ta, tag)] = by_type[m]
            for value_attr, type_attr, _, vector in unions:
                v = getattr(self, value_attr)
                if v is None:
                    continue
                t = getattr(self, type_attr)
                if vector:
                    if isinstance(t, list) and len(t) == len(v):
                        setattr(self, value_attr, [member(type_attr, ti, vi) for ti, vi in zip(t, v)])
                    elif not t:
                        found = [tag_of.get((type_attr, type(vi))) for vi in v]
                        if all(x is not None for x in found):
                            setattr(self, type_attr, found)
                elif t:
                    setattr(self, value_attr, member(type_attr, t, v))
                else:
                    one = tag_of.get((type_attr, type(v)))
                    if one is not None:
                        setattr(self, type_attr, one)

        return {"__post_init__": __post_init__}

    def _alias(self, class_name: str) -> str:
        """The private name annotations give the record class class_name."""
        return f"{self.prefix}T_{class_name}"

    def _ann(self, ref: Dict[str, Any], stub: bool = False) -> str:
        """The annotation of a field of type ref. In a class msgspec decodes
        into, a union is Any (msgspec cannot tell its members apart); in a
        stub, it is its members' classes, or a dict (a tag this schema does
        not know)."""
        kind: str = ref["kind"]
        b, t = self.prefix + "builtins.", self.prefix + "typing."
        if kind in ("vector", "array"):
            return f"{t}List[{self._ann(ref['elem'], stub)}]"
        if kind == "union" and stub:
            members = [self._alias(self.names[str(v["member"])])
                       for v in (self.types.get(str(ref.get("type"))) or {}).get("values", [])
                       if str(v.get("member")) in self.by_type]  # fmt: skip
            return f"{t}Union[{', '.join(dict.fromkeys(members))}{', ' if members else ''}{t}Dict[{b}str, {t}Any]]"
        if kind in ("table", "struct", "group"):
            return self._alias(self.names[str(ref["type"])])
        if kind in _ENUM_KINDS and str(ref.get("type")) in self.enums:
            return self._alias(self.names[str(ref["type"])])
        if kind in _SCALARS:
            return b + _STUB_SCALARS[kind]
        return t + "Any"  # unions, void, interfaces, AnyPointer

    def _fields(self, name: str, stub: bool = False) -> List[Tuple[str, str, Any]]:
        out = []
        attrs = attribute_names([str(f["name"]) for f in self.types[name].get("fields", [])])
        for f in self.types[name].get("fields", []):
            # Deprecated fields too: old writers' data is read, and written back.
            ref = f["type"]
            ann = self._ann(ref, stub)
            if f.get("nested"):
                ann = self._alias(self.names[f["nested"]])
            default = f.get("default")
            if default is not None:
                default = self._default(ref, default)
            if f.get("union_member"):
                # Only the active member is set (None when it is Void or a
                # null pointer); the others are UNSET, which msgspec leaves
                # out of the MessagePack, so the library sees one member.
                ann = f"{self.prefix}typing.Union[{ann}, None, {self.prefix}msgspec.UnsetType]"
                default = msgspec.UNSET
            elif isinstance(default, list):
                # A Cap'n Proto List default: each record gets its own copy.
                default = msgspec.field(default_factory=functools.partial(copy.deepcopy, default))
            elif default is None or ref["kind"] not in _SCALARS or f.get("optional"):
                ann, default = f"{self.prefix}typing.Optional[{ann}]", None
            out.append((attrs[str(f["name"])], ann, default))
        return out

    def _default(self, ref: Dict[str, Any], v: Any) -> Any:
        """A default value of the description as the record holds it (see
        Schema.Describe: NaN and infinities are strings, Data base64)."""
        kind = ref["kind"]
        if kind in ("vector", "array"):
            return [self._default(ref["elem"], e) for e in v] if isinstance(v, list) else None
        if kind in ("float32", "float64"):
            return float(v)
        if kind == "bytes":
            return base64.b64decode(v) if isinstance(v, str) else None
        if kind == "bool":
            return bool(v)
        if kind in _ENUM_KINDS and str(ref.get("type")) in self.enums:
            return self.enums[str(ref["type"])](v)
        return v

    def stubs(self) -> str:
        """A .pyi text for the classes, so type checkers know the fields."""
        p = self.prefix
        base_enum, base_struct = "IntEnum", "msgspec.Struct"
        head = ["from enum import IntEnum", "", "import msgspec"]
        if {"IntEnum", "msgspec"} & set(self.names.values()):  # a class of the schema would shadow them
            base_enum, base_struct = f"{p}enum.IntEnum", f"{p}msgspec.Struct"
            head = [f"import enum as {p}enum", "", f"import msgspec as {p}msgspec"]
        lines = ["# Record classes of a crossbuf schema (crossbuf schema stubs).",
                 f"import builtins as {p}builtins", f"import typing as {p}typing", f"import msgspec as {p}msgspec",
                 *head, ""]
        for name, e in self.enums.items():
            lines.append(f"class {self.names[name]}({base_enum}):")
            lines.append(f'    """{e.__doc__}"""')
            lines.extend(f"    {m.name} = {m.value}" for m in e)
            lines.append("")
        for name, cn in self.names.items():
            if name in self.enums:
                continue
            lines.append(f"class {cn}({base_struct}, kw_only=True):")
            lines.append(f'    """{self.format} {self.types[name]["kind"]} {name}"""')
            fields = self._fields(name, stub=True)
            for f, ann, _ in fields:
                lines.append(f"    {f}: {ann} = ...")
            if not fields:
                lines.append("    pass")
            lines.append("")
        # The aliases the annotations use (forward references are fine in a stub).
        lines.extend(f"{self._alias(cn)} = {cn}" for name, cn in self.names.items()
                     if name in self.enums or name in self.by_type)
        lines.append("")
        return "\n".join(lines)
