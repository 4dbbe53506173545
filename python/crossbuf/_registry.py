"""The schemas loaded in this process, so a frame's type id or a record's
class leads back to the schema that decodes or encodes it (Region.decode,
Region.view, Region.encode). Schemas are held weakly: a schema nobody holds
any longer decodes nothing."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Dict, List

from . import errors

if TYPE_CHECKING:
    from .schema import Schema

_lock = threading.Lock()
_schemas: List[weakref.ref[Schema]] = []
_by_class: weakref.WeakKeyDictionary[type, weakref.ref[Schema]] = weakref.WeakKeyDictionary()
_by_id: Dict[int, weakref.ref[Schema]] = {}


def add(schema: Schema) -> None:
    with _lock:
        _schemas[:] = [r for r in _schemas if r() is not None]
        _schemas.append(weakref.ref(schema))


def add_class(cls: type, schema: Schema) -> None:
    _by_class[cls] = weakref.ref(schema)


def schema_for(type_id: int) -> Schema:
    """The open schema that holds type_id. When two loaded schemas claim the
    same id, the first loaded that is still open wins: type ids are stable
    per type, so both describe the same type."""
    ref = _by_id.get(type_id)
    s = ref() if ref is not None else None
    if s is not None and not s.closed:
        return s
    with _lock:
        live = [r() for r in _schemas]
    for s in live:
        if s is not None and not s.closed and s.has_type(type_id):
            _by_id[type_id] = weakref.ref(s)
            return s
    raise errors.UnknownTypeError(
        f"no schema loaded in this process holds type id {type_id:#018x}: load it with Schema.load "
        "(or Schema.from_region) first")


def schema_of_class(cls: type) -> Schema:
    """The schema whose record class cls is."""
    ref = _by_class.get(cls)
    s = ref() if ref is not None else None
    if s is None or s.closed:
        raise errors.RecordTypeError(f"{cls.__qualname__} is not a record class of an open crossbuf Schema")
    return s
