"""Whether a chain may open a namespace, decided from its manifest alone (pure, no I/O).

:func:`admit` is what :meth:`~nstore.namespaces.Namespaces.namespace` asks before opening; it
returns the manifest to record (a new schema joining the namespace) or raises
:class:`~nstore.errors.ManifestMismatch`, whose message ends with a diff and whose attributes keep
the same facts as data. The sync namespaces call these functions, and an async layer can too.
"""

from __future__ import annotations

from nstore._compat import Mode, compatibility_problems
from nstore._manifest import Manifest
from nstore._target import Target, diff
from nstore.errors import ManifestMismatch

__all__ = ["admit", "check_chain", "check_reads"]


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
