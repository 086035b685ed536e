"""AsyncCacheStore under cancellation: a cancelled call never leaves the caches believing a write
happened that did not, nor serving a value the primary no longer holds; and aclose flushes."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

import pytest

from nstore import AsyncAdapter, AsyncMemoryStore, AsyncStore
from nstore.errors import StoreClosed
from nstore.wrappers import AsyncCacheStore, AsyncForwardingStore
from tests.wrappers.test_cache import _RecordsOnClose

K = TypeVar("K")
V = TypeVar("V")

MODES = pytest.mark.parametrize("write_behind", [False, True], ids=["through", "behind"])


class _Paused(AsyncForwardingStore[K, V], Generic[K, V]):
    """Forwards to a real async store; a write pauses before reaching it, or after it did, until
    ``go`` is set (or the write is cancelled)."""

    def __init__(self, store: AsyncStore[K, V], *, before: bool = False, after: bool = False) -> None:
        super().__init__(store)
        self.before, self.after = before, after
        self.reached, self.applied, self.go = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        self.reached.set()
        if self.before:
            await self.go.wait()
        await super().set(key, value, ttl=ttl)
        self.applied.set()
        if self.after:
            await self.go.wait()

    async def set_many(self, items: object, /, *, ttl: float | None = None) -> None:
        self.reached.set()
        if self.before:
            await self.go.wait()
        await super().set_many(items, ttl=ttl)  # type: ignore[arg-type]  # passed on as given


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _warm(
    write_behind: bool, **pause: bool
) -> tuple[AsyncCacheStore[str, bytes], AsyncMemoryStore[str, bytes], _Paused[str, bytes]]:
    below, cache = AsyncMemoryStore[str, bytes]({"a": b"old"}), AsyncMemoryStore[str, bytes]()
    primary = _Paused(below, **pause)
    store = AsyncCacheStore(primary, cache, write_behind=write_behind)
    assert await store.get("a") == b"old"
    await store.flush()
    assert await cache.get("a") == b"old"  # cached
    return store, cache, primary


@MODES
def test_cancelled_before_the_primary_wrote_keeps_the_old_value(write_behind: bool) -> None:
    async def main() -> None:
        store, cache, primary = await _warm(write_behind, before=True)
        task = asyncio.create_task(store.set("a", b"new"))
        await primary.reached.wait()
        await _cancelled(task)
        assert await primary.store.get("a") == b"old"
        assert await store.get("a") == b"old"
        await store.flush()
        assert await cache.get("a") == b"old"
        await store.aclose()

    asyncio.run(main())


@MODES
def test_cancelled_after_the_primary_wrote_never_serves_the_old_value(write_behind: bool) -> None:
    async def main() -> None:
        store, cache, primary = await _warm(write_behind, after=True)
        task = asyncio.create_task(store.set("a", b"new"))
        await primary.applied.wait()
        await _cancelled(task)
        assert await primary.store.get("a") == b"new"
        assert await store.get("a") == b"new"  # not the cached b"old"
        assert await store.get_many(["a"]) == {"a": b"new"}
        assert await store.contains("a")
        await store.flush()
        assert await cache.get("a") == b"new"  # refilled from the primary
        await store.aclose()

    asyncio.run(main())


@MODES
def test_cancelled_while_waiting_for_the_key_writes_nothing(write_behind: bool) -> None:
    async def main() -> None:
        store, _, primary = await _warm(write_behind, before=True)
        first = asyncio.create_task(store.set("a", b"first"))
        await primary.reached.wait()
        second = asyncio.create_task(store.set("a", b"second"))  # waits for the key's lock
        await asyncio.sleep(0)
        await _cancelled(second)
        primary.before = False
        await _cancelled(first)
        assert await store.get("a") == await primary.store.get("a") == b"old"
        await store.set("a", b"third")  # the key's lock was released
        assert await store.get("a") == b"third"
        await store.aclose()

    asyncio.run(main())


def test_cancelled_while_waiting_for_room_in_the_queue_writes_nothing() -> None:
    async def main() -> None:
        primary = AsyncMemoryStore[str, bytes]()
        slow_cache = _Paused(AsyncMemoryStore[str, bytes](), before=True)  # the cache writer stalls
        store = AsyncCacheStore(primary, slow_cache, write_behind=True, queue_size=1)
        await store.set("a", b"1")  # its batch holds the one place in the queue
        await slow_cache.reached.wait()
        waiting = asyncio.create_task(store.set("b", b"2"))
        await asyncio.sleep(0.01)
        assert not waiting.done()  # backpressure
        await _cancelled(waiting)
        assert not await primary.contains("b")
        assert await store.get("a") == b"1"
        assert store.stats.pending == 1
        slow_cache.go.set()
        await store.flush()
        assert await slow_cache.store.get("a") == b"1"
        await store.aclose()

    asyncio.run(main())


@MODES
def test_aclose_applies_every_queued_write_then_closes(write_behind: bool) -> None:
    async def main() -> None:
        primary, cache = AsyncMemoryStore[str, bytes](), _RecordsOnClose()
        store = AsyncCacheStore(primary, AsyncAdapter(cache), write_behind=write_behind, queue_size=2)
        await asyncio.gather(*(store.set(f"k{i}", b"v") for i in range(50)))
        await store.set_many({f"m{i}": b"w" for i in range(50)})
        await store.aclose()
        await store.aclose()  # idempotent
        assert len(cache.seen_at_close) == 100
        assert store.stats.pending == 0
        with pytest.raises(StoreClosed):
            await store.get("k1")

    asyncio.run(main())
