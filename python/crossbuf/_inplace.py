"""In-place path readers: a compiled path's program (xb_path_program in
crossbuf.h) turned into a Python function that reads the field straight
from region memory, without a library call (a call through ctypes costs
more than the walk).

A reader takes (mv, start, end): the region's memoryview and the payload's
bounds in it. It returns the value, None where a FlatBuffers message holds
none, or LIBRARY wherever it finds anything but a well-formed message
(also any null Cap'n Proto pointer): the caller then reads through the
library, which gives the value (capnp's for a null pointer) or the error. So a
reader only has to agree with the library on the values of well-formed
messages: every check below is the library's own (go/schema/path.go,
capnp_path.go's cpRootBytes), or a stricter one where the library would
fail a step later anyway.

Readers are generated as source once per path, with the program's offsets
as constants: a loop over the steps would cost more than the reads. Batches
(FieldPath.read_many) stay one library call: per frame it costs less than
this walk in a loop (bench/python/one_record.py, its last lines)."""

from __future__ import annotations

import functools
import struct
from typing import Any, Callable, Dict, List, Optional

import numpy as np

LIBRARY: Any = object()  #: "read this one through the library"

Reader = Callable[[memoryview, int, int], Any]

_HEADER = struct.Struct("<BBBBBBBxQ")
_FB_STEP = struct.Struct("<BBBxHHII")
_CP_STEP = struct.Struct("<BBHH2xI4x")

_INT, _FLOAT, _BOOL, _STRING, _BYTES, _ARRAY = 1, 2, 3, 4, 5, 6
_SIGNED, _DEFAULT, _FIXED = 1, 2, 4
_TABLE, _STRUCT, _ELEMENT, _UNION, _DATA, _POINTER = 1, 2, 3, 4, 5, 6
_FOLLOW = 1
_LIST_SIZE_CODES = {1: 2, 2: 3, 4: 4, 8: 5}  # Cap'n Proto list element sizes, by byte width

_FORMATS = {(1, 0): "<B", (2, 0): "<H", (4, 0): "<I", (8, 0): "<Q",
            (1, 1): "<b", (2, 1): "<h", (4, 1): "<i", (8, 1): "<q"}  # fmt: skip

# The names the generated code uses: the globals of its namespace.
_GLOBALS: Dict[str, Any] = {
    "U16": struct.Struct("<H").unpack_from,
    "U32": struct.Struct("<I").unpack_from,
    "I32": struct.Struct("<i").unpack_from,
    "U64": struct.Struct("<Q").unpack_from,
    **{f"RAW{n}": struct.Struct(f).unpack_from for (n, signed), f in _FORMATS.items() if not signed},
    "SEGS": struct.Struct("<II").unpack_from,
    "PTR": struct.Struct("<iHH").unpack_from,
    "LIST": struct.Struct("<iI").unpack_from,
    "LIB": LIBRARY,
    "serror": struct.error,
}


def compile_reader(program: bytes, text_view: bool = False) -> Optional[Reader]:
    """The reader of a path's program, or None when there is no program (or
    one of a version this package does not know: the library reads).
    text_view: a string reads as a memoryview of its UTF-8 bytes."""
    if len(program) < _HEADER.size or program[0] != 1:
        return None
    _, fmt, leaf, size, flags, nsteps, elem, default = _HEADER.unpack_from(program)
    if len(program) != _HEADER.size + 16 * nsteps or not nsteps:
        return None
    value = _leaf_format(elem if leaf == _ARRAY else leaf, size, flags)
    if value is None and leaf not in (_STRING, _BYTES):
        return None
    steps = [program[_HEADER.size + 16 * i : _HEADER.size + 16 * (i + 1)] for i in range(nsteps)]
    if fmt == 1:
        body = _flatbuffers(leaf, size, flags, default, steps, text_view)
    elif fmt == 2 and nsteps == 1:
        body = _capnp(leaf, size, default, steps[0], text_view)
    else:
        return None
    if body is None:
        return None
    g = dict(_GLOBALS)
    if leaf == _ARRAY and value:
        # numpy's name of the same element: "<?" is no dtype, a bool is "?"
        g["ARR"] = functools.partial(np.frombuffer, dtype=np.dtype(value.replace("<?", "?")))
    elif value is not None:
        g["VAL"] = struct.Struct(value).unpack_from
    g["DEFAULT"] = _default_value(leaf, size, flags, default)
    src = "def read(mv, start, end):\n    try:\n" + "".join("        " + line + "\n" for line in body)
    src += "    except (serror, IndexError, UnicodeDecodeError):\n        return LIB\n"
    ns: Dict[str, Any] = {}
    exec(compile(src, "<crossbuf path reader>", "exec"), g, ns)  # noqa: S102 (source built from numbers only)
    return ns["read"]  # type: ignore[no-any-return]


