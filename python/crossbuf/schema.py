"""Users' FlatBuffers and Cap'n Proto schemas, loaded at run time.

    schema = crossbuf.Schema.load("monster.bfbs")          # or .fbs, .capnp, bytes
    tid = schema.type_id("MyGame.Example.Monster")
    frame = region.append_raw(crossbuf.Codec.FLATBUFFERS, tid, data)
    schema.to_dict(frame)        # decoded as the type the frame names
    schema.to_json(data, type="MyGame.Example.Monster")

A Schema is immutable and may be used from any number of threads. Every
decoding call verifies the message first; malformed bytes raise
MalformedError naming the type, the field path and what was wrong.
"""

from __future__ import annotations

import ctypes
import os
import stat
import struct
import threading
import time
import warnings
import weakref
from ctypes import byref, c_char_p, c_uint64, c_void_p
from enum import IntFlag
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
    overload,
)

import msgspec
import numpy as np

from . import _inplace, _lib, _registry, errors
from ._encode import bad_field
from ._encode import encode_msgpack as _encode_msgpack
from ._lib import FRAME_FMT, check_fork, lib, raise_status
from .channel import Channel, ChannelFrame, Subscriber
from .records import Codec
from .records_gen import Classes, attribute_names
from .region import _ONE, Frame, Region, _buffer_arg, _free_scratch

_BFBS = 1
_CAPNP_REQUEST = 2
_string_at = ctypes.string_at
_frame_to_msgpack = lib.xb_schema_frame_to_msgpack
_schema_encode = lib.xb_schema_encode
_path_read = lib.xb_path_read
_path_read_received = lib.xb_path_read_received

#: What Schema.load and the decoding calls accept as bytes.
Buffer = Union[bytes, bytearray, memoryview]
#: A type, by fully-qualified name or by type id.
TypeRef = Union[str, int]
PathArg = Union[str, "os.PathLike[str]"]


class Layout(IntFlag):
    """How a message given as bytes is laid out (XB_MSG_*). Frames always
    hold the plain form."""

    PLAIN = 0
    SIZE_PREFIXED = 1  #: FlatBuffers: starts with its 32-bit length
    FLAT = 2  #: Cap'n Proto: one segment, no segment table
    PACKED = 4  #: Cap'n Proto: packed encoding


class _ThreadState:
    __slots__ = ("__weakref__", "busy", "free", "len_ref", "out", "out_len", "out_ref", "scratch")

    def __init__(self, scratch: int) -> None:
        self.scratch = scratch
        # Frees the scratch at close, or when the thread is gone (its
        # thread-local reference was the last one); once.
        self.free = weakref.finalize(self, _free_scratch, scratch)
        self.free.atexit = False
        self.busy = False
        self.out = c_void_p()
        self.out_len = c_uint64()
        self.out_ref = byref(self.out)
        self.len_ref = byref(self.out_len)


_decode_msgpack = msgspec.msgpack.Decoder().decode



class TypeInfo(NamedTuple):
    """A named type of a schema (Schema.types)."""

    name: str  # full name: "MyGame.Example.Monster", "file.capnp:Person"
    id: int  # its type id (the one frames carry)
    kind: str  # "table", "struct", "enum", "union"

