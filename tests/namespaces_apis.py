"""The namespace tests run for both APIs: Namespaces, and AsyncNamespaces behind a blocking facade.

:class:`BlockingNamespaces` is a ``Namespaces`` whose every method awaits the AsyncNamespaces
method of the same name, on an event loop in a thread (:class:`~tests.astores.facade.LoopThread`),
and whose views and ``store`` are :class:`~tests.astores.facade.Blocking` facades over the async
views and store. Nothing here adds behaviour of its own, so a namespace test given one runs the
async API's code from end to end. :func:`namespaces_for` makes the ``db`` of a test module for
one of :data:`APIS`: the sync API over a MemoryStore, or the async API over AsyncMemoryStore,
SQLite through AsyncAdapter, or a real Redis server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from nstore import AsyncAdapter, AsyncMemoryStore, AsyncNamespaces, AsyncStore, MemoryStore, Store
from nstore._compat import Mode
from nstore.codecs import Codec
from nstore.namespaces import Manifest, Namespaces
from nstore.stores.aredis import AsyncRedisStore
from nstore.stores.sqlite import SQLiteStore
from tests.astores.facade import Blocking, LoopThread

__all__ = ["APIS", "BlockingNamespaces", "namespaces_for", "namespaces_over"]

T = TypeVar("T")
S = TypeVar("S")

#: The API and backing store of each run of a namespace test.
APIS = ["sync", "amemory", "asqlite", "aredis"]


class BlockingNamespaces(Namespaces):
    """The Namespaces API over an AsyncNamespaces: each method awaits its async twin."""

    def __init__(self, namespaces: AsyncNamespaces, loop: LoopThread) -> None:
        super().__init__(Blocking(namespaces.store, loop))
        self.async_namespaces = namespaces
        self._loop = loop

    def manifest(self, name: str) -> Manifest:
        return self._loop.run(self.async_namespaces.manifest(name))

    def namespaces(self) -> dict[str, Manifest]:
        return self._loop.run(self.async_namespaces.namespaces())

    def namespace(
        self, name: str, chain: Codec[T, bytes], *, compatibility: Mode | None = None, trusted: bool = False
    ) -> Store[str, T]:
        opened = self.async_namespaces.namespace(name, chain, compatibility=compatibility, trusted=trusted)
        return Blocking(self._loop.run(opened), self._loop)

    def open(self, name: str, *, trusted: bool = False) -> Store[str, Any]:
        return Blocking(self._loop.run(self.async_namespaces.open(name, trusted=trusted)), self._loop)

    def set_compatibility(self, name: str, compatibility: Mode) -> None:
        self._loop.run(self.async_namespaces.set_compatibility(name, compatibility))

    def migrate(
        self,
        name: str,
        chain: Codec[T, bytes],
        *,
        transform: Callable[[S], T] | None = None,
        old_chain: Codec[S, bytes] | None = None,
        progress: Callable[[int, int], object] | None = None,
        batch_size: int = 500,
        trusted: bool = False,
    ) -> Store[str, T]:
        migrated = self.async_namespaces.migrate(
            name,
            chain,
            transform=transform,
            old_chain=old_chain,
            progress=progress,
            batch_size=batch_size,
            trusted=trusted,
        )
        return Blocking(self._loop.run(migrated), self._loop)

    def rollback(self, name: str) -> None:
        self._loop.run(self.async_namespaces.rollback(name))

    def __repr__(self) -> str:
        return f"BlockingNamespaces({self.async_namespaces!r})"


def _backing(api: str, request: pytest.FixtureRequest) -> AsyncStore[str, bytes]:
    if api == "amemory":
        return AsyncMemoryStore[str, bytes]()
    if api == "asqlite":
        return AsyncAdapter(SQLiteStore(request.getfixturevalue("tmp_path") / "namespaces.db"))
    if api == "aredis":
        return AsyncRedisStore(request.getfixturevalue("redis_url"), timeout=5)
    raise ValueError(f"Expected an API of {APIS}. Got {api!r}.")


@contextlib.contextmanager
def namespaces_for(api: str, request: pytest.FixtureRequest) -> Iterator[Namespaces]:
    """Empty namespaces of ``api`` (one of :data:`APIS`), their store closed after."""
    if api == "sync":
        yield Namespaces(MemoryStore[str, bytes]())
        return
    loop = LoopThread()
    try:
        store = _backing(api, request)
        try:
            yield BlockingNamespaces(AsyncNamespaces(store), loop)
        finally:
            loop.run(store.aclose())
    finally:
        loop.stop()


@contextlib.contextmanager
def namespaces_over(api: str) -> Iterator[Callable[[Store[str, bytes]], Namespaces]]:
    """Make namespaces over a sync store: ``sync`` directly, ``async`` through AsyncAdapter.

    The adapters' thread pools are shut down after; the stores are the caller's to close.
    """
    if api == "sync":
        yield Namespaces
        return
    loop = LoopThread()
    made: list[AsyncNamespaces] = []

    def over(store: Store[str, bytes]) -> Namespaces:
        made.append(AsyncNamespaces(AsyncAdapter(store)))
        return BlockingNamespaces(made[-1], loop)

    try:
        yield over
    finally:
        for namespaces in made:
            loop.run(namespaces.store.aclose())
        loop.stop()
