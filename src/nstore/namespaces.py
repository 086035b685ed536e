"""Namespaces: one backing store, a codec pipeline per kind of record, recorded in a manifest.

::

    db = Namespaces(SQLiteStore("app.db"))
    users = db.namespace("users", Msgspec(User) | Zstd())    # Store[str, User]

Values of namespace ``users`` live under ``users/<generation>/`` in the backing store, so listing
one namespace lists only its prefix. Its manifest (see :mod:`nstore._manifest`) lives under the
reserved ``_nstore/namespaces/users`` key, which no namespace prefix can produce. Opening a
namespace checks the chain against the manifest; :meth:`Namespaces.migrate` re-encodes a namespace
into a new generation and switches the manifest in one write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nstore._manifest import MANIFESTS, Manifest, Target, check_name, diff, prefix_of, schema_problems
from nstore._migrate import clear_prefix, run_migration
from nstore.codecs import Codec, Prefix, from_spec
from nstore.errors import ConfigurationError, ManifestMismatch, MigrationError, NamespaceError
from nstore.store import Store

__all__ = ["Manifest", "Namespaces"]

T = TypeVar("T")

Progress = Callable[[int, int], object]
"""A migration progress callback: ``progress(done, total)`` after each batch."""


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

    def _read(self, name: str) -> Manifest | None:
        raw = self._store.get(MANIFESTS + name)
        return None if raw is None else Manifest.from_json(name, raw)

    def _write(self, manifest: Manifest) -> None:
        self._store[manifest.key] = manifest.to_json()

    def manifest(self, name: str) -> Manifest:
        """The recorded manifest of namespace ``name``; NamespaceError if there is none."""
        manifest = self._read(check_name(name))
        if manifest is None:
            known = ", ".join(sorted(self.namespaces())) or "none"
            raise NamespaceError(f"No namespace named {name!r} in this store (namespaces: {known}).")
        return manifest

    def namespaces(self) -> dict[str, Manifest]:
        """Every namespace with a manifest, by name."""
        raw = self._store.get_many(list(self._store.iter_keys(MANIFESTS)))
        return {
            key[len(MANIFESTS) :]: Manifest.from_json(key[len(MANIFESTS) :], value)
            for key, value in sorted(raw.items())
        }

    # -- opening -----------------------------------------------------------------------------------

    def namespace(self, name: str, chain: Codec[T, bytes], *, trusted: bool = False) -> Store[str, T]:
        """Open (or create) namespace ``name``, whose values go through ``chain``.

        A new namespace records ``chain`` in its manifest. An existing one must have been recorded
        with the same chain, and a schema that values written before still satisfy; a compatible
        schema change (a new optional field) is accepted and recorded. Otherwise this raises
        :class:`~nstore.errors.ManifestMismatch` with a diff of recorded and requested.
        ``trusted`` is passed to ``with_values`` (unsafe codecs on remote stores).
        """
        check_name(name)
        if not isinstance(chain, Codec):
            raise ConfigurationError(
                f"Expected a codec chain for namespace {name!r}. Got {type(chain).__name__}."
            )
        target = Target.of(chain)
        manifest = self._read(name)
        if manifest is None:
            manifest = Manifest.new(name, target)
            if self._store.supports_atomic_writes:
                if not self._store.set_if_absent(manifest.key, manifest.to_json()):
                    return self.namespace(name, chain, trusted=trusted)  # created meanwhile: check it
            else:
                self._write(manifest)
        else:
            self._check_open(manifest)
            if self._check_target(manifest, target):
                manifest = manifest.with_target(target)
                self._write(manifest)
            if manifest.retired:
                manifest = self._retire(manifest)
        return self._view(manifest, chain, trusted)

    def open(self, name: str, *, trusted: bool = False) -> Store[str, Any]:
        """Open namespace ``name`` untyped, with the chain rebuilt from its manifest alone.

        Value types are imported from their recorded paths (``SpecError`` when they cannot be);
        a type whose schema no longer reads the recorded values raises ManifestMismatch.
        Nothing is written.
        """
        manifest = self.manifest(name)
        self._check_open(manifest)
        chain: Codec[Any, bytes] = from_spec(manifest.chain)
        self._check_target(manifest, Target.of(chain))
        return self._view(manifest, chain, trusted)

    def _view(self, manifest: Manifest, chain: Codec[T, bytes], trusted: bool) -> Store[str, T]:
        return self._store.with_keys(Prefix(manifest.prefix)).with_values(chain, trusted=trusted)

    def _check_open(self, manifest: Manifest) -> None:
        if manifest.migration is not None:
            raise MigrationError(
                f"Namespace {manifest.name!r} is being migrated (started {manifest.migration['started']}). "
                f"Finish it with migrate({manifest.name!r}, <the new chain>) or undo it with "
                f"rollback({manifest.name!r}) before opening it."
            )

    @staticmethod
    def _check_target(manifest: Manifest, target: Target) -> bool:
        """Raise ManifestMismatch unless ``target`` reads the namespace; True if it changes the record."""
        recorded = manifest.target
        if recorded.chain != target.chain or recorded.value_type != target.value_type:
            raise ManifestMismatch(
                f"Namespace {manifest.name!r} was recorded with another codec chain. Open it with the "
                f"recorded chain, or re-encode it with migrate({manifest.name!r}, new_chain).\n"
                + diff(recorded.shown(), target.shown())
            )
        problems = schema_problems(recorded.schema, target.schema)
        if problems:
            listed = "\n  ".join(problems)
            raise ManifestMismatch(
                f"Namespace {manifest.name!r} holds values of a schema that the requested type cannot "
                f"read:\n  {listed}\nKeep the change compatible (new fields optional or with a "
                "default), or migrate to a new type.\n"
                + diff({"schema": recorded.schema}, {"schema": target.schema})
            )
        return recorded.fingerprint != target.fingerprint

    # -- migration ---------------------------------------------------------------------------------

    def migrate(
        self,
        name: str,
        chain: Codec[T, bytes],
        *,
        progress: Progress | None = None,
        batch_size: int = 500,
        trusted: bool = False,
    ) -> Store[str, T]:
        """Re-encode every value of namespace ``name`` from its recorded chain to ``chain``.

        Crash-safe: the new values are written under the next generation's prefix while the
        manifest records the migration; one manifest write then switches the namespace, and the
        old generation is removed. An interrupted migration is resumed by calling ``migrate``
        again with the same chain (values already re-encoded are kept), or undone by
        :meth:`rollback`. Until then the namespace cannot be opened. Stop writers of the namespace
        while it migrates. ``progress(done, total)`` is called after each batch.
        """
        manifest = self.manifest(name)
        size: object = batch_size  # checked at run time: callers may be untyped
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(f"Expected a positive integer for batch_size. Got {batch_size!r}.")
        manifest = run_migration(
            self._store, manifest, chain, Target.of(chain), self._write, progress, batch_size
        )
        return self._view(self._retire(manifest), chain, trusted)

    def rollback(self, name: str) -> None:
        """Undo an interrupted migration of ``name``: drop its new values, keep the recorded chain."""
        manifest = self.manifest(name)
        if manifest.migration is None:
            raise MigrationError(f"Namespace {name!r} has no migration in progress to roll back.")
        clear_prefix(self._store, prefix_of(name, manifest.migration["generation"]))
        self._write(manifest.changed(migration=None))

    def _retire(self, manifest: Manifest) -> Manifest:
        """Remove the keys of retired generations, then forget them."""
        for generation in manifest.retired:
            clear_prefix(self._store, prefix_of(manifest.name, generation))
        if manifest.retired:
            manifest = manifest.changed(retired=())
            self._write(manifest)
        return manifest

    def __repr__(self) -> str:
        return f"Namespaces({self._store!r})"
