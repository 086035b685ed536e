"""AsyncCacheStore: the async :class:`~nstore.wrappers.CacheStore`, over async primary and caches.

It keeps the sync store's consistency rules (see ``_cache.py``), decided by the same code
(``_cache_rules.py``); what differs is only how the calls are made. Writes to the primary are
awaited under a per-stripe ``asyncio.Lock``; every cache write (a write's update, an
invalidation, a fill) is made by one task, in order. Cancellation: a call cancelled while it
waits for room or for a lock has changed nothing; one cancelled while the primary works
invalidates its keys (the primary may or may not have the write), so no read through this store
trusts a cached value the primary may no longer hold. A cache writer task cancelled from outside
(a shutdown handler cancelling every other task) ends after the batch in hand, and the next call
that needs it, or one already waiting for it, starts a new one: nothing hangs, nothing queued is
lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Generic, TypeVar

from nstore.errors import MissingKey
from nstore.wrappers import _cache_rules as rules
from nstore.wrappers._acache_writes import NAME, AsyncCacheWrites
from nstore.wrappers._cache_rules import ASK, CACHED, GONE, HIT
from nstore.wrappers._cache_state import Look, found_only

__all__ = ["AsyncCacheStore"]

K = TypeVar("K")
V = TypeVar("V")


class AsyncCacheStore(AsyncCacheWrites[K, V], Generic[K, V]):
    """An async primary store with one or more async caches in front of it.

    Reads go to the first cache that has the key, else to the primary, and then fill the caches in
    front of the one that answered (the cache writer task makes the fill soon after). Writes are
    awaited on the primary, always; a write then waits until the caches have it, or with
    ``write_behind=True`` returns at once while the task writes the caches. At most
    ``queue_size`` batches wait for the task: writers then wait for room (backpressure), fills
    are dropped. ``flush()`` waits for the queue; ``aclose()`` flushes it, ends the task and
    closes the caches and the primary. Failing caches, statistics and expiry are as in
    :class:`~nstore.wrappers.CacheStore`; :attr:`supports_ttl` is the primary's.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import AsyncMemoryStore
    >>> async def main() -> tuple[bytes, bytes]:
    ...     primary = AsyncMemoryStore[str, bytes]()
    ...     async with AsyncCacheStore(primary, AsyncMemoryStore[str, bytes](), write_behind=True) as cached:
    ...         await cached.set("a", b"1")
    ...         return await cached.get("a"), await primary.get("a")
    >>> asyncio.run(main())
    (b'1', b'1')
    """

    __slots__ = ()

    # -- reads -----------------------------------------------------------------------------------

    async def get(self, key: K, /) -> V:
        if not self._pending:
            return await self._get_from(key, 0)
        answer, value = self._state.lookup(key, NAME)
        if answer == HIT:
            return value  # type: ignore[no-any-return]  # staged by a set as a V
        if answer == GONE:
            raise MissingKey(key)
        return await self._get_from(key, len(self._tier.caches) if answer == ASK else 0)  # ASK: the primary

    async def _get_from(self, key: K, start: int) -> V:
        tier, state = self._tier, self._state
        for index in range(start, len(tier.caches)):
            look = state.look([key]) if index else None  # a hit in the first cache fills nothing
            try:
                value = await tier.get(index, key)
            except KeyError:
                continue
            state.hits += 1
            if look is not None:
                await self._fill_found(look, {key: value}, index)
            return value
        look = state.missed([key])
        value = await self._store.get(key)
        await self._fill_found(look, {key: value}, None)
        return value

    async def _fill_found(self, look: Look[K], got: dict[K, V], upto: int | None) -> None:
        """Offer values read below (from cache ``upto``; None: the primary) to the caches before it."""
        keys, pairs, stripes, seen = found_only(look, got)
        deadlines = (
            [await self._learn(k, upto, look.began) for k in keys] if self._timed else [None] * len(keys)
        )
        self._writer.offer_fill(rules.fills(pairs, deadlines), stripes, seen, upto)

    async def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        found, wanted, unknown = self._state.sort_many(keys, NAME)
        for index in range(len(self._tier.caches)):
            look = self._state.look(wanted)
            got = await self._tier.get_many(index, wanted) if wanted else {}
            found.update(got)
            self._state.hits += len(got)
            if got and index:
                await self._fill_found(look, got, index)
            wanted = [k for k in wanted if k not in got]
        wanted += unknown
        if wanted:
            look = self._state.missed(wanted)
            got = await self._store.get_many(wanted)
            found.update(got)
            await self._fill_found(look, got, None)
        return found

    async def contains(self, key: K, /) -> bool:
        if self._pending:
            answer, _ = self._state.lookup(key, NAME, count=False)
            if answer == ASK:
                return await self._store.contains(key)
            if answer != CACHED:
                return answer == HIT
        for index in range(len(self._tier.caches)):
            if await self._tier.contains(index, key):
                return True
        return await self._store.contains(key)

    def iter_keys(self, prefix: K | None = None) -> AsyncIterator[K]:
        # docstring inherited: the primary is the ground truth for listing
        self._state.check(NAME)
        return self._store.iter_keys(prefix)

    async def ttl(self, key: K, /) -> float | None:
        # docstring inherited: the primary's
        self._state.check(NAME)
        return await self._store.ttl(key)

    def __repr__(self) -> str:
        mode = ", write_behind=True" if self._behind else ""
        caches = ", ".join(repr(c) for c in self._tier.caches)
        return f"AsyncCacheStore({self._store!r}, {caches}{mode})"
