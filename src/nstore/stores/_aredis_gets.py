"""Gets sent together: the single-key gets that tasks start in one turn of the event loop travel
as one batch of ``GET`` commands on one connection per server (the DataLoader pattern).

Why: on loopback a get's cost is the client's CPU time (about 45 µs in redis.asyncio), not the
round trip, so 1,000 gets from 1,000 tasks each on a connection of their own take as long as
1,000 gets awaited in turn. Sent as one batch, they take one write, one read of every reply and
one round trip.

How: a get with nothing else under way goes at once, by itself, exactly as a plain ``GET``, so
gets awaited one by one pay nothing. A get started while another is under way opens a batch and
schedules its sending for the end of the current turn of the loop (``call_soon``); the gets that
start meanwhile join it and wait on a future each. So 1,000 gathered gets travel as the first
alone and 999 in one batch. The batch runs in a task of its own, which no caller cancels: a
cancelled or timed-out get only stops waiting for its future, and the batch still reads every
reply before its connection is reused. Each caller gets its own reply: its value,
None, or the error reply of its own key (``GET`` of a key holding a list fails for that key
only); a failure of the whole batch (a lost connection, after the store's retries) is raised to
each caller, naming its key.
"""

from __future__ import annotations

import asyncio
from asyncio import Future
from collections.abc import Awaitable, Callable
from typing import Any

from nstore.errors import NStoreError
from nstore.stores._redis_retry import failure
from nstore.stores._redis_route import CHUNK

__all__ = ["GetBatches"]

#: One waiting get: its Redis key, its store key and the future its caller awaits.
_Waiter = tuple[bytes, str, "Future[bytes | None]"]


class GetBatches:
    """The gets of one store, gathered into batches.

    ``alone(rkey, key)`` runs one get by itself; ``together(rkeys)`` runs the ``GET`` of each key
    in one batch (with the store's retries) and returns one reply per key: the value, None, or the
    redis-py error reply for that key.
    """

    __slots__ = ("_alone", "_alone_running", "_open", "_running", "_together")

    def __init__(
        self,
        alone: Callable[[bytes, str], Awaitable[bytes | None]],
        together: Callable[[list[bytes]], Awaitable[list[Any]]],
    ) -> None:
        self._alone = alone
        self._together = together
        self._open: list[_Waiter] | None = None  # the batch that gets of this turn join
        self._alone_running = 0
        self._running: set[asyncio.Task[None]] = set()  # strong references: the loop keeps weak ones

    async def get(self, rkey: bytes, key: str) -> bytes | None:
        """The value of ``rkey`` (None if absent), read alone or with the gets of the same turn."""
        batch = self._open
        if batch is None:
            if not self._alone_running and not self._running:
                self._alone_running += 1  # nothing under way: this get goes at once, by itself
                try:
                    return await self._alone(rkey, key)
                finally:
                    self._alone_running -= 1
            # Another get is under way: this one and those of the same turn go together, sent once
            # every task that is ready to run has run.
            batch = self._open = []
            asyncio.get_running_loop().call_soon(self._send)
        future: Future[bytes | None] = asyncio.get_running_loop().create_future()
        batch.append((rkey, key, future))
        return await future

    def _send(self) -> None:
        batch, self._open = self._open, None
        for start in range(0, len(batch or ()), CHUNK):
            task = asyncio.ensure_future(self._run((batch or [])[start : start + CHUNK]))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def wait(self) -> None:
        """Wait until every batch started or about to be sent has its replies (before the client
        closes)."""
        while self._open is not None or self._running:
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            else:
                await asyncio.sleep(0)  # the open batch is sent at the end of this turn

    async def _run(self, batch: list[_Waiter]) -> None:
        try:
            replies = await self._together([rkey for rkey, _, _ in batch])
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            for _, key, future in batch:
                if not future.done():
                    future.set_exception(_own_error(exc, key))
            return
        for (_, key, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue  # its caller was cancelled or timed out
            if isinstance(reply, Exception):
                future.set_exception(failure(reply, f"reading {key!r}", False))
            else:
                future.set_result(reply)


def _own_error(exc: Exception, key: str) -> BaseException:
    """The error of one caller of a batch that failed with ``exc``: a fresh one naming its key."""
    cause = exc.__cause__
    if isinstance(exc, NStoreError) and cause is not None:
        error = failure(cause, f"reading {key!r}", False)
        error.__cause__ = cause
        return error
    return exc
