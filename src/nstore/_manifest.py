"""Namespace manifests: a validated record of what a namespace's values were written with.

A manifest is a JSON document kept in the backing store under a reserved key. It records the
namespace's codec chain (its spec), the value type's import path, the JSON schemas its values may
have been written with, the compatibility mode that admits a new schema, the *generation* whose
key prefix holds the values, the record of every generation, and the state of a migration.

Reading one is a pure function (:func:`decode_manifest`): the JSON is validated against the
:class:`Manifest` record, then its records are checked against each other. A malformed or
inconsistent manifest raises :class:`~nstore.errors.CorruptManifest` naming the field, so that
no destructive step (deleting a retired generation) runs on a manifest whose own record of that
generation does not agree. Format 1 manifests (before generations had records) are read too.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import msgspec

from nstore._compat import Mode
from nstore._target import Target
from nstore.codecs import schema_fingerprint
from nstore.errors import CorruptManifest, InvalidKey

__all__ = [
    "MANIFESTS",
    "Generation",
    "Manifest",
    "Migration",
    "Recorded",
    "SchemaRecord",
    "check_name",
    "decode_manifest",
    "prefix_of",
]

#: Key prefix of the manifests. Namespace names start with a letter or digit, so no namespace's
#: prefix (``name/``) can produce a key here.
MANIFESTS = "_nstore/namespaces/"
FORMAT = 2
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"(?:missing required|contains unknown) field `([^`]*)`")


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidKey(
            f"Expected a namespace name of 1 to 64 letters, digits, '_' or '-', starting with a "
            f"letter or digit. Got {name!r}."
        )
    return name


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def prefix_of(name: str, generation: int) -> str:
    return f"{name}/{generation}/"


class SchemaRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A schema that values of the namespace may still have been written with."""

    fingerprint: str
    schema: dict[str, Any]


class Generation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A generation of the namespace: created, and retired once a migration replaced it."""

    generation: int
    created: str
    retired: str | None = None


class Recorded(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a chain records (see :class:`~nstore._target.Target`): the fields manifests share."""

    chain: list[dict[str, Any]]
    value_type: str | None
    schema: dict[str, Any] | None
    fingerprint: str | None


class Migration(Recorded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A migration in progress: its target chain and the generation it writes."""

    generation: int
    started: str
    local_types: tuple[str, ...] = ()
    transform: str | None = None

    @property
    def target(self) -> Target:
        return Target(self.chain, self.value_type, self.schema, self.fingerprint, self.local_types)


class Manifest(Recorded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A namespace's manifest, as recorded in the backing store.

    ``schema`` and ``fingerprint`` are those of the newest schema; ``earlier_schemas`` the ones
    values may still have been written with since the last migration. ``local_types`` lists the
    recorded types that no other process can import (defined in ``__main__`` or in a function).
    ``generation`` numbers the key prefix that holds the values (``name/<generation>/``) and
    ``generations`` records each one; ``retired`` lists generations whose keys are being removed.
    """

    format: int = FORMAT
    name: str
    compatibility: Mode = "backward"
    earlier_schemas: tuple[SchemaRecord, ...] = ()
    local_types: tuple[str, ...] = ()
    generation: int = 0
    generations: tuple[Generation, ...] = ()
    migration: Migration | None = None
    retired: tuple[int, ...] = ()
    created: str = msgspec.field(default_factory=now)
    updated: str = msgspec.field(default_factory=now)

    @classmethod
    def new(cls, name: str, target: Target, compatibility: Mode = "backward") -> Manifest:
        created = now()
        return cls(
            name=name,
            **target.fields(),
            compatibility=compatibility,
            generations=(Generation(0, created),),
            created=created,
            updated=created,
        )

    @property
    def key(self) -> str:
        return MANIFESTS + self.name

    @property
    def prefix(self) -> str:
        """The backing store's key prefix of the current values."""
        return prefix_of(self.name, self.generation)

    @property
    def target(self) -> Target:
        return Target(self.chain, self.value_type, self.schema, self.fingerprint, self.local_types)

    @property
    def schemas(self) -> list[dict[str, Any] | None]:
        """Every schema the values may have been written with, oldest first."""
        return [*(r.schema for r in self.earlier_schemas), self.schema]

    @property
    def fingerprint_list(self) -> list[str | None]:
        """The fingerprints of :attr:`schemas`, in the same order."""
        return [*(r.fingerprint for r in self.earlier_schemas), self.fingerprint]

    @property
    def fingerprints(self) -> set[str | None]:
        return set(self.fingerprint_list)

    def with_schema(self, target: Target) -> Manifest:
        """The manifest with ``target``'s schema as the newest, the current one kept as earlier."""
        earlier = self.earlier_schemas
        if self.schema is not None and self.fingerprint is not None:
            earlier = (*earlier, SchemaRecord(self.fingerprint, self.schema))
        return self.changed(schema=target.schema, fingerprint=target.fingerprint, earlier_schemas=earlier)

    def switched(self, target: Target, generation: int) -> Manifest:
        """The manifest after a migration to ``target`` in ``generation``: the old one retired."""
        stamp = now()
        records = [g if g.generation != self.generation else Generation(g.generation, g.created, stamp)
                   for g in self.generations]  # fmt: skip
        return self.changed(
            **target.fields(),
            earlier_schemas=(),
            generation=generation,
            generations=(*records, Generation(generation, stamp)),
            migration=None,
            retired=(*self.retired, self.generation),
        )

    def retirable(self, generation: int) -> bool:
        """True if this manifest's own records agree that ``generation``'s keys may be deleted."""
        return generation != self.generation and any(
            g.generation == generation and g.retired is not None for g in self.generations
        )

    def changed(self, **changes: Any) -> Manifest:
        return msgspec.structs.replace(self, updated=now(), **changes)

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self, order="sorted"), indent=1)


