"""A blocking facade over an AsyncStore, so that the StoreTests suite drives async stores too.

:class:`Blocking` is a ``Store`` whose every method awaits the one async method it corresponds to
(``store[k]`` -> ``get``, ``k in store`` -> ``contains``, ``get_many`` -> ``get_many``, iteration ->
``async for`` over ``iter_keys``, ``close`` -> ``aclose``, ``with_keys`` -> ``with_keys``), on an
event loop that runs in a thread owned by the test's ``loop`` fixture. Calls from several threads
become concurrent tasks on that loop. Nothing here adds behaviour of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nstore import AsyncStore, Store

if TYPE_CHECKING:
    from nstore.codecs import Codec

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
R = TypeVar("R")

#: Longest a single call may take before the test fails (a hung call is a failure, not a hang).
CALL_TIMEOUT = 60.0


class LoopThread:
    """An asyncio event loop running in its own thread until :meth:`stop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[R]) -> R:
        """Await ``awaitable`` on the loop and return its result (from any other thread)."""
        if threading.current_thread() is self.thread:
            raise RuntimeError("LoopThread.run called from the loop's own thread")
        return asyncio.run_coroutine_threadsafe(_awaited(awaitable), self.loop).result(CALL_TIMEOUT)

    def stop(self) -> None:
        self.run(self.loop.shutdown_asyncgens())
        self.run(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(CALL_TIMEOUT)
        self.loop.close()


async def _awaited(awaitable: Awaitable[R]) -> R:
    return await awaitable


class Blocking(Store[K, V], Generic[K, V]):
    """The sync Store API over an AsyncStore, one async call per sync call."""

    def __init__(self, store: AsyncStore[K, V], loop: LoopThread) -> None:
        self.async_store = store
        self._loop = loop

    def __getitem__(self, key: K, /) -> V:
        return self._loop.run(self.async_store.get(key))

    def __setitem__(self, key: K, value: V, /) -> None:
        self._loop.run(self.async_store.set(key, value))

    def __delitem__(self, key: K, /) -> None:
        self._loop.run(self.async_store.delete(key))

    def __contains__(self, key: object, /) -> bool:
        return self._loop.run(self.async_store.contains(key))  # type: ignore[arg-type]  # as Store's

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        return self._iterate(self.async_store.iter_keys(prefix))

    def _iterate(self, keys: AsyncIterator[K]) -> Iterator[K]:
        try:
            while True:
                try:
                    yield self._loop.run(anext(keys))
                except StopAsyncIteration:
                    return
        finally:
            close = getattr(keys, "aclose", None)
            if close is not None:
                self._loop.run(close())

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        return self._loop.run(self.async_store.get_many(keys))

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        self._loop.run(self.async_store.set_many(items, ttl=ttl))

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        self._loop.run(self.async_store.set(key, value, ttl=ttl))

    def ttl(self, key: K, /) -> float | None:
        return self._loop.run(self.async_store.ttl(key))

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        self._loop.run(self.async_store.touch(key, ttl=ttl))

    @property
    def supports_ttl(self) -> bool:
        return self.async_store.supports_ttl

    def delete_many(self, keys: Iterable[K], /) -> None:
        self._loop.run(self.async_store.delete_many(keys))

    def set_if_absent(self, key: K, value: V, /) -> bool:
        return self._loop.run(self.async_store.set_if_absent(key, value))

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        return self._loop.run(self.async_store.compare_and_set(key, expected, value))

    @property
    def is_persistent(self) -> bool:
        return self.async_store.is_persistent

    @property
    def is_remote(self) -> bool:
        return self.async_store.is_remote

    @property
    def supports_prefix_listing(self) -> bool:
        return self.async_store.supports_prefix_listing

    @property
    def supports_atomic_writes(self) -> bool:
        return self.async_store.supports_atomic_writes

    def close(self) -> None:
        self._loop.run(self.async_store.aclose())

    def with_keys(self, codec: Codec[K2, K], /) -> Store[K2, V]:
        return Blocking(self.async_store.with_keys(codec), self._loop)

    def with_values(self, codec: Codec[V2, V], /, *, trusted: bool = False) -> Store[K, V2]:
        return Blocking(self.async_store.with_values(codec, trusted=trusted), self._loop)

    def __repr__(self) -> str:
        return f"Blocking({self.async_store!r})"


def sync_store(store: Store[Any, Any]) -> Store[Any, Any]:
    """The sync store under a Blocking facade over an AsyncAdapter or AsyncMemoryStore."""
    from nstore.stores._adapter import SyncBacked

    assert isinstance(store, Blocking)
    backed = store.async_store
    assert isinstance(backed, SyncBacked)
    return backed.store