class Schema:
    """A loaded FlatBuffers or Cap'n Proto schema (use Schema.load).

    close() frees it; calls running in other threads finish first, later
    ones raise ClosedError. Not usable in a child process forked after
    import (ForkError)."""

    def __init__(self, handle: int) -> None:
        self._h = handle
        self._pid = os.getpid()
        self._local = threading.local()
        self._states: weakref.WeakSet[_ThreadState] = weakref.WeakSet()  # a dead thread's goes
        self._lock = threading.Lock()
        # The schema is immutable: names and the root resolve once.
        self._ids: Dict[str, int] = {}
        self._names: Dict[int, str] = {}
        self._root: Optional[int] = None
        self._records: Optional[Classes] = None
        self._decoders: Dict[int, Any] = {}
        self._paths: Dict[Tuple[int, str], FieldPath] = {}
        self._class_ids: Dict[type, int] = {}
        # (type id, prefix) -> the RecordView class of the type at prefix
        self._view_classes: Dict[Tuple[int, str], type[RecordView]] = {}
        # Frame type id -> this schema's type id, for the bundled schema,
        # whose types the per-record codecs write as type ids 1-3 (bundled.py).
        self._aliases: Dict[int, int] = {}
        out = c_uint64()
        if lib.xb_schema_root_type(handle, byref(out)) == 0:
            self._root = out.value
        _registry.add(self)

    # ---- loading -------------------------------------------------------------

    @classmethod
    def load(cls, source: Union[PathArg, Buffer], imports: Sequence[PathArg] = ()) -> "Schema":
        """Loads a schema from:

        - bytes: a binary FlatBuffers schema (`flatc -b --schema`, recognised
          by its BFBS identifier) or a Cap'n Proto CodeGeneratorRequest
          (`capnp compile -o-`);
        - a path to a `.fbs` or `.capnp` text schema, compiled by the reference
          compiler (flatc, capnp) with `imports` as include/import directories;
        - a path to any other file: its bytes, as above.

        A missing compiler raises SchemaError saying what to install."""
        check_fork()
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls._from_bytes(bytes(source))
        try:
            path = os.fspath(source)
        except TypeError:
            raise errors.InvalidArgumentError(
                f"a schema is bytes or a path, not {type(source).__name__}") from None
        if not isinstance(path, str):
            path = os.fsdecode(path)
        if path.lower().endswith((".fbs", ".capnp")):
            return cls._compile(path, imports)
        try:
            # Looked at before it is opened: a FIFO or a device (/dev/zero)
            # would block or read forever.
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise errors.SchemaError(f"schema file {path!r} is not a regular file")
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError as e:
            raise errors.SchemaNotFoundError(f"schema file {path!r}: {e.strerror}") from None
        except OSError as e:
            raise errors.SchemaError(f"schema file {path!r}: {e}") from None
        return cls._from_bytes(data)

    @classmethod
    def _from_bytes(cls, data: bytes) -> "Schema":
        # .bfbs files carry reflection.fbs's file identifier at bytes 4..8.
        fmt = _BFBS if data[4:8] == b"BFBS" else _CAPNP_REQUEST
        h = c_void_p()
        st = lib.xb_schema_load(data, len(data), fmt, byref(h))
        if st:
            raise_status(st)
        return cls(h.value or 0)

    @classmethod
    def _compile(cls, path: str, imports: Sequence[PathArg]) -> "Schema":
        dirs = [os.fsencode(d) for d in imports]
        for d in dirs:
            if b"\0" in d:
                raise errors.InvalidArgumentError(f"import directory {d!r} contains a NUL byte")
        if "\0" in path:
            raise errors.InvalidArgumentError(f"schema path {path!r} contains a NUL byte")
        arr = (c_char_p * max(1, len(dirs)))(*dirs)
        h = c_void_p()
        st = lib.xb_schema_compile(os.fsencode(path), arr, len(dirs), byref(h))
        if st:
            try:
                raise_status(st)
            except errors.RegionNotFoundError as e:  # the library's XB_ERR_NOT_FOUND names files too
                raise errors.SchemaNotFoundError(str(e)) from None
        return cls(h.value or 0)

    # ---- lifetime ------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._h == 0

    def _handle(self) -> int:
        h = self._h
        if not h:
            raise errors.ClosedError("schema is closed")
        if _lib._forked:
            _lib.fork_error()
        return h

    def _state(self) -> _ThreadState:
        try:
            return self._local.st  # type: ignore[no-any-return]
        except AttributeError:
            pass
        s = c_void_p()
        st = lib.xb_scratch_new(byref(s))
        if st:
            raise_status(st)
        ts = _ThreadState(s.value or 0)
        with self._lock:
            self._states.add(ts)
        self._local.st = ts
        return ts

    def _enter(self) -> _ThreadState:
        """Starts a call that reads this schema's scratch after the library
        returns (see Region._enter): busy is set before the closed check, and
        close() clears the handle before it waits for busy flags."""
        ts = self._state()
        ts.busy = True
        if not self._h:
            ts.busy = False
            raise errors.ClosedError("schema is closed")
        if _lib._forked:
            ts.busy = False
            _lib.fork_error()
        return ts

    def close(self) -> None:
        """Frees the schema. A second close raises ClosedError."""
        h = self._handle()
        self._h = 0
        me = getattr(self._local, "st", None)
        with self._lock:
            states, self._states = list(self._states), weakref.WeakSet()
        for ts in states:
            while ts.busy and ts is not me:
                time.sleep(0.0001)
        for ts in states:
            ts.free()
        st = lib.xb_schema_free(h)
        if st:
            raise_status(st)

    def __enter__(self) -> "Schema":  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._h:
            self.close()

    def __del__(self) -> None:
        h = getattr(self, "_h", 0)
        if not h or _lib._forked or os.getpid() != self._pid:
            return
        self._h = 0
        for ts in list(self._states):
            ts.free()
        lib.xb_schema_free(h)

    def __repr__(self) -> str:
        return f"Schema({'closed' if self._h == 0 else hex(self._h)})"

    # ---- types ---------------------------------------------------------------

    def type_id(self, name: str) -> int:
        """The stable 64-bit id of the type with a fully-qualified name
        ("MyGame.Example.Monster"; Cap'n Proto: "file.capnp:Name", or "Name"
        when unambiguous). UnknownTypeError names a type the schema lacks."""
        if not isinstance(name, str):
            raise errors.InvalidArgumentError(f"a type name is a str, not {type(name).__name__}")
        tid = self._ids.get(name)
        if tid is not None:
            self._handle()
            return tid
        b = name.encode("utf-8", "surrogatepass")
        if b"\0" in b:
            raise errors.UnknownTypeError(f"no type {name!r}: type names contain no NUL")
        out = c_uint64()
        st = lib.xb_schema_type_id(self._handle(), b, byref(out))
        if st:
            raise_status(st)
        self._ids[name] = out.value
        return out.value

    def type_name(self, type_id: int) -> str:
        """The fully-qualified name of a type id."""
        name = self._names.get(type_id)
        if name is not None:
            self._handle()
            return name
        tid = _lib.check_int(type_id, 0, _lib.U64_MAX, "type id", errors.UnknownTypeError)
        # The name lives in memory the schema owns: copy it before close()
        # in another thread may free it.
        ts = self._enter()
        try:
            st = lib.xb_schema_type_name(self._h, tid, ts.out_ref, ts.len_ref)
            if st:
                raise_status(st)
            name = self._names[tid] = _string_at(ts.out.value or 0, ts.out_len.value).decode("utf-8")
            return name
        finally:
            ts.busy = False

    def has_type(self, type_id: int) -> bool:
        """Whether the schema holds a type with this id."""
        if not isinstance(type_id, int) or not 0 <= type_id <= _lib.U64_MAX:
            return False
        if type_id in self._ids.values():
            return True
        ts = self._enter()
        try:
            return lib.xb_schema_type_name(self._h, type_id, ts.out_ref, ts.len_ref) == 0  # type: ignore[no-any-return]
        finally:
            ts.busy = False

    @property
    def format(self) -> str:
        """The schema language: "flatbuffers" or "capnp"."""
        return self._classes().format

    def types(self) -> List[TypeInfo]:
        """Every named type of the schema (tables, structs, enums, unions), by
        name: its full name, type id and kind."""
        return [TypeInfo(n, int(t["id"]), str(t["kind"])) for n, t in sorted(self._classes().types.items())]

    def __getitem__(self, name: TypeRef) -> Any:
        """The record class of a table or struct, or the IntEnum class of an
        enum, by full name or type id: schema["MyGame.Example.Monster"],
        schema["MyGame.Example.Color"]."""
        tid = self._resolve(name)
        enum = self._classes().enums.get(self.type_name(tid))
        return enum if enum is not None else self.record_class(tid)

    def binary(self) -> bytes:
        """The schema's binary form (a .bfbs, or a Cap'n Proto
        CodeGeneratorRequest): what Schema.load takes back, in any process."""
        ts = self._enter()
        try:
            st = lib.xb_schema_binary(self._h, ts.scratch, ts.out_ref, ts.len_ref)
            if st:
                raise_status(st)
            return _string_at(ts.out.value or 0, ts.out_len.value)
        finally:
            ts.busy = False

    @overload
    def store_in(self, target: Region) -> Frame: ...

    @overload
    def store_in(self, target: Channel) -> None: ...

    def store_in(self, target: Union[Region, Channel]) -> Optional[Frame]:
        """Stores the schema with the data, so another process decodes its
        frames with no schema file of its own (Schema.from_region,
        Schema.from_channel, `crossbuf cat`).

        A region gets it as a schema frame (returned). A channel keeps it in
        its schema area, apart from the ring and never reclaimed, once
        however often it is stored; a full area is ChannelFullError."""
        if isinstance(target, Channel):
            st = lib.xb_channel_store_schema(target._handle(), self._handle())
            if st:
                raise_status(st)
            return None
        f = _lib.XbFrame()
        st = lib.xb_region_store_schema(target._handle(), self._handle(), byref(f))
        if st:
            raise_status(st)
        return target._frame_of(f)

    @classmethod
    def from_region(cls, region: Region) -> List["Schema"]:
        """The schemas stored in region (store_in), in region order."""
        return [cls.load(bytes(f.payload)) for f in region.frames() if f.codec == _lib.CODEC_SCHEMA]

    @classmethod
    def from_channel(cls, channel: Channel) -> List["Schema"]:
        """The schemas stored in channel (store_in), newest first: when two
        define a type id differently, the newer is a later version of the
        schema, and the package's lookup by type id (first loaded first)
        takes it. Stored bytes that are not a schema are skipped; an area
        another process corrupted gives the schemas stored before the
        corrupt entry, with a RuntimeWarning naming it."""
        h = channel._handle()
        n, total = c_uint64(), c_uint64()
        cap = 8
        while True:
            arr = (c_void_p * cap)()
            st = lib.xb_channel_schemas(h, arr, cap, byref(n), byref(total))
            out = [cls(arr[i] or 0) for i in range(n.value)]
            if st == errors.CorruptFrameError.code:
                msg = lib.xb_last_error()
                warnings.warn(f"crossbuf: the channel's schema area is corrupt; only the schemas before the corrupt "
                              f"entry are read: {msg.decode('utf-8', 'replace') if msg else ''}", RuntimeWarning,
                              stacklevel=2)  # fmt: skip
                return out
            if st:
                raise_status(st)
            if total.value <= cap:
                return out
            for s in out:  # more came than fit: again, with room for all
                s.close()
            cap = total.value + 8

    @property
    def root_type(self) -> Optional[int]:
        """The type id of the FlatBuffers root_type, or None."""
        self._handle()
        return self._root

    def _resolve(self, type: Optional[TypeRef]) -> int:
        if type is None:
            root = self._root
            if root is None:
                raise errors.UnknownTypeError("this schema declares no root type: pass type= (a name or id)")
            return root
        if isinstance(type, str):
            return self.type_id(type)
        if isinstance(type, int) and 0 <= type <= _lib.U64_MAX:
            return type
        return _lib.check_int(type, 0, _lib.U64_MAX, "type id", errors.UnknownTypeError)

    # ---- messages ------------------------------------------------------------

    def verify(self, type: TypeRef, data: Buffer, layout: int = Layout.PLAIN) -> None:
        """Raises MalformedError (naming the field path) unless data is a
        well-formed message of type."""
        tid = self._resolve(type)
        flags = _lib.check_int(layout, 0, 0xFFFFFFFF, "layout")
        arg, n, keep = _buffer_arg(data)
        st = lib.xb_schema_verify(self._handle(), tid, arg, n, flags)
        del keep
        if st:
            raise_status(st)

    def _transcode(self, message: Union[Frame, ChannelFrame, Buffer], type: Optional[TypeRef], layout: int,
                   msgpack: bool) -> bytes:  # fmt: skip
        if isinstance(message, Frame):
            return self._transcode_frame(message, type, msgpack)
        if isinstance(message, ChannelFrame):
            tid = self._frame_type(message, type)
            payload = message.payload  # StaleFrameError once released; pins the ring while alive
            try:
                return self._transcode(payload, tid, Layout.PLAIN, msgpack)
            except errors.MalformedError as e:
                message._sub._torn(e)
            finally:
                payload.release()
        tid = self._resolve(type)
        flags = layout if layout == 0 else _lib.check_int(layout, 0, 0xFFFFFFFF, "layout")
        arg, n, keep = _buffer_arg(message)
        ts = self._enter()
        try:
            fn = lib.xb_schema_to_msgpack if msgpack else lib.xb_schema_to_json
            st = fn(self._h, ts.scratch, tid, arg, n, flags, ts.out_ref, ts.len_ref)
            if st:
                raise_status(st)
            return _string_at(ts.out.value or 0, ts.out_len.value)
        finally:
            ts.busy = False
            del keep

    def _frame_type(self, frame: Union[Frame, ChannelFrame], type: Optional[TypeRef]) -> int:
        """The type id a frame's header names; RecordTypeError when type is
        given and is another."""
        tid = self._aliases.get(frame.type_id, frame.type_id)
        if type is not None:
            want = self._resolve(type)
            if want != tid:
                raise errors.RecordTypeError(
                    f"frame at offset {frame.offset} holds type {frame.type_id:#018x}, not {want:#018x}")
        return tid

    def _transcode_frame(self, frame: Frame, type: Optional[TypeRef], msgpack: bool) -> bytes:
        self._frame_type(frame, type)
        region = frame._region
        h = self._handle()
        ref = _lib.XbFrame(offset=frame.offset, region_id=frame.region_id, generation=frame.generation)
        ts = region._enter()  # the region's scratch: its close waits for this call
        try:
            fn = lib.xb_schema_frame_to_msgpack if msgpack else lib.xb_schema_frame_to_json
            st = fn(h, region._h, ts.scratch, byref(ref), ts.mp_ref, ts.mn_ref)
            if st:
                raise_status(st)
            return _string_at(ts.mp.value or 0, ts.mn.value)
        finally:
            ts.busy = False

    def to_json(self, message: Union[Frame, ChannelFrame, Buffer], type: Optional[TypeRef] = None,
                layout: int = Layout.PLAIN) -> str:
        """A message as JSON, the way the reference tools print it
        (FlatBuffers: flatc --json --strict-json; Cap'n Proto: capnp convert
        binary:json). A frame, of a region or received from a channel, is
        decoded as the type its header names (type=, if given, must be that
        type); bytes as type, by default the schema's root_type."""
        return self._transcode(message, type, layout, False).decode("utf-8")

    def to_dict(self, message: Union[Frame, ChannelFrame, Buffer], type: Optional[TypeRef] = None,
                layout: int = Layout.PLAIN) -> Dict[str, Any]:
        """A message as a dict keyed by field name, nested alike: integers and
        enums as int (unknown enum values kept), floats as float, strings as
        str, Cap'n Proto Data as bytes, unions by their `_type` value and
        member (FlatBuffers). FlatBuffers tables hold the fields present in
        the message; Cap'n Proto structs every data and non-null pointer
        field. type and layout as for to_json."""
        v = _decode(self._transcode(message, type, layout, True))
        if not isinstance(v, dict):  # pragma: no cover - a library bug
            raise errors.InternalError(f"the library wrote a {v.__class__.__name__}, not a map")
        return v

    # ---- typed records -------------------------------------------------------

    def _classes(self) -> "Classes":
        c = self._records
        if c is None:
            ts = self._enter()
            try:
                st = lib.xb_schema_describe(self._h, ts.scratch, ts.out_ref, ts.len_ref)
                if st:
                    raise_status(st)
                desc = _string_at(ts.out.value or 0, ts.out_len.value)
            finally:
                ts.busy = False
            c = self._records = Classes(desc, f"crossbuf.schemas.s{id(self):x}")
            for cls in c.by_type.values():
                _registry.add_class(cls, self)
        return c

    def record_class(self, type: Optional[TypeRef] = None) -> Any:
        """The msgspec.Struct class of a table or struct (default: the root
        type), built once from the schema. Enums are IntEnum classes that keep
        unknown values as ints; union values are Any."""
        tid = self._resolve(type)
        name = self.type_name(tid)
        cls = self._classes().by_type.get(name)
        if cls is None:
            raise errors.RecordTypeError(f"{name} is not a table or struct")
        return cls

    def to_record(self, message: Union[Frame, ChannelFrame, Buffer], type: Optional[TypeRef] = None,
                  layout: int = Layout.PLAIN) -> Any:
        """A message as an instance of its record_class: one library call
        writes MessagePack, and msgspec's typed decoder builds the objects."""
        if isinstance(message, (Frame, ChannelFrame)) and type is None:
            tid = self._aliases.get(message.type_id, message.type_id)
        else:
            tid = self._resolve(type)
        dec = self._decoders.get(tid)
        if dec is None:
            dec = self._decoder(tid)
        try:
            return dec.decode(self._transcode(message, tid, layout, True))
        except msgspec.ValidationError as e:  # pragma: no cover - the library and the classes disagree
            raise errors.InternalError(f"record class of {self.type_name(tid)}: {e}") from None

    def _record_of(self, frame: Frame) -> Any:
        """to_record of a Frame as the type its header names: the hot path
        of Region.decode, with the per-thread argument buffers."""
        tid = self._aliases.get(frame.type_id, frame.type_id)
        dec = self._decoders.get(tid)
        if dec is None:
            dec = self._decoder(tid)
        h = self._h
        if not h:
            raise errors.ClosedError("schema is closed")
        region = frame._region
        ts = region._enter()  # the region's scratch: its close waits for this call
        try:
            FRAME_FMT.pack_into(ts.frame_mv, 0, frame.offset, frame.region_id, frame.generation, 0, 0, 0, 0, 0)
            st = _frame_to_msgpack(h, region._h, ts.scratch, ts.frame_ref, ts.mp_ref, ts.mn_ref)
            if st:
                raise_status(st)
            data = _string_at(ts.mp.value or 0, ts.mn.value)
        finally:
            ts.busy = False
        try:
            return dec.decode(data)
        except msgspec.ValidationError as e:  # pragma: no cover - the library and the classes disagree
            raise errors.InternalError(f"record class of {self.type_name(tid)}: {e}") from None

    def _decoder(self, tid: int) -> Any:
        cls = self.record_class(tid)
        dec = self._decoders[tid] = msgspec.msgpack.Decoder(cls)
        self._decoders[-1 - tid] = msgspec.msgpack.Decoder(List[cls])  # type: ignore[valid-type]
        return dec

    def to_records(self, frames: Iterable[Union[Frame, ChannelFrame]]) -> List[Any]:
        """to_record of many frames of one region: frames of one type take
        one library call and one typed decode (frames received from a
        channel: one call each)."""
        fs = list(frames)
        tids = {self._aliases.get(f.type_id, f.type_id) for f in fs if isinstance(f, Frame)}
        if len(tids) != 1 or len(fs) == 1:
            return [self.to_record(f) for f in fs]
        tid = tids.pop()
        if tid not in self._decoders:
            self._decoder(tid)
        try:
            return self._decoders[-1 - tid].decode(self._frames_msgpack(fs, "to_records"))  # type: ignore[no-any-return]
        except msgspec.ValidationError as e:  # pragma: no cover - the library and the classes disagree
            raise errors.InternalError(f"record class of {self.type_name(tid)}: {e}") from None

    def view(self, frame: Union[Frame, ChannelFrame]) -> "RecordView":
        """A lazy view of frame, of a region or received from a channel: each
        attribute read goes through a compiled path (no whole-record
        decode); nested tables and structs are views too. A channel frame's
        view reads only while the frame is held (StaleFrameError after)."""
        if not isinstance(frame, (Frame, ChannelFrame)):
            raise errors.InvalidArgumentError(f"view takes a Frame or ChannelFrame, not {frame.__class__.__name__}")
        tid = self._aliases.get(frame.type_id, frame.type_id)
        cls = self._view_classes.get((tid, ""))
        if cls is None:
            cls = self._view_class(tid, self.type_name(tid), "")
        return cls(frame)

    def _view_class(self, tid: int, type_name: str, prefix: str) -> type[RecordView]:
        """The RecordView subclass of the type_name at prefix in messages of
        type tid: one property per field, so an attribute read is one
        property call (no __getattr__ fallback, no lookups); made once."""
        key = (tid, prefix)
        cls = self._view_classes.get(key)
        if cls is None:
            classes = self._classes()
            desc = classes.types.get(type_name) or {}
            ns: Dict[str, Any] = {"__slots__": (), "_schema": self, "_tid": tid, "_type": type_name,
                                  "_prefix": prefix}  # fmt: skip
            attrs = attribute_names([str(f["name"]) for f in desc.get("fields", [])])
            for f in desc.get("fields", []):
                name = str(f["name"])
                attr = attrs[name]  # as the record class names it: from -> from_
                how = _view_how(classes, type_name, name)
                if how is not None and not attr.startswith("_") and not hasattr(RecordView, attr):
                    ns[attr] = property(_view_getter(self, tid, prefix, name, *how))
            cls = self._view_classes[key] = type(type_name.rpartition(".")[2] + "View", (RecordView,), ns)
        return cls

    def _path(self, tid: int, path: str) -> "FieldPath":
        key = (tid, path)
        p = self._paths.get(key)
        if p is None:
            p = self._paths[key] = self.path(tid, path)
        return p

    def encode(self, region: Region, value: Any, type: Optional[TypeRef] = None) -> Frame:
        """Encodes value — a record_class instance, or a dict of fields by name
        (nested dicts and lists alike; enums as numbers or names) — as a
        message of type (default: the root type, or the record's own type)
        into a new frame of region. A value its field cannot hold exactly is
        InvalidRecordError naming the field; nothing is committed then."""
        tid = self._class_ids.get(value.__class__) if type is None else None
        if tid is None:
            if type is None and isinstance(value, msgspec.Struct):
                type = self._type_of_class(value.__class__)
            tid = self._resolve(type)
        try:
            data = _encode_msgpack(value)
        except RecursionError:
            raise errors.InvalidRecordError(f"encode {self.type_name(tid)}: the value nests too deep") from None
        except (TypeError, ValueError, OverflowError) as e:
            raise errors.InvalidRecordError(
                f"encode {self.type_name(tid)}: {bad_field(value, '') or str(e)}") from None
        h = self._handle()
        rh = region._handle()
        ts = region._enter()
        try:
            st = _schema_encode(h, rh, tid, data, len(data), ts.frame_ref)
            if st:
                raise_status(st)
            off, rid, gen, t, pub, codec, paddr, plen = FRAME_FMT.unpack_from(ts.frame_mv)
        finally:
            ts.busy = False
        return Frame(region, off, rid, gen, t, pub, codec, paddr, plen)

    def encode_json(self, region: Region, text: Union[str, bytes], type: Optional[TypeRef] = None) -> Frame:
        """Encodes a message of type (default: the root type) from JSON text
        into a new frame of region: the form to_json writes (FlatBuffers:
        flatc's JSON; Cap'n Proto: capnp's, 64-bit integers as strings or
        numbers, Data as byte values or base64), so to_json's output encodes
        back to the same message. Text that is not JSON is
        InvalidArgumentError; a value its field cannot hold is
        InvalidRecordError naming the field, and nothing is committed."""
        tid = self._resolve(type)
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
        h = self._handle()
        rh = region._handle()
        ts = region._enter()
        try:
            st = lib.xb_schema_encode_json(h, rh, tid, data, len(data), ts.frame_ref)
            if st:
                raise_status(st)
            t = FRAME_FMT.unpack_from(ts.frame_mv)
        finally:
            ts.busy = False
        return Frame(region, *t)

    def _type_of_class(self, cls: Any) -> Optional[str]:
        for name, c in self._classes().by_type.items():
            if c is cls:
                self._class_ids[cls] = self.type_id(name)
                return name
        return None

    def path(self, type: TypeRef, path: str, text: Literal["str", "view"] = "str") -> "FieldPath":
        """A compiled reader of one field ("http.path", "attributes[3].key",
        "test.Monster.name") of a message type, for one frame or many.

        text: how a string field comes back: "str" decodes it (checked
        UTF-8); "view" hands out its UTF-8 bytes like a bytes field's, a
        read-only memoryview of region or ring memory (no copy) and no check
        (compare view.tobytes() with bytes, or str(view, "utf-8") to decode)."""
        tid = self._resolve(type)
        if not isinstance(path, str):
            raise errors.InvalidArgumentError(f"a path is a str, not {path.__class__.__name__}")
        if text not in ("str", "view"):
            raise errors.InvalidArgumentError(f'text is "str" or "view", not {text!r}')
        b = path.encode("utf-8", "surrogatepass")
        if b"\0" in b:
            raise errors.InvalidArgumentError("a path contains no NUL")
        h, kind = c_void_p(), ctypes.c_int32()
        st = lib.xb_path_compile(self._handle(), tid, b, byref(h), byref(kind))
        if st:
            raise_status(st)
        k = _VALUE_BYTES if text == "view" and kind.value == _VALUE_STRING else kind.value
        fp = FieldPath(h.value or 0, k, path, tid)
        prog, n, also = c_void_p(), c_uint64(), c_uint64()
        st = lib.xb_path_program(fp._h, byref(prog), byref(n), byref(also))
        if st:
            raise_status(st)
        if n.value:
            program = ctypes.string_at(prog.value or 0, n.value)
            fp._inplace = _inplace.compile_reader(program, text == "view")
            fp._ids = (tid, also.value or tid)
            fp._codec = int(Codec.FLATBUFFERS if program[1] == 1 else Codec.CAPNP)
        return fp

    def stubs(self) -> str:
        """A .pyi text declaring the record classes (crossbuf schema stubs)."""
        return self._classes().stubs()

    def to_dicts(self, frames: Iterable[Union[Frame, ChannelFrame]]) -> List[Dict[str, Any]]:
        """to_dict of many frames of one region with one library call, each
        decoded as the type its header names (frames received from a
        channel: one call each)."""
        fs = list(frames)
        if not fs:
            self._handle()
            return []
        if any(isinstance(f, ChannelFrame) for f in fs):
            return [self.to_dict(f) for f in fs]
        v = _decode(self._frames_msgpack(fs, "to_dicts"))
        if not isinstance(v, list):  # pragma: no cover - a library bug
            raise errors.InternalError(f"the library wrote a {v.__class__.__name__}, not an array")
        return v

    def _frames_msgpack(self, fs: Sequence[Union[Frame, ChannelFrame]], what: str) -> bytes:
        """One MessagePack array of the frames fs (all of one region)."""
        first = fs[0]
        if not isinstance(first, Frame):
            raise errors.InvalidArgumentError(f"{what} takes Frames, not {first.__class__.__name__}")
        region = first._region
        buf = bytearray(FRAME_FMT.size * len(fs))
        for i, f in enumerate(fs):
            if not isinstance(f, Frame) or f._region is not region:
                raise errors.InvalidArgumentError(f"{what} takes Frames, all of one region")
            FRAME_FMT.pack_into(buf, FRAME_FMT.size * i, f.offset, f.region_id, f.generation, 0, 0, 0, 0, 0)
        refs = (ctypes.c_char * len(buf)).from_buffer(buf)
        h = self._handle()
        ts = region._enter()
        try:
            st = lib.xb_schema_frames_to_msgpack(h, region._h, ts.scratch, ctypes.addressof(refs), len(fs),
                                                 ts.mp_ref, ts.mn_ref)
            if st:
                raise_status(st)
            return _string_at(ts.mp.value or 0, ts.mn.value)
        finally:
            ts.busy = False
            del refs


