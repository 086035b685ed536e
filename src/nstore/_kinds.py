"""What a JSON schema does not say about the Python types msgspec decodes, and what they read.

msgspec's JSON schema is the same for ``str``, ``datetime`` and ``time`` (``{"type": "string"}``,
with a ``format`` only for aware ones), and for ``dict[str, int]`` and ``dict[int, int]``. The
schema a ``Msgspec`` codec records therefore names, at each such place, what msgspec decodes:
``x-nstore-type`` on a string (``str``, ``datetime``, ``datetime-aware``, ``datetime-naive``,
``time``, ``time-aware``, ``time-naive``) and ``x-nstore-keys`` (the keys' schema) on a mapping.
A ``Pydantic`` codec records ``x-nstore-keys`` too (its
schema leaves ``int`` keys out), and reads JSON only, so its ``str`` keys take any key. A schema
recorded without them (by an earlier nstore) is judged on what it says.

:func:`kind_problems` says which of these a reader cannot read from a writer, for msgpack and
JSON alike (a recorded schema does not say which format wrote it): msgpack writes ``bytes`` as
binary and an aware ``datetime`` as a timestamp, which a ``str`` does not read, so these are
refused in JSON namespaces too.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["KEYS", "KIND", "annotated", "any_key", "kind_problems", "pydantic_generator"]

KIND = "x-nstore-type"
KEYS = "x-nstore-keys"

_TZ = {True: "-aware", False: "-naive", None: ""}
_JSON_TYPES = {"StrType": "string", "IntType": "integer", "FloatType": "number", "BoolType": "boolean"}


def annotated(tp: Any) -> dict[str, Any]:
    """msgspec's JSON schema of ``tp`` with the types it leaves out named (see the module)."""
    import msgspec

    schema: dict[str, Any] = msgspec.json.schema(tp)
    _walk(msgspec.inspect.type_info(tp), schema, schema, set())
    return schema


@functools.cache
def pydantic_generator() -> type[Any]:
    """A pydantic schema generator that records a mapping's key schema (pydantic leaves ``int`` out)."""
    from pydantic.json_schema import GenerateJsonSchema

    class KeyedSchema(GenerateJsonSchema):
        def dict_schema(self, schema: Any) -> Any:
            generated = super().dict_schema(schema)
            keys = self.generate_inner(schema["keys_schema"]) if "keys_schema" in schema else {}
            generated[KEYS] = {k: v for k, v in keys.items() if k != "title"}
            return generated

    return KeyedSchema


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    while (
        isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/")
    ):
        node = root.get("$defs", {}).get(node["$ref"][len("#/$defs/") :])
    return node


def _walk(t: Any, node: Any, root: dict[str, Any], seen: set[int]) -> None:
    import msgspec.inspect as mi

    while isinstance(t, mi.Metadata):
        t = t.type
    node = _resolve(node, root)
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(t, mi.StrType | mi.DateTimeType | mi.TimeType):
        node[KIND] = _kind(t)
    elif isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        _walk(t.item_type, node.get("items"), root, seen)
    elif isinstance(t, mi.TupleType):
        for item, sub in zip(t.item_types, node.get("prefixItems", ()), strict=False):
            _walk(item, sub, root, seen)
    elif isinstance(t, mi.DictType):
        node[KEYS] = _key_schema(t.key_type)
        _walk(t.value_type, node.get("additionalProperties"), root, seen)
    elif isinstance(t, mi.StructType | mi.DataclassType | mi.TypedDictType | mi.NamedTupleType):
        _fields(t, node, root, seen)
    elif isinstance(t, mi.UnionType):
        _union(t, node, root, seen)


def _kind(t: Any) -> str:
    import msgspec.inspect as mi

    if isinstance(t, mi.StrType):
        return "str"
    return ("datetime" if isinstance(t, mi.DateTimeType) else "time") + _TZ[t.tz]


def _fields(t: Any, node: dict[str, Any], root: dict[str, Any], seen: set[int]) -> None:
    prefix = node.get("prefixItems")
    if isinstance(prefix, list):  # array_like structs and named tuples: the tag (if any) first
        subs = prefix[len(prefix) - len(t.fields) :]
        for field, sub in zip(t.fields, subs, strict=False):
            _walk(field.type, sub, root, seen)
        return
    props = node.get("properties", {})
    for field in t.fields:
        _walk(field.type, props.get(getattr(field, "encode_name", field.name)), root, seen)


