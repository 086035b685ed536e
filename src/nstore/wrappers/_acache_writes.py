"""The writing half of AsyncCacheStore: construction, writes to the primary and the caches, life cycle.

:class:`~nstore.wrappers.AsyncCacheStore` adds the reads (``_acache.py``); the decisions are in
``_cache_rules.py``, shared with the sync :class:`~nstore.wrappers.CacheStore`. Every cache write
is made by one task (``_abehind.py``), so writes to the caches never overtake one another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from typing import Any, Generic, TypeVar, cast

from nstore._expiry import unsupported_ttl
from nstore.astore import AsyncStore
from nstore.store import item_pairs
from nstore.wrappers import _cache_rules as rules
from nstore.wrappers._abehind import AsyncWriter
from nstore.wrappers._aforwarding import AsyncForwardingStore
from nstore.wrappers._atier import AsyncTier
from nstore.wrappers._cache_rules import DELETE, SET, STRIPES, TOUCH, clock
from nstore.wrappers._cache_state import CacheState
from nstore.wrappers._stripes import CacheStats, Locked

__all__ = ["AsyncCacheWrites"]

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

NAME = "AsyncCacheStore"


class _Held:
    """Hold the asyncio locks of some stripes, in index order; a cancelled wait holds none."""

    def __init__(self, locks: tuple[asyncio.Lock, ...], stripes: list[int]) -> None:
        self._locks = [locks[s] for s in sorted(set(stripes))]
        self._taken: list[asyncio.Lock] = []

    async def __aenter__(self) -> None:
        try:
            for lock in self._locks:
                await lock.acquire()
                self._taken.append(lock)
        except BaseException:
            self._release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        while self._taken:
            self._taken.pop().release()


class AsyncCacheWrites(AsyncForwardingStore[K, V], Generic[K, V]):
    """An async primary store and its caches, written together; the base of AsyncCacheStore."""

    __slots__ = ("_behind", "_pending", "_state", "_stripe_locks", "_tier", "_timed", "_writer")

    def __init__(
        self,
        primary: AsyncStore[K, V],
        cache: AsyncStore[K, V],
        *more_caches: AsyncStore[K, V],
        write_behind: bool = False,
        queue_size: int = 1024,
        count_hits: bool = False,
        logger: logging.Logger | None = None,
    ) -> None:
        rules.check_parts(AsyncStore, primary, (cache, *more_caches), queue_size)
        super().__init__(primary)
        self._tier: AsyncTier[K, V] = AsyncTier(
            (cache, *more_caches), logger or logging.getLogger("nstore.cache")
        )
        self._state: CacheState[K] = CacheState(bool(count_hits))
        self._pending = self._state.pending
        self._timed = bool(primary.supports_ttl)
        self._behind = bool(write_behind)
        self._stripe_locks = tuple(asyncio.Lock() for _ in range(STRIPES))
        self._writer: AsyncWriter[K, V] = AsyncWriter(self._tier, self._state, queue_size)

    @property
    def caches(self) -> tuple[AsyncStore[K, V], ...]:
        """The caches, in lookup order."""
        return self._tier.caches

    @property
    def stats(self) -> CacheStats:
        """Hits (None unless ``count_hits=True``), misses, cache failures, writes not yet in the caches."""
        return self._state.stats(self._tier)

    async def _learn(self, key: K, source: int | None, began: float) -> float | None:
        """The deadline of a value read from ``source`` (a cache's index; None: the primary)."""
        if source is not None and not self._tier.timed[source]:
            return None  # an untimed cache holds only values that never expire
        store = self._store if source is None else self._tier.caches[source]
        try:
            return rules.learned(await store.ttl(key), began)
        except KeyError:
            return rules.PAST  # expired meanwhile

    # -- writes ----------------------------------------------------------------------------------

    async def _write(
        self,
        keys: list[K],
        op: int,
        values: list[Any],
        call: Callable[[], Awaitable[R]],
        deadline: float | None = None,
    ) -> R:
        """Await ``call`` on the primary under the keys' stripe locks, then stage and queue the
        caches' update; without write-behind, wait until the caches have it.

        A write that raised or was cancelled (it may have reached the primary), or a conditional
        write that did not happen, invalidates its keys: reads ask the primary until the caches
        have forgotten them. A cancelled wait for room or for a lock has written nothing.
        """
        state, writer = self._state, self._writer
        state.check(NAME)
        stripes = state.stripes(keys)
        failure: BaseException | None = None
        result: R | None = None
        deadlines = [deadline] * len(keys)
        await writer.reserve()
        try:
            async with _Held(self._stripe_locks, stripes):
                began = clock()
                try:
                    result = await call()
                    if op == SET and deadline is None and self._timed:
                        deadlines = [await self._learn(k, None, began) for k in keys]
                except BaseException as exc:  # re-raised below, once the keys are invalidated
                    failure = exc
                entries = state.entries(keys, rules.settled(op, failure, result), values, deadlines)
                state.wrote(stripes)
                with Locked(state.locks, stripes):
                    batch = state.stage(entries)
        except BaseException:
            writer.unreserve()  # no lock, nothing written
            raise
        done = writer.enqueue(batch, wait=not self._behind and failure is None)
        if failure is not None:
            raise failure
        if done is not None:
            try:
                await writer.settle(done)
            except asyncio.CancelledError:
                done.add_done_callback(writer.report)  # the primary and the pending entry have it
                raise
        return cast("R", result)  # call() returned it

    def _deadline(self, ttl: float | None) -> float | None:
        if ttl is not None and not self._timed:
            raise unsupported_ttl(self)
        return rules.deadline_of(ttl, clock())

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        # docstring inherited; the cached copy expires with the primary's value
        deadline = self._deadline(ttl)
        await self._write([key], SET, [value], partial(self._store.set, key, value, ttl=ttl), deadline)

    async def delete(self, key: K, /) -> None:
        await self._write([key], DELETE, [None], partial(self._store.delete, key))

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        deadline = self._deadline(ttl)
        pairs = list(item_pairs(items))
        if pairs:
            call = partial(self._store.set_many, pairs, ttl=ttl)
            await self._write([k for k, _ in pairs], SET, [v for _, v in pairs], call, deadline)

    async def delete_many(self, keys: Iterable[K], /) -> None:
        doomed = list(keys)
        if doomed:
            await self._write(doomed, DELETE, [None] * len(doomed), partial(self._store.delete_many, doomed))

    async def touch(self, key: K, /, *, ttl: float | None) -> None:
        # docstring inherited; the caches get the new deadline, or forget the key
        if not self._timed:
            raise unsupported_ttl(self)
        deadline = self._deadline(ttl)
        await self._write([key], TOUCH, [None], partial(self._store.touch, key, ttl=ttl), deadline)

    async def set_if_absent(self, key: K, value: V, /) -> bool:
        return await self._write([key], SET, [value], partial(self._store.set_if_absent, key, value))

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        call = partial(self._store.compare_and_set, key, expected, value)
        return await self._write([key], SET, [value], call)

    # -- life cycle ------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until every queued cache write is applied; raise a cache writer error, if any."""
        await self._writer.drain()
        self._state.check(NAME)

    async def aclose(self) -> None:
        """Apply every queued cache write, end the writer task, close the caches and the primary.

        Idempotent. A cache writer error not yet reported is raised after everything is closed.
        """
        state = self._state
        if state.closed:
            return
        await self._writer.stop()
        state.close()
        for cache in self._tier.caches:
            await cache.aclose()
        await self._store.aclose()
        if state.errors:
            raise state.errors.popleft()