def _decode(b: bytes) -> Any:
    try:
        return _decode_msgpack(b)
    except msgspec.DecodeError as e:  # pragma: no cover - a library bug
        raise errors.InternalError(f"the library wrote MessagePack that does not decode: {e}") from None


__all__ = ["Schema", "TypeInfo", "Layout", "FieldPath", "RecordView"]


# XB_VALUE_*; a bool reads as an int64 0 or 1
_VALUE_INT, _VALUE_UINT, _VALUE_FLOAT, _VALUE_BYTES, _VALUE_STRING, _VALUE_ARRAY, _VALUE_BOOL = 1, 2, 3, 4, 5, 6, 7
_SPAN = struct.Struct("<QQ")
_U64 = struct.Struct("<Q").unpack_from
_GENERATION = _lib.XbRegionHeader.generation.offset
# A bool's int64 is 0 or 1: its first (little-endian) byte says which.
_SCALAR_FMT = {_VALUE_INT: struct.Struct("<q"), _VALUE_UINT: struct.Struct("<Q"), _VALUE_FLOAT: struct.Struct("<d"),
               _VALUE_BOOL: struct.Struct("<?7x")}
_VALUE_CTYPES: Dict[int, Any] = {_VALUE_INT: ctypes.c_int64, _VALUE_UINT: ctypes.c_uint64, _VALUE_FLOAT: ctypes.c_double,
                                 _VALUE_BYTES: _lib.XbStr, _VALUE_STRING: _lib.XbStr, _VALUE_ARRAY: _lib.XbArray,
                                 _VALUE_BOOL: ctypes.c_int64}
