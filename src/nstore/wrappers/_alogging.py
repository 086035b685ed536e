"""AsyncLoggingStore: the access log of :class:`~nstore.wrappers.LoggingStore`, over an async store.

Its records are the sync store's, field for field (``_records.py`` decides them for both); only
the calls to the wrapped store are awaited. A cancelled call is logged with
``error="CancelledError"``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Generic, TypeVar

from nstore.astore import AsyncStore
from nstore.store import item_pairs
from nstore.wrappers._aforwarding import AsyncForwardingStore
from nstore.wrappers._records import Logs, found, got, hit, size_of, target, total_size

__all__ = ["AsyncLoggingStore"]

K = TypeVar("K")
V = TypeVar("V")


class AsyncLoggingStore(Logs, AsyncForwardingStore[K, V], Generic[K, V]):
    """Log one record per operation of an async store, as :class:`~nstore.wrappers.LoggingStore` does.

    Same ``logger`` (default ``nstore.access``), ``level`` and record fields
    (:data:`~nstore.wrappers._records.FIELDS`); the level is checked exactly on every call.

    Examples
    --------
    >>> import asyncio, logging
    >>> from nstore import AsyncMemoryStore
    >>> async def main() -> bytes:
    ...     store = AsyncLoggingStore(AsyncMemoryStore[str, bytes](), logging.getLogger("doc.access"))
    ...     await store.set("a", b"1")
    ...     return await store.get("a")
    >>> asyncio.run(main())
    b'1'
    """

    __slots__ = ("_level", "_logger")

    def __init__(
        self, store: AsyncStore[K, V], logger: logging.Logger | None = None, level: int | str = logging.DEBUG
    ) -> None:
        super().__init__(store)
        self._logger, self._level = target(logger, level)

    # -- single keys -----------------------------------------------------------------------------

    async def get(self, key: K, /) -> V:
        if self._quiet():
            return await self._store.get(key)
        with self._access("get", key=key) as access:
            value = await self._store.get(key)
            access.done(got(value))
        return value

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        if self._quiet():
            await self._store.set(key, value, ttl=ttl)
            return
        with self._access("set", key=key, size=size_of(value), ttl=ttl):
            await self._store.set(key, value, ttl=ttl)

    async def delete(self, key: K, /) -> None:
        if self._quiet():
            await self._store.delete(key)
            return
        with self._access("delete", key=key) as access:
            await self._store.delete(key)
            access.done(found(None))

    async def contains(self, key: K, /) -> bool:
        if self._quiet():
            return await self._store.contains(key)
        with self._access("contains", key=key) as access:
            answer = await self._store.contains(key)
            access.done(hit(answer))
        return answer

    async def ttl(self, key: K, /) -> float | None:
        if self._quiet():
            return await self._store.ttl(key)
        with self._access("ttl", key=key) as access:
            left = await self._store.ttl(key)
            access.done({"hit": True, "ttl": left})
        return left

    async def touch(self, key: K, /, *, ttl: float | None) -> None:
        if self._quiet():
            await self._store.touch(key, ttl=ttl)
            return
        with self._access("touch", key=key, ttl=ttl) as access:
            await self._store.touch(key, ttl=ttl)
            access.done(found(None))

    # -- bulk and conditional ----------------------------------------------------------------

    async def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        if self._quiet():
            return await self._store.get_many(keys)
        wanted = list(keys)
        with self._access("get_many", count=len(wanted)) as access:
            answer = await self._store.get_many(wanted)
            access.done({"hit": len(answer) == len(set(wanted)), "size": total_size(answer.values())})
        return answer

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        if self._quiet():
            await self._store.set_many(items, ttl=ttl)
            return
        pairs = list(item_pairs(items))
        size = total_size(v for _, v in pairs)
        with self._access("set_many", count=len(pairs), size=size, ttl=ttl):
            await self._store.set_many(pairs, ttl=ttl)

    async def delete_many(self, keys: Iterable[K], /) -> None:
        if self._quiet():
            await self._store.delete_many(keys)
            return
        doomed = list(keys)
        with self._access("delete_many", count=len(doomed)):
            await self._store.delete_many(doomed)

    async def set_if_absent(self, key: K, value: V, /) -> bool:
        if self._quiet():
            return await self._store.set_if_absent(key, value)
        with self._access("set_if_absent", key=key, size=size_of(value)) as access:
            stored = await self._store.set_if_absent(key, value)
            access.done(hit(stored))
        return stored

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        if self._quiet():
            return await self._store.compare_and_set(key, expected, value)
        with self._access("compare_and_set", key=key, size=size_of(value)) as access:
            stored = await self._store.compare_and_set(key, expected, value)
            access.done(hit(stored))
        return stored

    # -- listing -------------------------------------------------------------------------------

    def iter_keys(self, prefix: K | None = None) -> AsyncIterator[K]:
        # docstring inherited
        keys = self._store.iter_keys(prefix)
        return keys if self._quiet() else self._logged_listing(keys, prefix)

    async def _logged_listing(self, keys: AsyncIterator[K], prefix: K | None) -> AsyncIterator[K]:
        # One record when the listing ends (exhausted, closed or failed), with the count seen.
        with self._access("list", key=prefix, count=0) as access:
            async for key in keys:
                access.listed()
                yield key
