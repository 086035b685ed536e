"""Namespaces: one backing store, a codec pipeline per kind of record, recorded in a manifest.

::

    db = Namespaces(SQLiteStore("app.db"))
    users = db.namespace("users", Msgspec(User) | Zstd())    # Store[str, User]

Values of namespace ``users`` live under ``users/<generation>/`` in the backing store, so listing
one namespace lists only its prefix. Its manifest (see :mod:`nstore._manifest`) lives under the
reserved ``_nstore/namespaces/users`` key, which no namespace prefix can produce. Opening a
namespace checks the chain against the manifest, and a new schema against the namespace's
compatibility mode (:mod:`nstore._compat`); :meth:`Namespaces.migrate` re-encodes a namespace
into a new generation and switches the manifest in one write. The decisions are pure functions
(:mod:`nstore._checks`); this module does the reading and writing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nstore._checks import admit, check_reads
from nstore._compat import Mode, check_mode
from nstore._manifest import MANIFESTS, Manifest, check_name, decode_manifest, prefix_of
from nstore._migrate import Plan, clear_prefix, run_migration, undo_migration
from nstore._target import Target, local_advice
from nstore.codecs import Codec, Prefix, from_spec
from nstore.errors import ConfigurationError, ConflictError, MigrationError, NamespaceError, SpecError
from nstore.store import Store

__all__ = ["Manifest", "Mode", "Namespaces"]

T = TypeVar("T")
S = TypeVar("S")

Progress = Callable[[int, int], object]
"""A migration progress callback: ``progress(done, total)`` after each batch."""

_RETRIES = 20  # lost races with other processes recording the same manifest


class Namespaces:
    """Typed namespaces over one ``Store[str, bytes]``, each with its chain recorded.

    Parameters
    ----------
    store
        The backing store. Manifests and values are written to it; it is not closed here.

    Examples
    --------
    >>> from nstore import MemoryStore
    >>> from nstore.codecs import Utf8
    >>> db = Namespaces(MemoryStore[str, bytes]())
    >>> notes = db.namespace("notes", Utf8())
    >>> notes["today"] = "write docs"
    >>> sorted(db.store)
    ['_nstore/namespaces/notes', 'notes/0/today']
    >>> db.open("notes")["today"]
    'write docs'
    """

    def __init__(self, store: Store[str, bytes]) -> None:
        if not isinstance(store, Store):
            raise ConfigurationError(
                f"Expected a Store[str, bytes] to hold namespaces. Got {type(store).__name__}."
            )
        self._store = store

    @property
    def store(self) -> Store[str, bytes]:
        """The backing store."""
        return self._store

    # -- manifests -------------------------------------------------------------------------------

    def _read(self, name: str) -> tuple[Manifest | None, bytes | None]:
        raw = self._store.get(MANIFESTS + name)
        return (None, None) if raw is None else (decode_manifest(name, raw), raw)

    def _write(self, manifest: Manifest, expected: bytes | None = None) -> bool:
        """Record ``manifest``; with ``expected``, only if the record is still that (where atomic)."""
        if expected is not None and self._store.supports_atomic_writes:
            return self._store.compare_and_set(manifest.key, expected, manifest.to_json())
        self._store[manifest.key] = manifest.to_json()
        return True

    def manifest(self, name: str) -> Manifest:
        """The recorded manifest of namespace ``name``; NamespaceError if there is none.

        A manifest that is malformed or contradicts itself raises
        :class:`~nstore.errors.CorruptManifest` naming the field.
        """
        manifest, _ = self._read(check_name(name))
        if manifest is None:
            known = ", ".join(sorted(self.namespaces())) or "none"
            raise NamespaceError(f"No namespace named {name!r} in this store (namespaces: {known}).")
        return manifest

    def namespaces(self) -> dict[str, Manifest]:
        """Every namespace with a manifest, by name."""
        raw = self._store.get_many(list(self._store.iter_keys(MANIFESTS)))
        return {
            key[len(MANIFESTS) :]: decode_manifest(key[len(MANIFESTS) :], value)
            for key, value in sorted(raw.items())
        }

    # -- opening -----------------------------------------------------------------------------------

    def namespace(
        self, name: str, chain: Codec[T, bytes], *, compatibility: Mode | None = None, trusted: bool = False
    ) -> Store[str, T]:
        """Open (or create) namespace ``name``, whose values go through ``chain``.

        A new namespace records ``chain`` and ``compatibility`` (default ``"backward"``) in its
        manifest. An existing one must have been recorded with the same chain; a schema not
        recorded yet is accepted (and recorded) when the namespace's compatibility mode allows
        it against every schema recorded since the last migration (see :mod:`nstore._compat`).
        Otherwise this raises :class:`~nstore.errors.ManifestMismatch` with a diff of recorded
        and requested. ``compatibility``, when given, must be the recorded mode.
        ``trusted`` is passed to ``with_values`` (unsafe codecs on remote stores).
        """
        check_name(name)
        if not isinstance(chain, Codec):
            raise ConfigurationError(
                f"Expected a codec chain for namespace {name!r}. Got {type(chain).__name__}."
            )
        mode = None if compatibility is None else _mode(compatibility)
        target = Target.of(chain)
        for _ in range(_RETRIES):
            manifest, raw = self._read(name)
            if manifest is None:
                manifest = Manifest.new(name, target, mode or "backward")
                if self._create(manifest):
                    return self._view(manifest, chain, trusted)
                continue  # created meanwhile: check it
            _check_open(manifest)
            if manifest.retired:
                self._retire(manifest, raw)
                continue
            updated = admit(manifest, target, mode)
            if updated is None or self._write(updated, raw):
                return self._view(updated or manifest, chain, trusted)
        raise ConflictError(f"The manifest of namespace {name!r} kept changing while it was opened; retry.")

    def _create(self, manifest: Manifest) -> bool:
        if self._store.supports_atomic_writes:
            return self._store.set_if_absent(manifest.key, manifest.to_json())
        return self._write(manifest)

    def open(self, name: str, *, trusted: bool = False) -> Store[str, Any]:
        """Open namespace ``name`` untyped, with the chain rebuilt from its manifest alone.

        Value types are imported from their recorded paths (``SpecError`` when they cannot be,
        saying what to do when the type was defined in a script or a function); a type whose
        schema no longer reads the recorded values raises ManifestMismatch. Nothing is written.
        """
        manifest = self.manifest(name)
        _check_open(manifest)
        chain = rebuild(manifest)
        check_reads(manifest, Target.of(chain))
        return self._view(manifest, chain, trusted)

    def set_compatibility(self, name: str, compatibility: Mode) -> None:
        """Record ``compatibility`` as the mode that admits the next schemas of ``name``."""
        mode = _mode(compatibility)
        for _ in range(_RETRIES):
            manifest, raw = self._read(check_name(name))
            if manifest is None:
                raise NamespaceError(f"No namespace named {name!r} in this store.")
            if manifest.compatibility == mode or self._write(manifest.changed(compatibility=mode), raw):
                return
        raise ConflictError(f"The manifest of namespace {name!r} kept changing; try again.")

    def _view(self, manifest: Manifest, chain: Codec[T, bytes], trusted: bool) -> Store[str, T]:
        return self._store.with_keys(Prefix(manifest.prefix)).with_values(chain, trusted=trusted)

    # -- migration ---------------------------------------------------------------------------------

    def migrate(
        self,
        name: str,
        chain: Codec[T, bytes],
        *,
        transform: Callable[[S], T] | None = None,
        old_chain: Codec[S, bytes] | None = None,
        progress: Progress | None = None,
        batch_size: int = 500,
        trusted: bool = False,
    ) -> Store[str, T]:
        """Re-encode every value of namespace ``name`` from its recorded chain to ``chain``.

        ``transform(old_value)`` turns each decoded value into the new chain's type (a rename,
        a changed type, a split field); ``old_chain`` is the chain the values were recorded
        with (checked against the manifest), which gives the transform its argument type, and
        decodes when the recorded types cannot be imported here. Without ``old_chain`` the
        recorded chain is rebuilt from the manifest.

        Every value is decoded, transformed, encoded and decoded again before anything is
        switched. If any fails, nothing is switched, the new values are dropped and
        :class:`~nstore.errors.MigrationFailed` lists the keys: the namespace stays as it was.
        Crash-safe: the new values are written under the next generation's prefix while the
        manifest records the migration; one manifest write then switches the namespace, and the
        old generation is removed. A migration interrupted by a crash is resumed by calling
        ``migrate`` again with the same chain and transform, or undone by :meth:`rollback`; until
        then the namespace cannot be opened. A migration to the chain already recorded does
        nothing, so a deploy can run it every time. Stop writers of the namespace while it
        migrates. ``progress(done, total)`` is called before the first batch and after each one.
        """
        manifest = self.manifest(name)
        size: object = batch_size  # checked at run time: callers may be untyped
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(f"Expected a positive integer for batch_size. Got {batch_size!r}.")
        if transform is not None and not callable(transform):
            raise ConfigurationError(f"Expected a callable for transform. Got {type(transform).__name__}.")
        plan = Plan(chain, Target.of(chain), transform, old_chain)
        manifest = run_migration(self._store, manifest, plan, self._write, rebuild, progress, batch_size)
        if manifest.retired:
            manifest = self._retire(manifest)
        return self._view(manifest, chain, trusted)

    def rollback(self, name: str) -> None:
        """Undo an interrupted migration of ``name``: drop its new values, keep the recorded chain."""
        manifest = self.manifest(name)
        if manifest.migration is None:
            raise MigrationError(f"Namespace {name!r} has no migration in progress to roll back.")
        undo_migration(self._store, manifest, self._write)

    def _retire(self, manifest: Manifest, expected: bytes | None = None) -> Manifest:
        """Remove the keys of retired generations that the manifest's records agree on, then forget them."""
        for generation in manifest.retired:
            if manifest.retirable(generation):  # a Manifest built in code is not checked on reading
                clear_prefix(self._store, prefix_of(manifest.name, generation))
        manifest = manifest.changed(retired=())
        self._write(manifest, expected)  # lost to another writer: the caller reads it again
        return manifest

    def __repr__(self) -> str:
        return f"Namespaces({self._store!r})"


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


def _mode(value: object) -> Mode:
    try:
        return check_mode(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _check_open(manifest: Manifest) -> None:
    if manifest.migration is not None:
        raise MigrationError(
            f"Namespace {manifest.name!r} is being migrated (started {manifest.migration.started}). "
            f"Finish it with migrate({manifest.name!r}, <the new chain>) or undo it with "
            f"rollback({manifest.name!r}) before opening it."
        )