# numpy dtypes of XB_DTYPE_* (XB_DTYPE_BOOL is one byte each, as stored: writers store 0 or 1)
_NUMPY_DTYPES = [np.dtype(t) for t in ("|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8", "?")]


def _spans(out: Any, present: Any, base: int) -> Iterable[Tuple[int, int, int]]:
    """(present, offset from base, length) of each xb_str the library wrote
    into out: the spans read as one list of words, no ctypes object per
    value."""
    words = (ctypes.c_uint64 * (2 * len(out))).from_buffer(out)[:]
    return zip(bytes(present), [w - base for w in words[0::2]], words[1::2])


def _arrays(out: Any, present: Any, base: int) -> Iterable[Tuple[int, int, int, int]]:
    """(present, offset from base, length in bytes, dtype) of each xb_array
    the library wrote into out (24 bytes each: pointer, length, then dtype
    and element size in one word), read as one list of words like _spans."""
    words = (ctypes.c_uint64 * (3 * len(out))).from_buffer(out)[:]
    kinds = words[2::3]
    return zip(bytes(present), [w - base for w in words[0::3]],
               [k * (w >> 32) for k, w in zip(words[1::3], kinds)], [w & 0xFFFFFFFF for w in kinds])  # fmt: skip


def _array(mv: memoryview, dtype: int) -> np.ndarray:
    """A read-only numpy array over mv (region or ring memory: no copy)."""
    return np.frombuffer(mv, dtype=_NUMPY_DTYPES[dtype])