# -- reading ------------------------------------------------------------------------------------


class _FormatOne(Recorded, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The first manifest format: no generation records, no compatibility mode."""

    format: int
    name: str
    generation: int
    migration: dict[str, Any] | None
    retired: tuple[int, ...]
    created: str
    updated: str


def decode_manifest(name: str, raw: bytes) -> Manifest:
    """The manifest of namespace ``name`` from its JSON; CorruptManifest names what is wrong."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise _corrupt(name, "$", f"it is not JSON ({exc})") from None
    version = data.get("format") if isinstance(data, dict) else None
    try:
        if version == 1:
            manifest = _upgrade(name, msgspec.convert(data, _FormatOne))
        elif version == FORMAT:
            manifest = msgspec.convert(data, Manifest)
        else:
            raise _corrupt(name, "format", f"expected format 1 or {FORMAT}, got {version!r}")
    except msgspec.ValidationError as exc:
        raise _corrupt(name, _field(exc), str(exc)) from None
    problem = inconsistency(name, manifest)
    if problem is not None:
        raise _corrupt(name, *problem)
    return manifest


def inconsistency(name: str, m: Manifest) -> tuple[str, str] | None:
    """The first ``(field, why)`` in which manifest ``m`` of ``name`` contradicts itself."""
    if m.name != name:
        return "name", f"it names namespace {m.name!r}, but is the manifest of {name!r}"
    if m.schema is not None and schema_fingerprint(m.schema) != m.fingerprint:
        return "fingerprint", f"{m.fingerprint!r} is not the fingerprint of the recorded schema"
    numbers = [g.generation for g in m.generations]
    live = [g.generation for g in m.generations if g.retired is None]
    if len(set(numbers)) != len(numbers) or any(n < 0 for n in numbers):
        return "generations", f"generation numbers must be distinct and not negative, got {numbers}"
    if live != [m.generation]:
        return "generation", (
            f"{m.generation} is not the live generation of the manifest's records (live: {live})"
        )
    for i, generation in enumerate(m.retired):
        if not m.retirable(generation):
            return f"retired[{i}]", (
                f"generation {generation} is the live one, or has no record of being retired"
            )
    if m.migration is not None and m.migration.generation <= max(numbers):
        return "migration.generation", (
            f"a migration must write a new generation (above {max(numbers)}), got {m.migration.generation}"
        )
    return None


def _upgrade(name: str, old: _FormatOne) -> Manifest:
    """A format 1 manifest as a format 2 one, its implicit generation records made explicit."""
    for i, generation in enumerate(old.retired):
        if not 0 <= generation < old.generation:
            raise _corrupt(name, f"retired[{i}]", f"generation {generation} was never replaced")
    migration = None
    if old.migration is not None:
        try:
            migration = msgspec.convert(old.migration, Migration)
        except msgspec.ValidationError as exc:
            raise _corrupt(name, "migration", str(exc)) from None
    records = [Generation(g, old.created, old.updated) for g in old.retired]
    return Manifest(
        name=old.name,
        chain=old.chain,
        value_type=old.value_type,
        schema=old.schema,
        fingerprint=old.fingerprint,
        generation=old.generation,
        generations=(*records, Generation(old.generation, old.created)),
        migration=migration,
        retired=old.retired,
        created=old.created,
        updated=old.updated,
    )


def _field(exc: msgspec.ValidationError) -> str:
    """The manifest field a validation error is about: ``generation``, ``retired[0]``, ``$``."""
    where, missing = _AT.search(str(exc)), _MISSING.search(str(exc))
    field = where.group(1) if where else ""
    if missing:
        field = f"{field}.{missing.group(1)}" if field else missing.group(1)
    return field or "$"


def _corrupt(name: str, field: str, why: str) -> CorruptManifest:
    return CorruptManifest(
        f"The manifest of namespace {name!r} is not a valid nstore manifest: field {field!r}: {why}. "
        f"Nothing was changed: correct that field of the key {MANIFESTS + name!r}, or restore the "
        "key from a backup.",
        namespace=name,
        field=field,
    )
