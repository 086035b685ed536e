"""Async namespaces: :class:`~nstore.Namespaces` over an :class:`~nstore.AsyncStore`, the same manifests.

Each method runs the same operation as its sync twin (:mod:`nstore._operations`: the same
checks, compatibility modes, manifest writes, retries and migration states), its store calls
awaited (:mod:`nstore._asteps`); it returns typed async views. A store written by one API is
read by the other: sync and async processes can share a namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nstore._asteps import arun
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
from nstore.astore import AsyncStore
from nstore.codecs import Codec, Prefix
from nstore.errors import ConfigurationError
from nstore.store import Store

__all__ = ["AsyncNamespaces"]

T = TypeVar("T")
S = TypeVar("S")


class AsyncNamespaces:
    """Typed namespaces over one ``AsyncStore[str, bytes]``; every method is awaited.

    The methods are :class:`~nstore.Namespaces`'s, with the same arguments, errors and
    manifests; ``namespace``, ``open`` and ``migrate`` give ``AsyncStore[str, T]`` views. A
    migration reads and writes a batch per call (``get_many``, ``set_many``); a batch whose
    stored bytes are over :data:`nstore.aview.OFFLOAD_SIZE` is decoded, transformed and encoded
    in a thread, so a migration never holds the event loop for long. ``transform`` and
    ``progress`` are plain functions, called on the loop or in that thread.

    Parameters
    ----------
    store
        The backing store. Manifests and values are written to it; it is not closed here.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import AsyncMemoryStore
    >>> from nstore.codecs import Utf8
    >>> async def main() -> None:
    ...     db = AsyncNamespaces(AsyncMemoryStore[str, bytes]())
    ...     notes = await db.namespace("notes", Utf8())
    ...     await notes.set("today", "write docs")
    ...     print(sorted(await db.namespaces()), await (await db.open("notes")).get("today"))
    >>> asyncio.run(main())
    ['notes'] write docs
    """

    def __init__(self, store: AsyncStore[str, bytes]) -> None:
        given: object = store  # checked at run time: callers may be untyped
        if not isinstance(given, AsyncStore):
            hint = " (a sync Store goes through nstore.AsyncAdapter)" if isinstance(given, Store) else ""
            raise ConfigurationError(
                f"Expected an AsyncStore[str, bytes] to hold namespaces. Got {type(given).__name__}{hint}."
            )
        self._store = store

    @property
    def store(self) -> AsyncStore[str, bytes]:
        """The backing store."""
        return self._store

    async def manifest(self, name: str) -> Manifest:
        """The recorded manifest of ``name``; NamespaceError if there is none, CorruptManifest if bad."""
        return await arun(self._store, manifest_of(name))

    async def namespaces(self) -> dict[str, Manifest]:
        """Every namespace with a manifest, by name."""
        return await arun(self._store, manifests())

    async def namespace(
        self, name: str, chain: Codec[T, bytes], *, compatibility: Mode | None = None, trusted: bool = False
    ) -> AsyncStore[str, T]:
        """Open (or create) ``name`` for ``chain``, as :meth:`nstore.Namespaces.namespace` does."""
        self._store.check_codec(chain_argument(name, chain), trusted=trusted)  # before any write
        atomic = self._store.supports_atomic_writes
        return self._view(
            await arun(self._store, opening(name, chain, compatibility, atomic)), chain, trusted
        )

    async def open(self, name: str, *, trusted: bool = False) -> AsyncStore[str, Any]:
        """Open ``name`` untyped, its chain rebuilt from the manifest; nothing is written."""
        manifest, chain = await arun(self._store, reopening(name))
        return self._view(manifest, chain, trusted)

    async def set_compatibility(self, name: str, compatibility: Mode) -> None:
        """Record ``compatibility`` as the mode that admits the next schemas of ``name``."""
        await arun(
            self._store, setting_compatibility(name, compatibility, self._store.supports_atomic_writes)
        )

    async def migrate(
        self,
        name: str,
        chain: Codec[T, bytes],
        *,
        transform: Callable[[S], T] | None = None,
        old_chain: Codec[S, bytes] | None = None,
        progress: Progress | None = None,
        batch_size: int = 500,
        trusted: bool = False,
    ) -> AsyncStore[str, T]:
        """Re-encode every value of ``name`` to ``chain``: crash-safe, resumable, checked before the switch.

        See :meth:`Namespaces.migrate <nstore.Namespaces.migrate>`: the same states, recorded in
        the same manifest, so a migration interrupted in one API is resumed or rolled back by
        either.
        """
        self._store.check_codec(chain_argument(name, chain), trusted=trusted)  # before any write
        atomic = self._store.supports_atomic_writes
        manifest = await arun(
            self._store, migrating(name, chain, transform, old_chain, progress, batch_size, atomic)
        )
        return self._view(manifest, chain, trusted)

    async def rollback(self, name: str) -> None:
        """Undo an interrupted migration of ``name``: drop its new values, keep the recorded chain."""
        await arun(self._store, rolling_back(name))

    def _view(self, manifest: Manifest, chain: Codec[T, bytes], trusted: bool) -> AsyncStore[str, T]:
        return self._store.with_keys(Prefix(manifest.prefix)).with_values(chain, trusted=trusted)

    def __repr__(self) -> str:
        return f"AsyncNamespaces({self._store!r})"