class FieldPath:
    """One field of a message type, compiled once (Schema.path). Reads walk
    only to the field, bounds-checked. Bytes (FlatBuffers [ubyte] and
    [byte], Cap'n Proto Data) come back as read-only memoryviews of region
    or channel memory, no copy (np.frombuffer makes them arrays); other
    vectors, lists and fixed arrays of scalars as read-only numpy arrays
    over that memory, also no copy. Like payloads they pin the mapping until
    dropped, and a channel's are released with the frame. Strings are
    decoded into str, or handed out as memoryviews of their UTF-8 bytes
    (Schema.path(..., text="view")). Frames received from a channel read
    the same way as a region's; under the overwrite policy use what was read
    only when the subscriber's next release() does not raise OverrunError.

    Where a message does not hold the field: a FlatBuffers path reads as
    flatc's accessors do, a scalar its default and anything else None (a
    table, union member, string or vector left out, an index past the end).
    A Cap'n Proto path reads what capnp's getters read: a null pointer (the
    field's, or a struct's on the way) reads as its schema default, else ""
    for Text, an empty memoryview for Data, an empty array for a List, and
    a field of a null struct as that struct's default holds it, else its
    own default. Only a union on the way that holds another member, or an
    index past a list's end, reads None."""

    def __init__(self, handle: int, kind: int, text: str, type_id: int) -> None:
        self._h = handle
        self._h_arg = c_void_p(handle)
        self._kind = kind
        self.text = text
        self.type_id = type_id
        # The in-place reader of region frames (see _inplace), when the
        # path has a program, and the type ids of the frames it reads.
        self._inplace: Optional[_inplace.Reader] = None
        self._ids = (type_id, type_id)
        self._codec = -1

    def __repr__(self) -> str:
        return f"FieldPath({self.text!r})"

    def __del__(self) -> None:
        h = getattr(self, "_h", 0)
        if h and not _lib.forked():
            lib.xb_path_free(h)

    def read(self, frame: Union[Frame, ChannelFrame]) -> Any:
        """The field's value in frame: None where there is none (see the
        class: a FlatBuffers field left out without a default; a Cap'n Proto
        union holding another member or an index past the end)."""
        array = self._kind == _VALUE_ARRAY
        if type(frame) is not Frame or array and self._inplace is None:
            if type(frame) is ChannelFrame and not array:
                return self._read_one_received(frame)
            return self.read_many([frame])[0]
        region = frame._region
        if region._checking:
            ts = region._enter()
        else:
            try:  # region._enter, inlined: it costs as much as a field read
                ts = region._local.st
            except AttributeError:
                ts = region._state()
            ts.busy = True  # strings point into the region: keep it mapped while copying
            if region._checking:  # close() or reset() began in another thread: wait as _enter does
                ts.busy = False
                ts = region._enter()
        try:
            if not region._h:
                raise errors.ClosedError("region is closed")
            if _lib._forked:
                _lib.fork_error()
            read = self._inplace
            if read is not None and frame.type_id in self._ids and frame.codec == self._codec and region._in_place:
                # In place, when the frame is of the region's current generation
                # (the library checks the rest): LIBRARY for anything unusual.
                mv = region._mv
                start = frame._paddr - region._base
                if _U64(mv, _GENERATION)[0] == frame.generation and 0 < start:
                    v = read(mv, start, start + frame._plen)
                    if v is not _inplace.LIBRARY:
                        return v
            if not array:
                FRAME_FMT.pack_into(ts.frame_mv, 0, frame.offset, frame.region_id, frame.generation, 0, 0, 0, 0, 0)
                st = _path_read(self._h_arg, region._h_arg, ts.frame_arg, _ONE, ts.val_arg, ts.present_arg)
                if st:
                    raise_status(st)
                mv = ts.val_mv
                if not mv[16]:
                    return None
                if self._kind == _VALUE_BYTES:
                    p, n = _SPAN.unpack_from(mv)
                    return region._view_of(p, n)
                return self._scalar_or_str(mv, region._mv, region._base)
        finally:
            ts.busy = False
        return self.read_many([frame])[0]  # an array the program did not read: the library's value or error

    def _scalar_or_str(self, mv: memoryview, mapping: memoryview, base: int) -> Any:
        """The value a single read left in mv: a number, or a str decoded
        straight from mapping (the region or ring memory starting at base,
        where the library's span points)."""
        kind = self._kind
        if kind == _VALUE_STRING:
            p, n = _SPAN.unpack_from(mv)
            if not n:
                return ""
            o = p - base
            try:
                # elsewhere than the mapping: a schema default the path holds
                return str(mapping[o : o + n] if 0 <= o and o + n <= mapping.nbytes else ctypes.string_at(p, n), "utf-8")
            except UnicodeDecodeError as e:
                raise errors.MalformedError(f"{self.text}: invalid UTF-8: {e}") from None
        return _SCALAR_FMT[kind].unpack_from(mv)[0]

    def _read_one_received(self, frame: ChannelFrame) -> Any:
        """read of one frame a subscriber holds, through the subscriber's
        reused argument buffers."""
        sub = frame._sub
        ch = sub._ch
        FRAME_FMT.pack_into(sub._path_frame_mv, 0, *frame._ref())
        b = ch._enter()  # strings point into the ring: keep it mapped while copying
        try:
            sub._handle()  # ClosedError once closed (the library would say so too)
            h, frame_arg, val_arg, present_arg = sub._path_args
            st = _path_read_received(self._h_arg, h, frame_arg, _ONE, val_arg, present_arg)
            if st:
                raise_status(st)
            mv = sub._path_val_mv
            if not mv[16]:
                return None
            if self._kind == _VALUE_BYTES:
                p, k = _SPAN.unpack_from(mv)
                return sub._payload_view(p - ch._base, k) if k else memoryview(b"")
            return self._scalar_or_str(mv, sub._master, ch._base)
        finally:
            b.busy = False

    def read_many(self, frames: Sequence[Union[Frame, ChannelFrame]]) -> List[Any]:
        """The field's value in each frame (all of one region, or all held by
        one subscriber), with one library call."""
        fs = list(frames)
        n = len(fs)
        if n == 0:
            return []
        first = fs[0]
        if isinstance(first, ChannelFrame):
            return self._read_received(fs)
        if not isinstance(first, Frame):
            raise errors.InvalidArgumentError(f"read_many takes Frames, not {first.__class__.__name__}")
        region = first._region
        for f in fs:
            if type(f) is not Frame or f._region is not region:
                raise errors.InvalidArgumentError("read_many takes Frames, all of one region")
        frs = cast(List[Frame], fs)
        refs = bytearray(FRAME_FMT.size * n)
        for i, f in enumerate(frs):
            FRAME_FMT.pack_into(refs, FRAME_FMT.size * i, f.offset, f.region_id, f.generation, 0, 0, 0, 0, 0)
        refc = (ctypes.c_char * len(refs)).from_buffer(refs)
        out = (_VALUE_CTYPES[self._kind] * n)()
        present = (ctypes.c_uint8 * n)()
        ts = region._enter()  # strings point into the region: keep it mapped while copying
        try:
            st = lib.xb_path_read(self._h, region._h, ctypes.addressof(refc), n, ctypes.addressof(out),
                                  ctypes.addressof(present))
            if st:
                raise_status(st)
            if self._kind == _VALUE_BYTES:
                # Cut from the region's master view: no ctypes object or
                # method call per value (_view_of for a span elsewhere).
                mv, cap, base = region._mv, region._cap, region._base
                return [(mv[o : o + k] if 0 <= o and o + k <= cap else region._view_of(o + base, k)) if p else None
                        for p, o, k in _spans(out, present, base)]  # fmt: skip
            if self._kind == _VALUE_ARRAY:
                mv, cap, base = region._mv, region._cap, region._base
                return [_array(mv[o : o + k] if 0 <= o and o + k <= cap else region._view_of(o + base, k), t) if p
                        else None for p, o, k, t in _arrays(out, present, base)]  # fmt: skip
            if self._kind == _VALUE_STRING:
                return self._strings(out, present, region._mv, region._base)
            if self._kind == _VALUE_BOOL:
                return [v != 0 if p else None for v, p in zip(out, present)]
            return [v if p else None for v, p in zip(out, present)]
        finally:
            ts.busy = False
            del refc

    def receive_many(self, sub: Subscriber, max: int = 64, timeout: Optional[float] = None) -> List[Any]:
        """Receives up to max frames from sub, as sub.receive_many does, and
        returns the path's value in each: two library calls per batch and no
        frame objects. The frames stay held until sub's next receive or
        release (bytes values, and strings read with text="view", are views
        into them until then). A frame of
        another type is RecordTypeError (the batch is received all the same)."""
        cap = _lib.check_int(max, 1, 1 << 20, "max")
        f = sub._settle()  # a frame an asynchronous wait took
        if f is not None:
            return [self.read(f)]
        ch = sub._ch
        b = ch._enter()
        try:
            n = sub._take_batch(b, cap, timeout)
            batch = sub._batch
            assert batch is not None  # _take_batch made it
            out = (_VALUE_CTYPES[self._kind] * n)()
            present = (ctypes.c_uint8 * n)()
            st = lib.xb_path_read_received(self._h, sub._handle(), ctypes.addressof(batch), n,
                                           ctypes.addressof(out), ctypes.addressof(present))  # fmt: skip
            if st:
                raise_status(st)
            return self._values_received(sub, out, present)
        finally:
            b.busy = False

    def _values_received(self, sub: Subscriber, out: Any, present: Any) -> List[Any]:
        """The values xb_path_read_received wrote for frames sub holds."""
        if self._kind == _VALUE_BYTES:
            # The spans read as one list of words, the views cut from the
            # subscriber's master view and registered with one extend: no
            # ctypes object or method call per value.
            mv, cap, base = sub._master, sub._master.nbytes, sub._ch._base
            res: List[Any] = []
            for p, o, k in _spans(out, present, base):
                res.append(((mv[o : o + k] if 0 <= o and o + k <= cap else sub._payload_view(o, k)) if k
                            else memoryview(b"")) if p else None)  # fmt: skip
            sub._views += [v for v in res if v and v.obj is mv.obj]  # a copy (a schema default) needs no release
            return res
        if self._kind == _VALUE_ARRAY:
            view = sub._payload_view
            return [_array(view(o, k) if k else memoryview(b""), t) if p else None
                    for p, o, k, t in _arrays(out, present, sub._ch._base)]  # fmt: skip
        if self._kind == _VALUE_STRING:
            return self._strings(out, present, sub._master, sub._ch._base)
        if self._kind == _VALUE_BOOL:
            return [v != 0 if p else None for v, p in zip(out, present)]
        return [v if p else None for v, p in zip(out, present)]

    def _strings(self, out: Any, present: Any, mv: memoryview, base: int) -> List[Optional[str]]:
        """The strings xb_path_read wrote into out (xb_str spans into the
        mapping mv starts at base), decoded straight from mv: the spans read
        as one list of words, no ctypes object or bytes copy per string."""
        res: List[Optional[str]] = []
        cap = mv.nbytes
        try:
            for p, o, k in _spans(out, present, base):
                # elsewhere than the mapping: a schema default the path holds
                res.append((str(mv[o : o + k] if 0 <= o and o + k <= cap else ctypes.string_at(o + base, k), "utf-8")
                            if k else "") if p else None)
        except UnicodeDecodeError as e:
            raise errors.MalformedError(f"{self.text}: invalid UTF-8: {e}") from None
        return res

    def _read_received(self, fs: List[Any]) -> List[Any]:
        """read_many of frames a subscriber holds (xb_path_read_received)."""
        n = len(fs)
        sub = fs[0]._sub
        refs = bytearray(FRAME_FMT.size * n)
        for i, f in enumerate(fs):
            if not isinstance(f, ChannelFrame) or f._sub is not sub:
                raise errors.InvalidArgumentError("read_many takes Frames, all of one region or of one subscriber")
            FRAME_FMT.pack_into(refs, FRAME_FMT.size * i, *f._ref())
        refc = (ctypes.c_char * len(refs)).from_buffer(refs)
        out = (_VALUE_CTYPES[self._kind] * n)()
        present = (ctypes.c_uint8 * n)()
        b = sub._ch._enter()  # strings point into the ring: keep it mapped while copying
        try:
            st = lib.xb_path_read_received(self._h, sub._handle(), ctypes.addressof(refc), n, ctypes.addressof(out),
                                           ctypes.addressof(present))  # fmt: skip
            if st:
                raise_status(st)
            return self._values_received(sub, out, present)
        finally:
            b.busy = False
            del refc


