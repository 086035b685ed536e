"""Single-key gets issued in one event loop tick, sent as one ``/v1/batch`` request.

``asyncio.gather(*(store.get(k) for k in keys))`` starts every get before any request is sent;
the first get of a tick yields once to the loop (``sleep(0)``), so that the others of the tick
join it, then sends them all: a get that stays alone is a plain ``GET`` in its own task (the
only cost of coalescing to sequential awaits is that one yield); several go as one batch
(chunks of ``BATCH_KEYS``). Each caller
still gets its own value or error: a key left out of the batch's values is its caller's
``MissingKey``; a batch the server refuses as a whole (a key it will not store, say) is sent
again as one ``GET`` per key, so each caller sees its own key's answer; a connection error
reaches every caller of that batch. A batch runs in a task of its own, so a cancelled caller
never cancels the others' request (its future is simply left unanswered); a first get cancelled
while it collects leaves the others to the batch it had collected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nstore.errors import MissingKey, NStoreError, StoreUnavailable
from nstore.stores._http_requests import BATCH_KEYS, chunks

__all__ = ["Coalescer"]

Waiters = dict[str, list["asyncio.Future[bytes]"]]


class Coalescer:
    """Collects the gets of one loop tick and answers each from one request."""

    __slots__ = ("_get", "_get_many", "_pending", "_tasks")

    def __init__(
        self,
        get: Callable[[str], Awaitable[bytes]],
        get_many: Callable[[list[str]], Awaitable[dict[str, bytes]]],
    ) -> None:
        self._get = get
        self._get_many = get_many
        self._pending: Waiters | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # running flushes, kept from the collector

    async def get(self, key: str) -> bytes:
        loop = asyncio.get_running_loop()
        pending = self._pending
        if pending is not None:  # a get of this tick is collecting: join it
            return await _join(pending, key, loop)
        self._pending = pending = {}
        try:
            await asyncio.sleep(0)  # the other gets of this tick run now, and join
        except BaseException:  # cancelled while collecting: the others still get their batch
            self._start(pending)
            raise
        if not pending:  # alone: a plain GET, in the caller's own task
            self._pending = None
            return await self._get(key)
        future = _join(pending, key, loop)
        self._start(pending)
        return await future

    def _start(self, pending: Waiters) -> None:
        if self._pending is pending:
            self._pending = None
        if pending:
            task = asyncio.ensure_future(self._answer(pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, pending: Waiters) -> None:
        waiting = {key: futures for key, futures in pending.items() if not all(f.done() for f in futures)}
        try:
            await self._send(waiting)
        finally:  # the flush was cancelled (the loop is closing): no caller waits forever
            gone = StoreUnavailable("The request for this get was cancelled; the store is closing.")
            for futures in waiting.values():
                _fail(futures, gone)

    async def _send(self, waiting: Waiters) -> None:
        if len(waiting) == 1:
            await self._one(*waiting.items())
            return
        for chunk in chunks(list(waiting), BATCH_KEYS):
            try:
                values = await self._get_many(chunk)
            except StoreUnavailable as exc:  # the server is unreachable: for everyone
                for key in chunk:
                    _fail(waiting[key], exc)
            except NStoreError:  # refused as a whole (a key it will not take): each key on its own
                await asyncio.gather(*(self._one((key, waiting[key])) for key in chunk))
            else:
                for key in chunk:
                    value = values.get(key)
                    for future in waiting[key]:
                        if future.done():
                            continue
                        if value is None:
                            future.set_exception(MissingKey(key))
                        else:
                            future.set_result(value)

    async def _one(self, item: tuple[str, list[asyncio.Future[bytes]]]) -> None:
        key, futures = item
        try:
            value = await self._get(key)
        except Exception as exc:
            _fail(futures, exc)
        else:
            for future in futures:
                if not future.done():
                    future.set_result(value)


def _join(pending: Waiters, key: str, loop: asyncio.AbstractEventLoop) -> asyncio.Future[bytes]:
    future: asyncio.Future[bytes] = loop.create_future()
    pending.setdefault(key, []).append(future)
    return future


def _fail(futures: list[asyncio.Future[bytes]], exc: Exception) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(exc)
