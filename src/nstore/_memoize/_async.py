"""``AsyncMemoized``: an async function memoized in an :class:`~nstore.AsyncStore`: its hit path,
and how it awaits the operations of the steps it shares with :class:`~nstore.Memoized`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic

from nstore._memoize import _leases as ops
from nstore._memoize._core import CLEAR_BATCH, Decorator, Done, K, MemoBase, P, R, step
from nstore._memoize._settings import Settings
from nstore.astore import AsyncStore

__all__ = ["AsyncMemoized", "AsyncMemoizer"]


class AsyncMemoized(MemoBase[P, K, R, Coroutine[Any, Any, R]]):
    """An async function whose results are kept in an async store: made by :func:`~nstore.memoize`.

    Awaiting it returns the stored value of its arguments' key, or computes it once, however
    many tasks (of any event loop or thread; with leases, of any process) ask at the same time.
    A cancelled caller cancels only itself: if it was computing, a waiting caller computes.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import AsyncMemoryStore, memoize
    >>> @memoize(AsyncMemoryStore[str, int]())
    ... async def length(text: str) -> int:
    ...     await asyncio.sleep(0.01)
    ...     return len(text)
    >>> async def main() -> None:
    ...     print(await asyncio.gather(*(length("abc") for _ in range(100))))
    ...     print(length.cache_info().computations)
    >>> asyncio.run(main())  # doctest: +ELLIPSIS
    [3, 3, ..., 3]
    1
    """

    def __init__(self, store: AsyncStore[K, R], fn: Callable[P, Awaitable[R]], settings: Settings) -> None:
        super().__init__(fn, settings, asynchronous=True)
        self._store = store
        self._get = store.get
        self._targets: dict[str, Any] = {"values": store, "leases": settings.leases, "function": fn}

    async def __call__(self, /, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._key(args, kwargs)
        try:
            value = await self._get(key)
        except KeyError:
            return await self._run(self._miss(key, args, kwargs))  # type: ignore[no-any-return]  # an R
        self._counters.hits += 1
        return value

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Delete the stored value (and cached error) of a call with these arguments, if any."""
        await self._store.delete_many([self._forget(self._key(args, kwargs))])

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

    async def _run(self, steps: ops.Steps) -> Any:
        answer, error = None, None
        while not isinstance(op := step(steps, answer, error), Done):
            try:
                answer, error = await self._do(op), None
            except BaseException as exc:  # thrown into the steps, which decide (cancellation too)
                answer, error = None, exc
        return op.value

    async def _do(self, op: ops.Op) -> Any:
        if isinstance(op, ops.Call):
            return await getattr(self._targets[op.target], op.method)(*op.args, **op.kwargs)
        if isinstance(op, ops.Read):
            try:
                return await self._targets[op.target].get(op.key)
            except KeyError:
                return ops.MISSING
        if isinstance(op, ops.Wait):
            # shielded: a cancelled waiter must not cancel the flight the others wait for
            return await asyncio.shield(asyncio.wrap_future(op.flight))
        await asyncio.sleep(op.seconds)
        return time.time()


class AsyncMemoizer(Decorator[AsyncStore[K, R]], Generic[K, R]):
    """The decorator :func:`~nstore.memoize` returns for an :class:`~nstore.AsyncStore`."""

    __slots__ = ()

    def __call__(self, fn: Callable[P, Awaitable[R]], /) -> AsyncMemoized[P, K, R]:
        return AsyncMemoized(self._store, fn, self._settings)