_VIEW_PATH, _VIEW_NESTED, _VIEW_RECORD = 0, 1, 2


def _view_how(classes: Classes, type_name: str, name: str) -> Optional[Tuple[int, Any]]:
    """How RecordView reads field name of type_name: by compiled path (with
    the enum class to wrap it in, or None), as a nested view (of the type),
    or from the whole decoded record (with what a None there reads as, or
    None); None if there is no such field."""
    desc = classes.types.get(type_name)
    field = next((f for f in desc.get("fields", []) if f["name"] == name), None) if desc is not None else None
    if field is None:
        return None
    t = field["type"]
    kind = t["kind"]
    if kind in ("table", "struct", "group"):
        return _VIEW_NESTED, str(t["type"])
    if kind in ("vector", "array"):
        # Bytes and vectors of numbers read in place (memoryview, numpy);
        # bools too (Cap'n Proto packs them in bits), and the rest, decode.
        if t["elem"]["kind"] in _ARRAY_KINDS:
            return _VIEW_PATH, None
        # The record leaves a null Cap'n Proto list out; capnp reads it empty.
        return _VIEW_RECORD, (list if classes.format != "flatbuffers" else None)
    if kind in ("union", "void", "anypointer", "interface"):  # no value a path reads: the record's
        return _VIEW_RECORD, None
    return _VIEW_PATH, classes.enums.get(str(t.get("type")))


