"""``AsyncMemoized``: an async function memoized in an :class:`~nstore.AsyncStore`; its I/O over
the steps it shares with :class:`~nstore.Memoized`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, ParamSpec, TypeVar, cast

from nstore._memoize._core import CLEAR_BATCH, MemoBase
from nstore._memoize._flights import Abandoned
from nstore._memoize._leases import (
    MISSING,
    DeleteLease,
    Op,
    ReadLease,
    ReadValue,
    SwapLease,
    TryLease,
    lease_key,
    release,
)
from nstore._memoize._settings import Settings
from nstore.astore import AsyncStore

__all__ = ["AsyncMemoized", "AsyncMemoizer"]

P = ParamSpec("P")
K = TypeVar("K")
R = TypeVar("R")
T = TypeVar("T")


class AsyncMemoized(MemoBase[P, K, R]):
    """An async function whose results are kept in an async store: made by :func:`~nstore.memoize`.

    Awaiting it returns the stored value of its arguments' key, or computes it once, however
    many tasks (of any event loop or thread; with leases, of any process) ask at the same time.
    A cancelled caller cancels only itself: if it was computing, a waiting caller computes.
    """

    def __init__(self, store: AsyncStore[K, R], fn: Callable[P, Awaitable[R]], settings: Settings) -> None:
        super().__init__(fn, settings, asynchronous=True)
        self._store = store
        self._get = store.get
        self._leases: AsyncStore[str, bytes] | None = settings.leases

    async def __call__(self, /, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._key(args, kwargs)
        try:
            value = await self._get(key)
        except KeyError:
            return await self._miss(key, args, kwargs)
        self._counters.hits += 1
        return value

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Delete the stored value (and cached error) of a call with these arguments, if any."""
        key = self._key(args, kwargs)
        self._forget(key)
        await self._store.delete_many([key])

    async def cache_clear(self) -> None:
        """Delete every stored value of this function (all processes'), and reset the counts.

        As :meth:`Memoized.cache_clear <nstore.Memoized.cache_clear>`: not with ``key=``.
        """
        prefix, ours = self._clear_prefix()
        batch: list[K] = []
        async for key in self._store.iter_keys(prefix):  # type: ignore[arg-type]  # K is str here
            if ours(key):
                batch.append(key)
            if len(batch) >= CLEAR_BATCH:
                await self._store.delete_many(batch)
                batch = []
        await self._store.delete_many(batch)
        self._cleared()

    # -- the miss path ---------------------------------------------------------------------------

    async def _miss(self, key: K, args: Any, kwargs: Any) -> R:
        self._counters.count(misses=1)
        if self._errors is not None:
            self._raise_kept(key)
        while True:
            flight, leading = self._flights.join(key)
            if leading:
                break
            self._counters.count(waits=1)
            try:
                # shield: a cancelled waiter must not cancel the flight the others wait for
                value: R = await asyncio.shield(asyncio.wrap_future(flight))
            except Abandoned:
                continue
            return value
        try:
            value = await self._lead(key, args, kwargs)
        except BaseException as error:
            self._flights.land(key, flight, error=error)
            raise
        self._flights.land(key, flight, value)
        return value

    async def _lead(self, key: K, args: Any, kwargs: Any) -> R:
        outcome = await self._run(self._steps(key))
        order = self._counted(outcome)
        if order is None:
            found: R = outcome.value  # type: ignore[union-attr]  # a Found, as _counted said
            return found
        try:
            try:
                value: R = await self._fn(*args, **kwargs)
            except BaseException as error:
                self._failed(key, error)
                raise
            await self._store.set(key, value, ttl=self._ttl)
            return value
        finally:
            if order.lease is not None:
                await self._run(release(lease_key(key), order.lease))

    async def _run(self, steps: Generator[Op, Any, T]) -> T:
        answer: Any = None
        while True:
            try:
                op = steps.send(answer)
            except StopIteration as done:
                result: T = done.value
                return result
            answer = await self._do(op)

    async def _do(self, op: Op) -> Any:
        if isinstance(op, ReadValue):
            try:
                return await self._store.get(op.key)
            except KeyError:
                return MISSING
        leases = cast("AsyncStore[str, bytes]", self._leases)  # only steps with leases= ask for these
        if isinstance(op, TryLease):
            return await leases.set_if_absent(op.key, op.record)
        if isinstance(op, ReadLease):
            try:
                return await leases.get(op.key)
            except KeyError:
                return None
        if isinstance(op, SwapLease):
            return await leases.compare_and_set(op.key, op.old, op.new)
        if isinstance(op, DeleteLease):
            return await leases.delete_many([op.key])
        await asyncio.sleep(op.seconds)
        return time.time()


class AsyncMemoizer(Generic[K, R]):
    """The decorator :func:`~nstore.memoize` returns for an :class:`~nstore.AsyncStore`."""

    __slots__ = ("_settings", "_store")

    def __init__(self, store: AsyncStore[K, R], settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def __call__(self, fn: Callable[P, Awaitable[R]], /) -> AsyncMemoized[P, K, R]:
        return AsyncMemoized(self._store, fn, self._settings)
