"""Namespaces: one backing store, a codec pipeline per kind of record, recorded in a manifest.

::

    db = Namespaces(SQLiteStore("app.db"))
    users = db.namespace("users", Msgspec(User) | Zstd())    # Store[str, User]

Values of namespace ``users`` live under ``users/<generation>/`` in the backing store, so listing
one namespace lists only its prefix. Its manifest (see :mod:`nstore._manifest`) lives under the
reserved ``_nstore/namespaces/users`` key, which no namespace prefix can produce. Opening a
namespace checks the chain against the manifest, and a new schema against the namespace's
compatibility mode (:mod:`nstore._compat`); :meth:`Namespaces.migrate` re-encodes a namespace
into a new generation and switches the manifest in one write. Each operation is written once, in
:mod:`nstore._operations` and :mod:`nstore._migrate`, as steps that decide through pure functions
(:mod:`nstore._checks`) and ask for store calls; this module makes those calls on a ``Store``, as
:mod:`nstore.anamespaces` awaits them on an ``AsyncStore``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nstore._checks import chain_argument
from nstore._compat import Mode
from nstore._manifest import Manifest
from nstore._migrate import Progress
from nstore._operations import (
    manifest_of,
    manifests,
    migrating,
    opening,
    reopening,
    rolling_back,
    setting_compatibility,
)
from nstore._steps import run
from nstore.codecs import Codec, Prefix
from nstore.errors import ConfigurationError
from nstore.store import Store

__all__ = ["Manifest", "Mode", "Namespaces"]

T = TypeVar("T")
S = TypeVar("S")


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

    def manifest(self, name: str) -> Manifest:
        """The recorded manifest of namespace ``name``; NamespaceError if there is none.

        A manifest that is malformed or contradicts itself raises
        :class:`~nstore.errors.CorruptManifest` naming the field.
        """
        return run(self._store, manifest_of(name))

    def namespaces(self) -> dict[str, Manifest]:
        """Every namespace with a manifest, by name."""
        return run(self._store, manifests())

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
        self._store.check_codec(chain_argument(name, chain), trusted=trusted)  # before any write
        atomic = self._store.supports_atomic_writes
        manifest = run(self._store, opening(name, chain, compatibility, atomic))
        return self._view(manifest, chain, trusted)

    def open(self, name: str, *, trusted: bool = False) -> Store[str, Any]:
        """Open namespace ``name`` untyped, with the chain rebuilt from its manifest alone.

        Value types are imported from their recorded paths (``SpecError`` when they cannot be,
        saying what to do when the type was defined in a script or a function); a type whose
        schema no longer reads the recorded values raises ManifestMismatch. Nothing is written.
        """
        manifest, chain = run(self._store, reopening(name))
        return self._view(manifest, chain, trusted)

    def set_compatibility(self, name: str, compatibility: Mode) -> None:
        """Record ``compatibility`` as the mode that admits the next schemas of ``name``."""
        run(self._store, setting_compatibility(name, compatibility, self._store.supports_atomic_writes))

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
        self._store.check_codec(chain_argument(name, chain), trusted=trusted)  # before any write
        atomic = self._store.supports_atomic_writes
        steps = migrating(name, chain, transform, old_chain, progress, batch_size, atomic)
        return self._view(run(self._store, steps), chain, trusted)

    def rollback(self, name: str) -> None:
        """Undo an interrupted migration of ``name``: drop its new values, keep the recorded chain."""
        run(self._store, rolling_back(name))

    def __repr__(self) -> str:
        return f"Namespaces({self._store!r})"