_ARRAY_KINDS = frozenset(("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64",
                          "enum"))


def _view_getter(schema: Schema, tid: int, prefix: str, name: str, what: int, arg: Any) -> Callable[[Any], Any]:
    """The property getter of field name in a RecordView class (see _view_how
    for what and arg)."""
    path = prefix + name
    if what == _VIEW_PATH:
        read: Optional[Callable[[Any], Any]] = None

        def get_path(self: RecordView) -> Any:
            nonlocal read
            if read is None:  # compiled on first use
                read = schema._path(tid, path).read
            v = read(self._frame)
            return v if arg is None or v is None else arg(v)

        return get_path
    if what == _VIEW_NESTED:
        probe: List[Optional[Callable[[Any], Any]]] = []  # found on first use

        def get_nested(self: RecordView) -> Any:
            # A FlatBuffers table or struct the message leaves out is None,
            # as in the record; told by a scalar inside it, which reads
            # (its default) exactly when the table is there. A Cap'n Proto
            # struct is never absent: a null pointer reads as its default.
            if not probe:
                probe.append(_presence_probe(schema, tid, path, str(arg)))
            p = probe[0]
            if p is not None and p(self._frame) is None:
                return None
            return schema._view_class(tid, arg, path + ".")(self._frame)

        return get_nested

    def get_from_record(self: RecordView) -> Any:
        v = self._record_value(path)
        return arg() if v is None and arg is not None else v

    return get_from_record


