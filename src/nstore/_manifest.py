"""Namespace manifests: what a namespace's values were written with, and whether a chain still fits.

A manifest is a small JSON document kept in the backing store under a reserved key. It records the
namespace's codec chain (its spec), the value type's import path, the JSON schema of the values
and its fingerprint, the *generation* whose key prefix holds the values, and the state of a
migration in progress. :func:`schema_problems` judges whether a new schema can read values written
under the recorded one.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from nstore.codecs import Codec, schema_fingerprint
from nstore.errors import CorruptStore, InvalidKey

__all__ = ["MANIFESTS", "Manifest", "Target", "check_name", "diff", "schema_problems"]

#: Key prefix of the manifests. Namespace names start with a letter or digit, so no namespace's
#: prefix (``name/``) can produce a key here.
MANIFESTS = "_nstore/namespaces/"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_FORMAT = 1
# Schema keywords that document values without constraining them.
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment"})


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidKey(
            f"Expected a namespace name of 1 to 64 letters, digits, '_' or '-', starting with a "
            f"letter or digit. Got {name!r}."
        )
    return name


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _plain_spec(spec: Any) -> list[dict[str, Any]]:
    """A chain's spec as a JSON list, without the schema fingerprints typed codecs add to it."""
    stages = spec if isinstance(spec, list) else [spec]
    return [{k: v for k, v in json.loads(json.dumps(s)).items() if k != "fingerprint"} for s in stages]


@dataclass(frozen=True)
class Target:
    """What a codec chain would record: its spec, value type, schema and fingerprint."""

    chain: list[dict[str, Any]]
    value_type: str | None
    schema: dict[str, Any] | None
    fingerprint: str | None

    @classmethod
    def of(cls, codec: Codec[Any, bytes]) -> Target:
        chain = _plain_spec(codec.spec)
        schema = codec.schema()
        value_type = chain[0].get("type") if chain else None
        return cls(
            chain=chain,
            value_type=value_type if isinstance(value_type, str) else None,
            schema=None if schema is None else json.loads(json.dumps(schema)),
            fingerprint=None if schema is None else schema_fingerprint(schema),
        )

    def shown(self) -> dict[str, Any]:
        return {"chain": self.chain, "value_type": self.value_type, "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class Manifest:
    """A namespace's manifest, as recorded in the backing store.

    ``generation`` numbers the key prefix that holds the values (``name/<generation>/``);
    ``migration`` is None, or the :class:`Target` fields plus the target ``generation`` of a
    migration in progress; ``retired`` lists generations whose keys are being removed.
    """

    name: str
    chain: list[dict[str, Any]]
    value_type: str | None
    schema: dict[str, Any] | None
    fingerprint: str | None
    generation: int = 0
    migration: dict[str, Any] | None = None
    retired: tuple[int, ...] = ()
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)

    @classmethod
    def new(cls, name: str, target: Target) -> Manifest:
        return cls(name, target.chain, target.value_type, target.schema, target.fingerprint)

    @property
    def key(self) -> str:
        return MANIFESTS + self.name

    @property
    def prefix(self) -> str:
        """The backing store's key prefix of the current values."""
        return prefix_of(self.name, self.generation)

    @property
    def target(self) -> Target:
        return Target(self.chain, self.value_type, self.schema, self.fingerprint)

    def with_target(self, target: Target, **changes: Any) -> Manifest:
        return replace(
            self,
            chain=target.chain,
            value_type=target.value_type,
            schema=target.schema,
            fingerprint=target.fingerprint,
            updated=_now(),
            **changes,
        )

    def changed(self, **changes: Any) -> Manifest:
        return replace(self, updated=_now(), **changes)

    def to_json(self) -> bytes:
        data = {"format": _FORMAT, **asdict(self), "retired": list(self.retired)}
        return json.dumps(data, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, name: str, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.pop("format") != _FORMAT:
                raise ValueError("unknown manifest format")
            data["retired"] = tuple(data.get("retired", ()))
            manifest = cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CorruptStore(
                f"The manifest of namespace {name!r} is not a readable nstore manifest ({exc}). "
                f"Inspect or remove the key {MANIFESTS + name!r}."
            ) from None
        return manifest


def prefix_of(name: str, generation: int) -> str:
    return f"{name}/{generation}/"


def diff(recorded: dict[str, Any], requested: dict[str, Any]) -> str:
    """A unified diff of two JSON documents, recorded first."""
    a = json.dumps(recorded, indent=2, sort_keys=True).splitlines()
    b = json.dumps(requested, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "recorded", "requested", lineterm="", n=2))


# -- schema compatibility ---------------------------------------------------------------------


def schema_problems(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Why values written under schema ``old`` may not be readable under ``new`` (empty: they are).

    Compatible: unchanged fields, new fields that are not required (optional, or with a default),
    a required field becoming optional, changed titles, descriptions and defaults. Anything else
    (a removed field, a changed type, a new required field) is a problem.
    """
    if old is None or new is None:
        return [] if old == new else ["$: a typed schema is replaced by an untyped codec, or the reverse"]
    return _compare(old, new, old, new, "$", 0)


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    for _ in range(32):
        if not isinstance(schema, dict) or "$ref" not in schema:
            return schema
        ref = schema["$ref"]
        parts = ref.split("/") if isinstance(ref, str) and ref.startswith("#/") else None
        target: Any = root
        for part in parts[1:] if parts else ():
            target = target.get(part) if isinstance(target, dict) else None
        if parts is None or target is None:
            return schema
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _normal(schema: Any, root: dict[str, Any], depth: int) -> Any:
    """The schema with references expanded and annotations dropped, for comparing shapes."""
    if depth > 16:
        return schema.get("$ref", "...") if isinstance(schema, dict) else schema
    schema = _resolve(schema, root)
    if isinstance(schema, dict):
        return {
            k: _normal(v, root, depth + 1)
            for k, v in schema.items()
            if k not in _ANNOTATIONS and k not in ("$defs", "definitions")
        }
    if isinstance(schema, list):
        return [_normal(v, root, depth + 1) for v in schema]
    return schema


def _compare(
    old: Any, new: Any, old_root: dict[str, Any], new_root: dict[str, Any], path: str, depth: int
) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    is_object = all(isinstance(s, dict) and "properties" in s for s in (old, new))
    if not is_object or depth > 16:
        before, after = _normal(old, old_root, depth), _normal(new, new_root, depth)
        if before == after:
            return []
        was, now = json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True)
        return [f"{path}: changed from {was} to {now}"]
    problems: list[str] = []
    old_props, new_props = old["properties"], new["properties"]
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name, sub in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: removed (values written before hold it)")
        else:
            problems += _compare(sub, new_props[name], old_root, new_root, f"{path}.{name}", depth + 1)
    for name in new_props:
        if name not in old_props and name in new_required:
            problems.append(
                f"{path}.{name}: new and required (values written before lack it); give it a default"
            )
    for name in sorted((new_required - old_required) & set(old_props)):
        problems.append(f"{path}.{name}: optional before, required now")
    skip = {"properties", "required"}
    rest_old = {k: v for k, v in old.items() if k not in skip}
    rest_new = {k: v for k, v in new.items() if k not in skip}
    if _normal(rest_old, old_root, depth) != _normal(rest_new, new_root, depth):
        problems.append(f"{path}: object constraints changed")
    return problems
