"""AsyncAdapter: any sync :class:`~nstore.Store` as an :class:`~nstore.AsyncStore`, on a bounded thread pool.

Each call runs the sync store's method in one of ``max_workers`` threads of the adapter's own
pool, so blocking I/O (SQLite, files, a sync network client) never stalls the event loop. A call
costs one thread hop (about 0.05-0.1 ms on a loaded 2-core machine, see docs/async.md), whatever
it does: a bulk call (``get_many`` of 100 keys) is one hop, and listing takes one hop per page of
:data:`PAGE` keys. The sync store's semantics (atomicity, durability, errors) are kept as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import islice
from typing import Any, Final, Generic, TypeVar

from nstore._capabilities import ForwardedCapabilities
from nstore.astore import AsyncStore
from nstore.errors import ConfigurationError, StoreClosed
from nstore.store import Store, item_pairs

__all__ = ["PAGE", "AsyncAdapter", "SyncBacked"]

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

PAGE: Final = 256
"""Keys fetched per thread hop while listing."""


class SyncBacked(ForwardedCapabilities, AsyncStore[K, V], Generic[K, V]):
    """An async store serving a sync store's data: its capabilities are that store's."""

    __slots__ = ("_store",)

    def __init__(self, store: Store[K, V]) -> None:
        self._store: Store[K, V] = store

    @property
    def store(self) -> Store[K, V]:
        """The sync store underneath, which sync code may share."""
        return self._store

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r})"


class AsyncAdapter(SyncBacked[K, V], Generic[K, V]):
    """An async store that runs a sync store's calls on a bounded thread pool.

    Parameters
    ----------
    store
        The sync store; :meth:`aclose` closes it.
    max_workers
        Threads in the adapter's pool: at most this many calls run at once; others wait.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import MemoryStore
    >>> async def main() -> bytes:
    ...     async with AsyncAdapter(MemoryStore[str, bytes]()) as store:
    ...         await store.set_many({"a": b"1", "b": b"2"})  # one thread hop
    ...         return await store.get("a")
    >>> asyncio.run(main())
    b'1'
    """

    __slots__ = ("_executor",)

    def __init__(self, store: Store[K, V], *, max_workers: int = 4) -> None:
        given: object = max_workers
        if not isinstance(given, int) or isinstance(given, bool) or not 1 <= given <= 256:
            raise ConfigurationError(f"Expected an integer from 1 to 256 for max_workers. Got {given!r}.")
        super().__init__(store)
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers, thread_name_prefix=f"nstore-{type(store).__name__}"
        )

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)`` in the adapter's pool; the one place the adapter leaves the event loop."""
        executor = self._executor
        if executor is None:
            raise StoreClosed(f"This async {type(self._store).__name__} is closed; open a new one.")
        return await asyncio.get_running_loop().run_in_executor(executor, partial(fn, *args))

    # -- the store's calls, one hop each -----------------------------------------------------------

    async def get(self, key: K, /) -> V:
        return await self._run(self._store.__getitem__, key)

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        if ttl is None:
            await self._run(self._store.__setitem__, key, value)
        else:
            await self._run(partial(self._store.set, key, value, ttl=ttl))

    async def ttl(self, key: K, /) -> float | None:
        return await self._run(self._store.ttl, key)

    async def touch(self, key: K, /, *, ttl: float | None) -> None:
        await self._run(partial(self._store.touch, key, ttl=ttl))

    async def delete(self, key: K, /) -> None:
        await self._run(self._store.__delitem__, key)

    async def contains(self, key: K, /) -> bool:
        return await self._run(self._store.__contains__, key)

    async def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        return await self._run(self._store.get_many, list(keys))

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        pairs = list(item_pairs(items))
        await self._run(partial(self._store.set_many, pairs, ttl=ttl))

    async def delete_many(self, keys: Iterable[K], /) -> None:
        await self._run(self._store.delete_many, list(keys))

    async def set_if_absent(self, key: K, value: V, /) -> bool:
        return await self._run(self._store.set_if_absent, key, value)

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        return await self._run(self._store.compare_and_set, key, expected, value)

    async def iter_keys(self, prefix: K | None = None) -> AsyncIterator[K]:
        # docstring inherited; one hop per PAGE keys
        keys: Iterator[K] = await self._run(self._store.iter_keys, prefix)
        while True:
            page = await self._run(lambda: list(islice(keys, PAGE)))
            for key in page:
                yield key
            if len(page) < PAGE:
                return

    async def aclose(self) -> None:
        """Close the sync store (in the pool, as it may block), then the pool; idempotent."""
        executor = self._executor
        if executor is None:
            return
        try:
            await self._run(self._store.close)
        finally:
            self._executor = None
            executor.shutdown(wait=False)