def _union(t: Any, node: dict[str, Any], root: dict[str, Any], seen: set[int]) -> None:
    """Annotate each member's branch: msgspec allows one member of each JSON type (structs apart)."""
    branches: list[Any] = []
    for branch in node.get("anyOf", ()):
        nested = branch.get("anyOf") if isinstance(branch, dict) else None
        branches += nested if isinstance(nested, list) else [branch]
    for member in t.types:
        for branch in branches:
            if _matches(member, _resolve(branch, root)):
                _walk(member, branch, root, seen)
                break


def _matches(t: Any, branch: Any) -> bool:
    import msgspec.inspect as mi

    while isinstance(t, mi.Metadata):
        t = t.type
    if not isinstance(branch, dict):
        return False
    if isinstance(t, mi.StructType | mi.DataclassType | mi.TypedDictType | mi.NamedTupleType):
        return branch.get("title") == t.cls.__name__
    if isinstance(t, mi.DateTimeType | mi.TimeType):
        return branch.get("type") == "string"
    if isinstance(t, mi.DictType):
        return branch.get("type") == "object"
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType | mi.TupleType):
        return branch.get("type") == "array"
    return branch.get("type") == _JSON_TYPES.get(type(t).__name__, "?")


def _key_schema(t: Any) -> dict[str, Any]:
    """The schema of a mapping's keys, as a value of the key type (msgpack writes them so)."""
    import msgspec.inspect as mi

    while isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, mi.StrType | mi.DateTimeType | mi.TimeType):
        return {"type": "string", KIND: _kind(t)}
    if isinstance(t, mi.EnumType):
        return {"enum": sorted((m.value for m in t.cls), key=repr)}
    if isinstance(t, mi.LiteralType):
        return {"enum": sorted(t.values, key=repr)}
    formats = {"UUIDType": "uuid", "DateType": "date", "DecimalType": "decimal", "TimeDeltaType": "duration"}
    name = type(t).__name__
    if name in formats:
        return {"type": "string", "format": formats[name]}
    if name in ("BytesType", "ByteArrayType", "MemoryViewType"):
        return {"type": "string", "contentEncoding": "base64"}
    if name in _JSON_TYPES:
        return {"type": _JSON_TYPES[name]}
    return {KIND: name}  # another key type: read only by the same one


def any_key(r: Any) -> bool:
    """True if a reader's key schema takes every key: pydantic's ``str`` (JSON keys are strings)."""
    return bool(r == {"type": "string"})


def _datetime_like(kind: object) -> str | None:
    for base in ("datetime", "time"):
        if isinstance(kind, str) and kind.startswith(base) and kind[len(base) :] in _TZ.values():
            return base
    return None


def _writer_kind(w: dict[str, Any]) -> str | None:
    """What wrote the values: the recorded kind, or what an unannotated schema's format says."""
    if KIND in w:
        return str(w[KIND])
    if "contentEncoding" in w or w.get("format") == "binary":
        return "bytes"
    fmt = w.get("format")
    return {"date-time": "datetime", "time": "time"}.get(fmt) if isinstance(fmt, str) else None


def kind_problems(r: dict[str, Any], w: dict[str, Any]) -> tuple[str, str, str] | None:
    """``(writer, reader, why)`` described when ``r`` cannot read what ``w`` wrote; None if it can."""
    r_kind, w_kind = r.get(KIND), _writer_kind(w)
    if r_kind is None or w.get("type") != "string":
        return None  # not an annotated string, or not one on both sides: the schemas decide
    writer, reader = w_kind or _plain(w), str(r_kind)
    base = _datetime_like(r_kind)
    if base is not None:
        if KIND not in w:  # recorded without annotations: a plain string, or the format, may be one
            readable = w_kind in (None, base) and _plain(w) in ("string", _FORMATS[base])
            return None if readable else (writer, reader, "")
        if _datetime_like(w_kind) != base or (r_kind != base and w_kind != r_kind):
            return writer, reader, ""  # another type, or aware values for a naive reader (or the reverse)
        return None
    if r_kind == "str" and w_kind == "bytes":
        return writer, reader, " (msgpack writes bytes as binary)"
    if r_kind == "str" and _datetime_like(w_kind) == "datetime" and not str(w_kind).endswith("-naive"):
        return writer, reader, " (msgpack writes an aware datetime as a timestamp)"
    return None


_FORMATS = {"datetime": "string of format date-time", "time": "string of format time"}


def _plain(w: dict[str, Any]) -> str:
    """A schema without annotations, described."""
    fmt = w.get("format")
    if isinstance(fmt, str):
        return f"string of format {fmt}"
    if "contentEncoding" in w:
        return "bytes"
    kind = w.get("type")
    return kind if isinstance(kind, str) else "any value"
