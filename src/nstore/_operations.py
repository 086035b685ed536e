"""The namespace operations, written once as steps (:mod:`nstore._steps`) for both APIs.

Each function here is what a method of :class:`~nstore.Namespaces` and of
:class:`~nstore.AsyncNamespaces` does, from checking its arguments to the last manifest write:
it reads and writes only by asking for store calls, decides through the pure functions of
:mod:`nstore._checks` and :mod:`nstore._migrate`, and returns the manifest (and chain) that the
caller builds its typed view from. ``atomic`` is the backing store's ``supports_atomic_writes``:
with it, a manifest is created with ``set_if_absent`` and replaced with ``compare_and_set``, so
that two processes recording a manifest at once both see their change land or read it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nstore._checks import chain_argument, check_not_migrating, check_reads, decide_opening, mode_of, rebuild
from nstore._compat import Mode
from nstore._manifest import MANIFESTS, Manifest, check_name, decode_manifest, prefix_of
from nstore._migrate import Progress, clear_prefix, plan_of, run_migration, undo_migration
from nstore._steps import Steps, list_keys, put, put_new, read, read_many, swap
from nstore._target import Target
from nstore.codecs import Codec
from nstore.errors import ConflictError, MigrationError, NamespaceError

__all__ = [
    "manifest_of",
    "manifests",
    "migrating",
    "opening",
    "reopening",
    "rolling_back",
    "setting_compatibility",
]

_RETRIES = 20  # lost races with other processes recording the same manifest


# -- manifests -------------------------------------------------------------------------------------


def _read(name: str) -> Steps[tuple[Manifest | None, bytes | None]]:
    raw = yield from read(MANIFESTS + name)
    return (None, None) if raw is None else (decode_manifest(name, raw), raw)


def _write(manifest: Manifest, expected: bytes | None, atomic: bool) -> Steps[bool]:
    """Record ``manifest``; with ``expected``, only if the record is still that (where atomic)."""
    if expected is not None and atomic:
        return (yield from swap(manifest.key, expected, manifest.to_json()))
    yield from put(manifest.key, manifest.to_json())
    return True


def _create(manifest: Manifest, atomic: bool) -> Steps[bool]:
    if atomic:
        return (yield from put_new(manifest.key, manifest.to_json()))
    return (yield from _write(manifest, None, atomic))


def manifests() -> Steps[dict[str, Manifest]]:
    """Every namespace with a manifest, by name."""
    raw = yield from read_many((yield from list_keys(MANIFESTS)))
    return {
        key[len(MANIFESTS) :]: decode_manifest(key[len(MANIFESTS) :], value)
        for key, value in sorted(raw.items())
    }


def manifest_of(name: str) -> Steps[Manifest]:
    """The recorded manifest of ``name``; NamespaceError naming the namespaces if there is none."""
    manifest, _ = yield from _read(check_name(name))
    if manifest is None:
        known = ", ".join(sorted((yield from manifests()))) or "none"
        raise NamespaceError(f"No namespace named {name!r} in this store (namespaces: {known}).")
    return manifest


# -- opening ---------------------------------------------------------------------------------------


def opening(name: str, chain: Codec[Any, bytes], compatibility: Mode | None, atomic: bool) -> Steps[Manifest]:
    """Open (or create) ``name`` for ``chain``: the manifest recorded for it once it is open."""
    chain_argument(check_name(name), chain)
    mode = None if compatibility is None else mode_of(compatibility)
    target = Target.of(chain)
    for _ in range(_RETRIES):
        manifest, raw = yield from _read(name)
        decision = decide_opening(name, manifest, target, mode)
        if decision.action == "create":
            if (yield from _create(decision.manifest, atomic)):
                return decision.manifest
        elif decision.action == "retire":
            yield from _retire(decision.manifest, raw, atomic)
        elif decision.action == "open" or (yield from _write(decision.manifest, raw, atomic)):
            return decision.manifest
    raise ConflictError(f"The manifest of namespace {name!r} kept changing while it was opened; retry.")


def reopening(name: str) -> Steps[tuple[Manifest, Codec[Any, bytes]]]:
    """The manifest of ``name`` and its chain rebuilt from it, for an untyped opening (no writes)."""
    manifest = yield from manifest_of(name)
    check_not_migrating(manifest)
    chain = rebuild(manifest)
    check_reads(manifest, Target.of(chain))
    return manifest, chain


def setting_compatibility(name: str, compatibility: Mode, atomic: bool) -> Steps[None]:
    """Record ``compatibility`` as the mode of ``name``."""
    mode = mode_of(compatibility)
    for _ in range(_RETRIES):
        manifest, raw = yield from _read(check_name(name))
        if manifest is None:
            raise NamespaceError(f"No namespace named {name!r} in this store.")
        if manifest.compatibility == mode or (
            yield from _write(manifest.changed(compatibility=mode), raw, atomic)
        ):
            return
    raise ConflictError(f"The manifest of namespace {name!r} kept changing; try again.")


def _retire(manifest: Manifest, expected: bytes | None, atomic: bool) -> Steps[Manifest]:
    """Remove the keys of retired generations that the manifest's records agree on, then forget them."""
    for generation in manifest.retired:
        if manifest.retirable(generation):  # a Manifest built in code is not checked on reading
            yield from clear_prefix(prefix_of(manifest.name, generation))
    manifest = manifest.changed(retired=())
    yield from _write(manifest, expected, atomic)  # lost to another writer: the caller reads it again
    return manifest


# -- migration -------------------------------------------------------------------------------------


def migrating(
    name: str,
    chain: Codec[Any, bytes],
    transform: Callable[[Any], Any] | None,
    old_chain: Codec[Any, bytes] | None,
    progress: Progress | None,
    batch_size: int,
    atomic: bool,
) -> Steps[Manifest]:
    """Migrate ``name`` to ``chain`` (see Namespaces.migrate): the manifest it is recorded with after."""
    manifest = yield from manifest_of(name)
    plan = plan_of(chain, transform, old_chain, batch_size)
    manifest = yield from run_migration(manifest, plan, progress, batch_size)
    if manifest.retired:
        manifest = yield from _retire(manifest, None, atomic)
    return manifest


def rolling_back(name: str) -> Steps[None]:
    """Undo the interrupted migration of ``name``."""
    manifest = yield from manifest_of(name)
    if manifest.migration is None:
        raise MigrationError(f"Namespace {name!r} has no migration in progress to roll back.")
    yield from undo_migration(manifest)
