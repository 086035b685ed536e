"""AsyncMemoryStore: the async API over a :class:`~nstore.MemoryStore`, served on the event loop.

Every operation is a dictionary operation of microseconds, so it runs in the calling task with no
thread hop; the sync store underneath (:attr:`~AsyncMemoryStore.store`) holds the same data, so
sync and async code in one process can share it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Generic, TypeVar

from nstore.errors import ConfigurationError
from nstore.stores._adapter import SyncBacked
from nstore.stores._memory_expiry import Clock
from nstore.stores.memory import MemoryStore

__all__ = ["AsyncMemoryStore"]

K = TypeVar("K")
V = TypeVar("V")


class AsyncMemoryStore(SyncBacked[K, V], Generic[K, V]):
    """An in-memory async store; the parameters are :class:`~nstore.MemoryStore`'s.

    Parameters
    ----------
    data, maxsize, maxbytes, ttl, clock
        As for :class:`~nstore.MemoryStore` (bounds make it an LRU / TTL cache; any key can
        expire with ``set(key, value, ttl=)``).
    store
        Serve this existing MemoryStore instead of a new one (then give no other parameter).

    Examples
    --------
    >>> import asyncio
    >>> async def main() -> None:
    ...     store = AsyncMemoryStore[str, int]({"a": 1})
    ...     print(await store.compare_and_set("a", 1, 2), await store.get("a"), store.store["a"])
    >>> asyncio.run(main())
    True 2 2
    >>> async def expiring() -> None:
    ...     store = AsyncMemoryStore[str, int]()
    ...     await store.set("session", 7, ttl=30)
    ...     print(29 < await store.ttl("session") <= 30, store.store.ttl("session") is not None)
    >>> asyncio.run(expiring())
    True True
    """

    __slots__ = ("_memory",)

    def __init__(
        self,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        *,
        maxsize: int | None = None,
        maxbytes: int | None = None,
        ttl: float | None = None,
        clock: Clock = time.monotonic,
        store: MemoryStore[K, V] | None = None,
    ) -> None:
        if store is None:
            memory = MemoryStore[K, V](data, maxsize=maxsize, maxbytes=maxbytes, ttl=ttl, clock=clock)
        elif not isinstance(store, MemoryStore):
            raise ConfigurationError(
                f"Expected a MemoryStore for store=. Got {type(store).__name__} instead: "
                "AsyncAdapter(store) serves any other sync store."
            )
        elif data != () or (maxsize, maxbytes, ttl) != (None, None, None) or clock is not time.monotonic:
            raise ConfigurationError(
                "Expected store= alone: the MemoryStore given has its own data, bounds and clock. "
                "Give them to MemoryStore(...), or leave store= out."
            )
        else:
            memory = store
        super().__init__(memory)
        self._memory = memory

    async def get(self, key: K, /) -> V:
        return self._memory[key]

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        self._memory.set(key, value, ttl=ttl)

    async def ttl(self, key: K, /) -> float | None:
        return self._memory.ttl(key)

    async def touch(self, key: K, /, *, ttl: float | None) -> None:
        self._memory.touch(key, ttl=ttl)

    async def purge_expired(self) -> int:
        """Drop every expired entry now; return how many (see :meth:`MemoryStore.purge_expired`)."""
        return self._memory.purge_expired()

    async def delete(self, key: K, /) -> None:
        del self._memory[key]

    async def contains(self, key: K, /) -> bool:
        return key in self._memory

    async def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        return self._memory.get_many(keys)

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        self._memory.set_many(items, ttl=ttl)

    async def delete_many(self, keys: Iterable[K], /) -> None:
        self._memory.delete_many(keys)

    async def set_if_absent(self, key: K, value: V, /) -> bool:
        return self._memory.set_if_absent(key, value)

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        return self._memory.compare_and_set(key, expected, value)

    async def iter_keys(self, prefix: K | None = None) -> AsyncIterator[K]:
        # docstring inherited; MemoryStore lists a snapshot, so writes meanwhile never break it
        for key in self._memory.iter_keys(prefix):
            yield key

    async def aclose(self) -> None:
        self._memory.close()