def _leaf_format(leaf: int, size: int, flags: int) -> Optional[str]:
    if leaf == _FLOAT:
        return {4: "<f", 8: "<d"}.get(size)
    if leaf == _BOOL:
        return "<?" if size == 1 else None
    if leaf == _INT:
        return _FORMATS.get((size, flags & _SIGNED))
    return None


def _default_value(leaf: int, size: int, flags: int, bits: int) -> Any:
    """The default bits as the leaf's Python value."""
    f = _leaf_format(leaf, size, flags)
    if f is None:
        return None
    return struct.unpack_from(f, bits.to_bytes(8, "little"))[0]


def _flatbuffers(leaf: int, size: int, flags: int, default: int, steps: List[bytes],
                 text_view: bool) -> Optional[List[str]]:  # fmt: skip
    """Path.walk and the leaf reads of go/schema/path.go, unrolled. Where
    the library would go on to an error, the reader may stop earlier (a
    position that the next step could not read from is LIBRARY at once)."""
    out = [
        # pathFollow(msg, 0), and room for the root table's vtable offset
        "o = U32(mv, start)[0]",
        "pos = start + o",
        "if not 0 < o < 0x80000000 or pos > end - 4: return LIB",
    ]
    last = len(steps) - 1
    for i, raw in enumerate(steps):
        op, sflags, tag, slot, tag_slot, ssize, index = _FB_STEP.unpack(raw)
        absent = _absent(i == last and op == _TABLE and bool(flags & _DEFAULT))
        if op in (_TABLE, _UNION):
            if slot < 4:
                return None
            # pathFieldAt: the vtable's size and the field's entry in one read
            out += [
                "vt = pos - I32(mv, pos)[0]",
                f"if vt < start or vt > end - {slot + 2}: return LIB",
                f"vs, fo = VT{slot}(mv, vt)",
                f"if vs < {slot + 2} or not fo: {absent}",
            ]
            _vtable_struct(slot)
            if op == _UNION:
                out += [
                    f"if vs < {tag_slot + 2} or vt + {tag_slot + 2} > end: return None",
                    f"to = U16(mv, vt + {tag_slot})[0]",
                    f"if not to or pos + to >= end or mv[pos + to] != {tag}: return None",
                ]
            out += ["pos += fo", f"if pos > end - {max(ssize, 1)}: return LIB"]
        elif op == _STRUCT:
            out.append(f"pos += {slot}")
        elif op == _ELEMENT:
            out += [
                "if pos > end - 4: return LIB",
                f"if {index} >= U32(mv, pos)[0]: return None",
                f"pos += {4 + index * ssize}",
                f"if pos > end - {ssize}: return LIB",
            ]
        else:
            return None
        if sflags & _FOLLOW and i != last:  # pos > end - 4 was ruled out above (an offset is 4 bytes)
            out += [
                "o = U32(mv, pos)[0]",
                "pos += o",
                "if not 0 < o < 0x80000000 or pos > end - 4: return LIB",
            ]
    if leaf == _ARRAY and flags & _FIXED:  # inline in its struct: default holds the length
        out += [f"if pos > end - {default * size}: return LIB", f"return ARR(mv[pos : pos + {default * size}])"]
    elif leaf == _ARRAY:
        out += [
            "if pos > end - 4: return LIB",
            "o = U32(mv, pos)[0]",
            "at = pos + o",
            "if not 0 < o < 0x80000000 or at > end - 4: return LIB",
            f"e = at + 4 + U32(mv, at)[0] * {size}",
            "if e > end: return LIB",
            "return ARR(mv[at + 4 : e])",
        ]
    elif leaf in (_STRING, _BYTES):
        out += [
            "if pos > end - 4: return LIB",
            "o = U32(mv, pos)[0]",
            "at = pos + o",
            "if not 0 < o < 0x80000000 or at > end - 4: return LIB",
            "e = at + 4 + U32(mv, at)[0]",
        ]
        if leaf == _STRING:
            out += ["if e >= end or mv[e]: return LIB",
                    "return mv[at + 4 : e]" if text_view else "return mv[at + 4 : e].tobytes().decode()"]
        else:
            out += ["if e > end: return LIB", "return mv[at + 4 : e]"]
    else:
        out += [f"if pos > end - {size}: return LIB", "return VAL(mv, pos)[0]"]
    return out


