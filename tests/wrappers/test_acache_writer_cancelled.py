"""AsyncCacheStore whose cache writer task was cancelled (a shutdown handler that cancels every other
task, say): the next call that needs the task starts a new one, so writes, flush() and aclose()
never hang, writers already waiting are not stranded, and no queued write is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

import pytest

from nstore import AsyncAdapter, AsyncMemoryStore, AsyncStore
from nstore.wrappers import AsyncCacheStore, AsyncForwardingStore
from tests.wrappers.test_cache import _RecordsOnClose

K = TypeVar("K")
V = TypeVar("V")

MODES = pytest.mark.parametrize("write_behind", [False, True], ids=["through", "behind"])
LIMIT = 5.0  # seconds: longer is a hang


class _SlowWrites(AsyncForwardingStore[K, V], Generic[K, V]):
    """Forwards to a real async store, sleeping before each batch write (a distant cache)."""

    def __init__(self, store: AsyncStore[K, V], delay: float) -> None:
        super().__init__(store)
        self.delay = delay

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        await asyncio.sleep(self.delay)
        await super().set_many(items, ttl=ttl)


def _cancel_the_writer() -> None:
    (writer,) = [t for t in asyncio.all_tasks() if t.get_name() == "nstore-cache-writer"]
    writer.cancel()


@MODES
def test_after_every_other_task_was_cancelled_the_store_works(write_behind: bool) -> None:
    async def main() -> None:
        primary, cache = AsyncMemoryStore[str, bytes](), AsyncMemoryStore[str, bytes]()
        store = AsyncCacheStore(primary, cache, write_behind=write_behind)
        await store.set("a", b"1")  # starts the writer task
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()  # "cancel everything else, then clean up"
        await asyncio.sleep(0)
        await asyncio.wait_for(store.set("b", b"2"), LIMIT)
        await asyncio.wait_for(store.flush(), LIMIT)
        assert await cache.get_many(["a", "b"]) == {"a": b"1", "b": b"2"}
        assert await store.get("b") == b"2"
        await asyncio.wait_for(store.aclose(), LIMIT)

    asyncio.run(main())


@MODES
def test_writers_and_flushes_waiting_when_the_writer_is_cancelled_finish(write_behind: bool) -> None:
    async def main() -> None:
        primary, cache = AsyncMemoryStore[str, bytes](), AsyncMemoryStore[str, bytes]()
        store = AsyncCacheStore(primary, _SlowWrites(cache, 0.02), write_behind=write_behind, queue_size=2)
        # Through: each writer waits until the caches have its write; behind: for room in the queue.
        writers = [asyncio.create_task(store.set(f"k{i}", b"v")) for i in range(6)]
        await asyncio.sleep(0.01)  # the writer task is inside its first batch, the others wait
        flusher = asyncio.create_task(store.flush())
        await asyncio.sleep(0)
        _cancel_the_writer()
        await asyncio.wait_for(asyncio.gather(*writers, flusher), LIMIT)
        await asyncio.wait_for(store.flush(), LIMIT)
        keys = [f"k{i}" for i in range(6)]
        # The batch in hand at the cancellation may have been forgotten by the cache instead.
        assert {f"k{i}" for i in range(1, 6)} <= set(await cache.get_many(keys))
        assert set((await cache.get_many(keys)).values()) == {b"v"}
        assert await store.get_many(keys) == dict.fromkeys(keys, b"v")
        assert store.stats.pending == 0
        await asyncio.wait_for(store.aclose(), LIMIT)

    asyncio.run(main())


def test_aclose_with_queued_writes_after_the_writer_was_cancelled_applies_them() -> None:
    async def main() -> None:
        primary, cache = AsyncMemoryStore[str, bytes](), _RecordsOnClose()
        store = AsyncCacheStore(
            primary, _SlowWrites(AsyncAdapter(cache), 0.02), write_behind=True, queue_size=8
        )
        for i in range(4):
            await store.set(f"k{i}", b"v")
        await asyncio.sleep(0.01)
        _cancel_the_writer()  # inside the batch of k0, which the cache may then forget
        await asyncio.sleep(0)
        await asyncio.wait_for(store.aclose(), LIMIT)
        assert {"k1": b"v", "k2": b"v", "k3": b"v"}.items() <= cache.seen_at_close.items()

    asyncio.run(main())
