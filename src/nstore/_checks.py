"""Whether a chain may open a namespace, decided from its manifest alone (pure, no I/O).

:func:`decide_opening` is what opening a namespace asks once its manifest is read: create the
namespace, open it as recorded, record a new schema first, or finish removing retired
generations first; it raises :class:`~nstore.errors.MigrationError` while a migration is in
progress and :class:`~nstore.errors.ManifestMismatch` (through :func:`admit`) when the chain or
schema is refused, whose message ends with a diff and whose attributes keep the same facts as
data. :class:`~nstore.Namespaces` and :class:`~nstore.AsyncNamespaces` both ask these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from nstore._compat import Mode, check_mode, compatibility_problems
from nstore._manifest import Manifest
from nstore._target import Target, diff, local_advice
from nstore.codecs import Codec, from_spec
from nstore.errors import ConfigurationError, ManifestMismatch, MigrationError, SpecError

__all__ = [
    "Opening",
    "admit",
    "chain_argument",
    "check_chain",
    "check_not_migrating",
    "check_reads",
    "decide_opening",
    "mode_of",
    "rebuild",
]


@dataclass(frozen=True)
class Opening:
    """What opening a namespace does with ``manifest``.

    ``create``: record it, as the namespace is new; ``open``: open the namespace as recorded;
    ``record``: record it (the recorded one with a new schema) in place of the one read, then
    open; ``retire``: remove the keys of its retired generations, then read it again.
    """

    action: Literal["create", "open", "record", "retire"]
    manifest: Manifest


def decide_opening(name: str, manifest: Manifest | None, target: Target, mode: Mode | None) -> Opening:
    """What opening ``name`` with ``target`` (and the declared ``mode``) does, given the manifest read."""
    if manifest is None:
        return Opening("create", Manifest.new(name, target, mode or "backward"))
    check_not_migrating(manifest)
    if manifest.retired:
        return Opening("retire", manifest)
    updated = admit(manifest, target, mode)
    return Opening("open", manifest) if updated is None else Opening("record", updated)


def chain_argument(name: str, chain: object) -> Codec[Any, bytes]:
    """``chain`` if it is a codec chain (callers may be untyped); ConfigurationError otherwise."""
    if not isinstance(chain, Codec):
        raise ConfigurationError(
            f"Expected a codec chain for namespace {name!r}. Got {type(chain).__name__}."
        )
    return chain


def check_not_migrating(manifest: Manifest) -> None:
    """Raise MigrationError, saying how to finish or undo it, while ``manifest`` records a migration."""
    if manifest.migration is not None:
        raise MigrationError(
            f"Namespace {manifest.name!r} is being migrated (started {manifest.migration.started}). "
            f"Finish it with migrate({manifest.name!r}, <the new chain>) or undo it with "
            f"rollback({manifest.name!r}) before opening it."
        )


def mode_of(value: object) -> Mode:
    """``value`` as a compatibility mode; ConfigurationError naming the modes otherwise."""
    try:
        return check_mode(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def rebuild(manifest: Manifest) -> Codec[Any, bytes]:
    """The chain rebuilt from ``manifest``; SpecError saying what to do when it cannot be."""
    try:
        chain: Codec[Any, bytes] = from_spec(manifest.chain)
    except SpecError as exc:
        advice = local_advice(manifest.local_types)
        if not advice:
            raise
        why = f"Cannot rebuild the chain of namespace {manifest.name!r}: {exc.message}"
        raise SpecError(f"{why} {advice}") from exc
    return chain


def check_chain(manifest: Manifest, target: Target) -> None:
    """Raise ManifestMismatch unless ``target`` has the recorded codec chain and value type."""
    recorded = manifest.target
    if recorded.chain == target.chain and recorded.value_type == target.value_type:
        return
    name = manifest.name
    raise ManifestMismatch(
        f"Namespace {name!r} was recorded with another codec chain. Open it with the recorded chain, "
        f"or re-encode it with migrate({name!r}, new_chain).\n" + diff(recorded.shown(), target.shown()),
        namespace=name,
        problems=["the codec chain (or the value type) differs from the recorded one"],
        recorded=recorded.shown(),
        requested=target.shown(),
    )


def admit(manifest: Manifest, target: Target, mode: Mode | None = None) -> Manifest | None:
    """The manifest to record for opening with ``target``, None if it needs no change.

    ``mode`` is the compatibility mode the caller declares (None: the recorded one). A schema
    already recorded is admitted as it is; a new one must pass the namespace's mode against
    every schema recorded since the last migration, and is then recorded as the newest.
    """
    name = manifest.name
    if mode is not None and mode != manifest.compatibility:
        raise ManifestMismatch(
            f"Namespace {name!r} was recorded with compatibility {manifest.compatibility!r}, and is "
            f"opened with {mode!r}. Open it with the recorded mode, or change the mode with "
            f"set_compatibility({name!r}, {mode!r}).",
            namespace=name,
            problems=[f"compatibility {mode!r} requested, {manifest.compatibility!r} recorded"],
            recorded={"compatibility": manifest.compatibility},
            requested={"compatibility": mode},
        )
    check_chain(manifest, target)
    # A schema recorded already is checked again: schemas recorded after it may have written
    # values it cannot read (a widening, then the rollback of the code that widened).
    recorded = zip(manifest.schemas, manifest.fingerprint_list, strict=True)
    others = [schema for schema, fingerprint in recorded if fingerprint != target.fingerprint]
    _raise_if(manifest, target, compatibility_problems(manifest.compatibility, others, target.schema))
    return None if target.fingerprint in manifest.fingerprints else manifest.with_schema(target)


def check_reads(manifest: Manifest, target: Target) -> None:
    """Raise ManifestMismatch unless ``target`` reads every recorded value (for tools and migrations).

    Reading is all a tool or a migration's source chain does, so this is the backward check,
    whatever the namespace's mode (none: no check).
    """
    check_chain(manifest, target)
    if manifest.compatibility != "none":
        _raise_if(manifest, target, compatibility_problems("backward", manifest.schemas, target.schema))


def _raise_if(manifest: Manifest, target: Target, problems: list[str]) -> None:
    if not problems:
        return
    name, mode = manifest.name, manifest.compatibility
    listed = "\n  ".join(problems)
    recorded, requested = {"schema": manifest.schema}, {"schema": target.schema}
    raise ManifestMismatch(
        f"Namespace {name!r} (compatibility {mode!r}) holds values of a schema that the requested type "
        f"cannot take:\n  {listed}\nKeep the change within what {mode!r} allows (see the table in "
        f"docs/namespaces.md), or migrate({name!r}, new_chain, transform=...) to the new type.\n"
        + diff(recorded, requested),
        namespace=name,
        problems=problems,
        recorded=recorded,
        requested=requested,
    )
