"""The cache writer of an AsyncCacheStore: one task that makes every cache write, in order.

Writers reserve room in the queue (before the primary write, so a full queue holds them back and a
cancelled wait has changed nothing), stage their write as a pending entry right after the primary
answered, and queue ``(key, seq)``; the task applies the newest pending entry of each key to every
cache and only then forgets it, as the sync worker thread does (``_behind.py``). Fills are queued
while there is room, and dropped otherwise. Without write-behind the writer awaits its batch;
with it, only the room. Both take their decisions from ``_cache_rules.py``.

The task may be cancelled from outside (a shutdown handler that cancels every other task): it then
ends once the batch in hand is applied (the tier gives every cache its call, cancelled or not),
and whoever next needs it, a writer, a fill, a writer or flush already waiting, or ``aclose()``,
starts a new one, which applies the writes still queued. Nothing waits for a task that has ended.
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

    def _start(self) -> asyncio.Task[None]:
        """The writer task: the running one, or a new one if there is none or it has ended."""
        task = self.task
        if task is None or task.done():
            task = self.task = asyncio.get_running_loop().create_task(self._run(), name="nstore-cache-writer")
        return task

    async def _wait(self, waited: asyncio.Future[Any]) -> None:
        """Wait until ``waited`` is done, starting a new writer task whenever the current one ends
        first; cancelling this wait leaves ``waited`` as it is."""
        while not waited.done():
            await asyncio.wait((waited, self._start()), return_when=asyncio.FIRST_COMPLETED)

    # -- called by writers and readers -----------------------------------------------------------

    async def reserve(self) -> None:
        """Wait for room for one batch (backpressure); the write then must :meth:`enqueue` or
        :meth:`unreserve`."""
        if not self.room.locked():
            await self.room.acquire()  # room now: returns at once
            return
        acquired = asyncio.ensure_future(self.room.acquire())  # the queue is full: the task frees room
        try:
            await self._wait(acquired)
        except BaseException:
            if acquired.done() and not acquired.cancelled() and acquired.exception() is None:
                self.room.release()  # got the room, but the caller will not use it
            acquired.cancel()
            raise

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

    async def settle(self, done: asyncio.Future[None]) -> None:
        """Wait until the caches have a batch queued with ``wait``; raise its error, if any."""
        await self._wait(done)
        done.result()

    def report(self, done: asyncio.Future[None]) -> None:
        """A waited batch whose writer was cancelled: its error goes to the next caller."""
        if not done.cancelled() and done.exception() is not None:
            self.state.failed(done.exception())  # type: ignore[arg-type]  # not None: checked

    async def drain(self) -> None:
        """Wait until every queued write has been applied (or has failed)."""
        if self.task is not None:
            joined = asyncio.ensure_future(self.queue.join())
            try:
                await self._wait(joined)
            finally:
                joined.cancel()

    async def stop(self) -> None:
        """Drain, then end the task. Idempotent."""
        if self.task is None:
            return
        await self.drain()
        task = self._forget_task()
        if task is not None and not task.done():  # None: a concurrent stop() ended it
            self.queue.put_nowait(_STOP)
            await asyncio.wait((task,))  # ends even if the task is cancelled meanwhile

    def _forget_task(self) -> asyncio.Task[None] | None:
        task, self.task = self.task, None
        return task

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
            except asyncio.CancelledError:  # the caches had their calls all the same: end here
                if done is not None:
                    done.set_result(None)
                raise
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
