"""The cache writer of an AsyncCacheStore: one task that makes every cache write, in order.

Writers reserve room in the queue (before the primary write, so a full queue holds them back and a
cancelled wait has changed nothing), stage their write as a pending entry right after the primary
answered, and queue ``(key, seq)``; the task applies the newest pending entry of each key to every
cache and only then forgets it, as the sync worker thread does (``_behind.py``). Fills are queued
while there is room, and dropped otherwise. Without write-behind the writer awaits its batch;
with it, only the room. Both take their decisions from ``_cache_rules.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from nstore.wrappers._atier import AsyncTier
from nstore.wrappers._cache_rules import Pending
from nstore.wrappers._cache_state import CacheState

__all__ = ["AsyncWriter"]

K = TypeVar("K")
V = TypeVar("V")

_STOP: Any = object()


class AsyncWriter(Generic[K, V]):
    """The queue of cache writes and the task that applies them (started on first use)."""

    def __init__(self, tier: AsyncTier[K, V], state: CacheState[K], queue_size: int) -> None:
        self.tier = tier
        self.state = state
        self.size = queue_size
        self.queue: asyncio.Queue[Any] = asyncio.Queue()  # bounded by ``room``
        self.room = asyncio.Semaphore(queue_size)
        self.task: asyncio.Task[None] | None = None

    def _start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run(), name="nstore-cache-writer")

    # -- called by writers and readers -----------------------------------------------------------

    async def reserve(self) -> None:
        """Wait for room for one batch (backpressure); the write then must :meth:`enqueue` or
        :meth:`unreserve`."""
        await self.room.acquire()

    def unreserve(self) -> None:
        self.room.release()

    def enqueue(self, batch: list[tuple[K, int]], *, wait: bool) -> asyncio.Future[None] | None:
        """Queue a staged batch in the room reserved for it; with ``wait``, a future of its end."""
        self._start()
        done = asyncio.get_running_loop().create_future() if wait else None
        self.queue.put_nowait((batch, done))
        return done

    def offer_fill(
        self, entries: list[tuple[K, Pending]], stripes: list[int], seen: list[int], upto: int | None
    ) -> None:
        """Queue a cache fill, or drop it when the queue is full: a fill is only an optimisation."""
        if entries and self.queue.qsize() < self.size:
            self._start()
            self.queue.put_nowait((entries, stripes, seen, upto))

    def report(self, done: asyncio.Future[None]) -> None:
        """A waited batch whose writer was cancelled: its error goes to the next caller."""
        if not done.cancelled() and done.exception() is not None:
            self.state.failed(done.exception())  # type: ignore[arg-type]  # not None: checked

    async def drain(self) -> None:
        """Wait until every queued write has been applied (or has failed)."""
        if self.task is not None:
            await self.queue.join()

    async def stop(self) -> None:
        """Drain, then end the task. Idempotent."""
        task, self.task = self.task, None
        if task is not None:
            await self.queue.join()
            self.queue.put_nowait(_STOP)
            await task

    # -- the task --------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            item = await self.queue.get()
            if item is _STOP:
                self.queue.task_done()
                return
            done = item[1] if len(item) == 2 else None
            try:
                if len(item) == 2:
                    await self._apply(item[0])
                else:
                    entries, stripes, seen, upto = item
                    await self.tier.apply(self.state.fresh(entries, stripes, seen), upto)
            except Exception as exc:  # to the writer who waits, else to the next caller
                if done is None:
                    self.state.failed(exc)
                else:
                    done.set_exception(exc)
            else:
                if done is not None:
                    done.set_result(None)
            finally:
                self.queue.task_done()

    async def _apply(self, batch: list[tuple[K, int]]) -> None:
        current = self.state.current(batch)
        try:
            await self.tier.apply(current)
        finally:
            # Forget an entry only after the caches have it, and only if no newer write replaced it.
            self.state.forget(current)
            self.room.release()
