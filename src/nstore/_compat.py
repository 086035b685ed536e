"""Schema compatibility: can values written under one JSON schema be read under another?

Pure functions, no I/O: the sync namespaces call them and an async layer can share them.

A namespace declares a *compatibility mode*, as schema registries define them:

``backward``
    new code reads old values: the new schema reads values written under every recorded one.
``forward``
    old code reads new values: every recorded schema reads values written under the new one.
``full``
    both, so two versions of an application can share a namespace during a rolling deploy, and
    either can be rolled back.
``none``
    no check (the application answers for it).

The check is transitive: a namespace records every schema its values may have been written with
since its last migration, and a new schema is judged against each of them.

"Reads" follows the decoders nstore uses (msgspec and pydantic alike): a field the reader does
not know is ignored unless the reader forbids unknown fields (``additionalProperties: false``); a
field missing from a value is filled from the reader's default, and is an error if the reader
requires it; an integer is read as a number. Annotations (titles, descriptions, defaults,
examples) do not count. What msgspec's schemas leave out (a ``datetime`` or a ``str``, a mapping's
key type) is recorded by the codec and compared by :mod:`nstore._kinds`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, get_args

from nstore._kinds import KEYS, KIND, any_key, kind_problems

__all__ = ["MODES", "Mode", "check_mode", "compatibility_problems", "read_problems"]

Mode = Literal["backward", "forward", "full", "none"]
MODES: tuple[Mode, ...] = get_args(Mode)

Schema = dict[str, Any]

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment", "deprecated"})
_STRUCTURE = frozenset(
    {"$ref", "$defs", "definitions", "type", "anyOf", "oneOf", "enum", "const", "properties"}
    | {"required", "additionalProperties", "items", "prefixItems", "discriminator"}
)
_UNREAD = ", which cannot read the values"  # in each problem found by nstore._kinds
# Constraints a reader may relax: a lower bound may fall, an upper bound may rise.
_LOWER = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
_UPPER = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})


def check_mode(mode: object) -> Mode:
    """``mode`` if it is a compatibility mode; ValueError naming the modes otherwise."""
    for known in MODES:
        if mode == known:
            return known
    raise ValueError(f"Expected a compatibility mode ({', '.join(MODES)}). Got {mode!r}.")


def compatibility_problems(mode: Mode, recorded: Sequence[Schema | None], new: Schema | None) -> list[str]:
    """Why ``new`` may not join a namespace whose values were written under ``recorded``.

    Empty when ``mode`` allows it. Each problem is one line naming the direction and the path
    (``$.email``) at fault.
    """
    problems: list[str] = []
    for old in recorded:
        if mode in ("backward", "full"):
            problems += [f"new code cannot read values written before: {p}" for p in read_problems(new, old)]
        if mode in ("forward", "full"):
            problems += [
                f"code recorded before cannot read new values: {p}"
                for p in read_problems(old, new, old_is_reader=True)
            ]
    return list(dict.fromkeys(problems))


def read_problems(reader: Schema | None, writer: Schema | None, *, old_is_reader: bool = False) -> list[str]:
    """Why a value written under ``writer`` may not decode under ``reader`` (empty: it does).

    A changed type is shown as ``changed from <old> to <new>``, the writer being the old schema
    unless ``old_is_reader``.
    """
    if reader is None or writer is None:
        if reader is None and writer is None:
            return []
        return ["$: a typed schema on one side, an untyped codec on the other"]
    return _Compare(reader, writer, old_is_reader).reads(reader, writer, "$")


class _Compare:
    """One comparison of two schemas, with their roots (for ``$ref``) and the references seen."""

    def __init__(self, reader_root: Schema, writer_root: Schema, old_is_reader: bool) -> None:
        self.roots = (reader_root, writer_root)
        self.old_is_reader = old_is_reader
        self.seen: set[tuple[str, str]] = set()

    def changed(self, path: str, r: Any, w: Any) -> str:
        old, new = (r, w) if self.old_is_reader else (w, r)
        return f"{path}: changed from {_show(old)} to {_show(new)}"

    def reads(self, r: Any, w: Any, path: str) -> list[str]:
        refs = (_ref(r), _ref(w))
        if refs[0] is not None and refs[1] is not None:
            if refs in self.seen:  # a recursive type compared again: assume it reads (co-induction)
                return []
            self.seen.add((refs[0], refs[1]))
        r, w = _resolve(r, self.roots[0]), _resolve(w, self.roots[1])
        if r is True or (isinstance(r, dict) and not (set(r) - _ANNOTATIONS)):
            return []  # the reader takes anything
        if not isinstance(r, dict) or not isinstance(w, dict):
            return [] if r == w else [self.changed(path, r, w)]
        writer_branches = _branches(w)
        if writer_branches is not None:
            problems = [p for branch in writer_branches for p in self.reads(r, branch, path)]
            if problems and all(p.startswith(f"{path}: ") and _UNREAD not in p for p in problems):
                return [self.changed(path, r, w)]  # a union member not read: show the whole change
            return problems
        reader_branches = _branches(r)
        if reader_branches is not None:
            unread: list[str] = []
            for branch in reader_branches:
                problems = self.reads(branch, w, path)
                if not problems:
                    return []
                unread += [p for p in problems if _UNREAD in p]
            return unread[:1] or [self.changed(path, r, w)]
        kinds = kind_problems(r, w)
        if kinds is not None:
            old, new = (kinds[1], kinds[0]) if self.old_is_reader else kinds[:2]
            return [f"{path}: changed from {old} to {new}{_UNREAD}{kinds[2]}"]
        if _type_unread(r, w):
            return [self.changed(path, r, w)]
        problems = _enum_problems(r, w, path)
        if problems:
            return problems
        if isinstance(r.get(KEYS), dict) and isinstance(w.get(KEYS), dict) and not any_key(r[KEYS]):
            problems = self.reads(r[KEYS], w[KEYS], f"{path}.<keys>")
        problems += self._object(r, w, path) + self._array(r, w, path) + _constraints(r, w, path)
        return problems

    def _object(self, r: Schema, w: Schema, path: str) -> list[str]:
        if not ("properties" in r or "properties" in w or "additionalProperties" in r):
            return []
        problems: list[str] = []
        r_props, w_props = r.get("properties", {}), w.get("properties", {})
        r_required, w_required = set(r.get("required", ())), set(w.get("required", ()))
        w_rest = w.get("additionalProperties", True)
        for name, sub in r_props.items():
            where = f"{path}.{name}"
            if name in w_props:
                problems += self.reads(sub, w_props[name], where)
                if name in r_required and name not in w_required:
                    problems.append(
                        f"{where}: required before, optional now (new values may lack it)"
                        if self.old_is_reader
                        else f"{where}: optional before, required now"
                    )
            elif name in r_required:
                problems.append(
                    f"{where}: removed (code recorded before requires it; give it a default there)"
                    if self.old_is_reader
                    else f"{where}: new and required (values written before lack it); give it a default"
                )
            elif isinstance(w_rest, dict):
                problems += self.reads(sub, w_rest, where)
        r_rest = r.get("additionalProperties", True)
        unknown = sorted(set(w_props) - set(r_props))
        if r_rest is False and (unknown or w_rest is not False):
            shown = ", ".join(unknown) if unknown else "any other field"
            problems.append(f"{path}: unknown fields are refused by the reader, and the values hold {shown}")
        elif isinstance(r_rest, dict):
            problems += [p for name in unknown for p in self.reads(r_rest, w_props[name], f"{path}.{name}")]
            if w_rest is not False:
                problems += self.reads(r_rest, w_rest if isinstance(w_rest, dict) else {}, f"{path}.*")
        return problems

    def _array(self, r: Schema, w: Schema, path: str) -> list[str]:
        problems: list[str] = []
        r_prefix, w_prefix = r.get("prefixItems"), w.get("prefixItems")
        if isinstance(r_prefix, list) and isinstance(w_prefix, list):
            if len(r_prefix) != len(w_prefix):
                problems.append(f"{path}: {len(w_prefix)} items in the values, {len(r_prefix)} read")
            for i, (rs, ws) in enumerate(zip(r_prefix, w_prefix, strict=False)):
                problems += self.reads(rs, ws, f"{path}[{i}]")
        elif _normal(r_prefix, self.roots[0]) != _normal(w_prefix, self.roots[1]):
            problems.append(f"{path}: tuple items changed from {_show(w_prefix)} to {_show(r_prefix)}")
        if "items" in r:
            problems += self.reads(r["items"], w.get("items", {}), f"{path}[]")
        return problems


def _ref(schema: Any) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref if isinstance(ref, str) else None


def _resolve(schema: Any, root: Schema) -> Any:
    """``schema`` with its ``$ref`` (``#/...``, chains of them) replaced by what it points to."""
    for _ in range(32):
        ref = _ref(schema)
        if ref is None or not ref.startswith("#/"):
            return schema
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return schema
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _normal(schema: Any, root: Schema, depth: int = 0) -> Any:
    """The schema with references expanded and annotations dropped, for comparing shapes."""
    if depth > 16:
        return _ref(schema) or "..."
    schema = _resolve(schema, root)
    if isinstance(schema, dict):
        skip = _ANNOTATIONS | {"$defs", "definitions"}
        return {k: _normal(v, root, depth + 1) for k, v in schema.items() if k not in skip}
    if isinstance(schema, list):
        return [_normal(v, root, depth + 1) for v in schema]
    return schema


def _branches(schema: Schema) -> list[Any] | None:
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            rest = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
            return [{**rest, **b} if isinstance(b, dict) else b for b in branches]
    return None


def _types(schema: Schema) -> set[str] | None:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    return None


def _type_unread(r: Schema, w: Schema) -> bool:
    """True if the writer's JSON types include one the reader's do not take."""
    r_types, w_types = _types(r), _types(w)
    if r_types is None:
        return False
    if w_types is None:
        values = _enum(w)
        if values is None:
            return True  # the writer took any value
        w_types = {_json_type(v) for v in values}
    return any(t not in r_types and not (t == "integer" and "number" in r_types) for t in w_types)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object"}
    return names.get(type(value), "object")


def _enum(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return values if isinstance(values, list) else None


def _enum_problems(r: Schema, w: Schema, path: str) -> list[str]:
    r_values = _enum(r)
    if r_values is None:
        return []
    w_values = _enum(w)
    if w_values is None:
        return [f"{path}: any {_show(w)} before, only {_show(r_values)} read"]
    unread = [v for v in w_values if v not in r_values]
    return [f"{path}: values {_show(unread)} are not read (reader takes {_show(r_values)})"] if unread else []


def _constraints(r: Schema, w: Schema, path: str) -> list[str]:
    problems = []
    for key in sorted(set(r) - _ANNOTATIONS - _STRUCTURE - {KIND, KEYS}):
        bound, had = r[key], w.get(key)
        if key in _LOWER:
            fits = _number(had) and _number(bound) and had >= bound
        elif key in _UPPER:
            fits = _number(had) and _number(bound) and had <= bound
        else:
            fits = had == bound
        if not fits:
            problems.append(f"{path}: {key} {_show(bound)} is not met by the values ({key} {_show(had)})")
    return problems


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: object) -> str:
    return json.dumps(_strip(value), sort_keys=True)


def _strip(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _ANNOTATIONS | {KIND, KEYS}}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