def _vtable_struct(slot: int) -> None:
    """VT<slot>: a vtable's size and its entry at slot, in one read."""
    name = f"VT{slot}"
    if name not in _GLOBALS:
        _GLOBALS[name] = struct.Struct(f"<H{slot - 2}xH").unpack_from


def _absent(reads_default: bool) -> str:
    return "return DEFAULT" if reads_default else "return None"


def _capnp(leaf: int, size: int, default: int, raw: bytes, text_view: bool) -> Optional[List[str]]:
    """A field of the root struct of a one-segment message: cpRootBytes of
    go/schema/capnp_path.go for Text and Data, and the same checks before a
    data field's bits (XORed with the default, as cpScalar reads them)."""
    op, sflags, disc_off, disc_value, offset = _CP_STEP.unpack(raw)
    out = [
        # one segment (count - 1 == 0) that fills the message
        "n = end - start",
        "if n < 16: return LIB",
        "nseg, words = SEGS(mv, start)",
        "if nseg or words * 8 != n - 8: return LIB",
        "seg = start + 8",
        # the root struct pointer: offset << 2 | 0, data words, pointer count
        "lo, dw, pc = PTR(mv, seg)",
        "if lo & 3 or not (lo or dw or pc): return LIB",
        "s = 1 + (lo >> 2)",
        "if s < 1 or s + dw + pc > words: return LIB",
    ]
    if sflags & 1:  # the field is a union member: another member set goes to the library
        out += [f"d = U16(mv, seg + s * 8 + {disc_off * 2})[0] if {disc_off * 2 + 2} <= dw * 8 else 0",
                f"if d != {disc_value}: return LIB"]
    if op == _POINTER:
        if leaf not in (_STRING, _BYTES, _ARRAY):
            return None
        width = size if leaf == _ARRAY else 1
        code = _LIST_SIZE_CODES.get(width)
        if code is None:
            return None
        out += [
            f"if {offset} >= pc: return LIB",
            f"at = s + dw + {offset}",
            # a list pointer (offset << 2 | 1) of width-byte elements (Text, Data: bytes)
            "lo, hi = LIST(mv, seg + at * 8)",
            f"if lo & 3 != 1 or hi & 7 != {code}: return LIB",
            "lst = at + 1 + (lo >> 2)",
            f"k = (hi >> 3) * {width}",
            "if lst < 0 or lst * 8 + k > words * 8: return LIB",
            "b = seg + lst * 8",
        ]
        if leaf == _ARRAY:
            out.append("return ARR(mv[b : b + k])")
        elif leaf == _STRING:
            out += ["if not k or mv[b + k - 1]: return LIB",
                    "return mv[b : b + k - 1]" if text_view else "return mv[b : b + k - 1].tobytes().decode()"]
        else:
            out.append("return mv[b : b + k]")
        return out
    if op != _DATA or leaf in (_STRING, _BYTES):
        return None
    out.append(f"if {offset + size} > dw * 8: return DEFAULT")
    if default:  # stored XOR the default: read the bits, then the value
        out += [
            f"bits = RAW{size}(mv, seg + s * 8 + {offset})[0] ^ {default}",
            f"return VAL(bits.to_bytes({size}, 'little'), 0)[0]",
        ]
    else:
        out.append(f"return VAL(mv, seg + s * 8 + {offset})[0]")
    return out