_PROBE_KINDS = frozenset(("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
                          "float64", "enum"))


def _at_path(record: Any, path: str) -> Any:
    """The value at a dotted path of field names (as the schema names them;
    attributes may be renamed: from -> from_) in a record; None below a
    field that is None."""
    for name in path.split("."):
        if record is None:
            return None
        i = record.__struct_encode_fields__.index(name)
        record = getattr(record, record.__struct_fields__[i])
    return record


def _presence_probe(schema: Schema, tid: int, path: str, type_name: str) -> Optional[Callable[[Any], Any]]:
    """A reader that gives None exactly when the FlatBuffers table or struct
    at path is absent from a message: a compiled path to a scalar field in
    it that is not optional (which reads its default when not stored), or
    else a decode of the record. None for Cap'n Proto."""
    classes = schema._classes()
    if classes.format != "flatbuffers":
        return None
    for f in (classes.types.get(type_name) or {}).get("fields", []):
        if f["type"]["kind"] in _PROBE_KINDS and not f.get("optional"):
            return schema._path(tid, f"{path}.{f['name']}").read
    to_record = schema.to_record

    def from_record(frame: Any) -> Any:
        return _at_path(to_record(frame), path)

    return from_record


class RecordView:
    """A lazy view of one frame of a loaded schema (Schema.view,
    Region.view). An attribute read compiles its path once per schema and
    reads only that field; a nested table or struct reads as a view (None
    where a FlatBuffers message leaves it out, as in the record; a Cap'n
    Proto struct is never None); a
    vector of numbers reads in place as a numpy array, byte vectors as
    memoryviews (see FieldPath), which pin the mapping; any other vector,
    and a union, decodes that whole record once and reads it from there.
    Other values are copies. Cap'n Proto null pointers read as capnp's
    getters read them (see FieldPath): "", empty, a view of defaults, [] for
    a list the record leaves out. (A record, to_record, keeps a null field
    None, apart from an empty one, so that it encodes back to the same
    message.)

    Each type has its own subclass (Schema._view_class) with one property
    per field; these class attributes say what it views."""

    __slots__ = ("_frame", "_record")
    _frame: Union[Frame, ChannelFrame]
    _record: Any
    _schema: Schema
    _tid: int
    _type: str
    _prefix: str

    def __init__(self, frame: Union[Frame, ChannelFrame]) -> None:
        self._frame = frame  # _record is set by the first read that needs the whole record

    def __repr__(self) -> str:
        return f"RecordView({self._type}{' ' + self._prefix.rstrip('.') if self._prefix else ''})"

    def __getattr__(self, name: str) -> Any:
        # Only names that are not fields get here (fields are properties).
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(f"{self._type} has no field {name!r}")

    def _record_value(self, path: str) -> Any:
        try:
            r = self._record
        except AttributeError:
            r = self._record = self._schema.to_record(self._frame)
        return _at_path(r, path)
