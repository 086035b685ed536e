"""AsyncMemoryStore joins the StoreTests suite (through the blocking facade), bounded and unbounded,
expiry cases included; and its expiry on a clock moved by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import tests.stores.test_memory as memory_tests
from nstore import AsyncMemoryStore, MemoryStore, Store
from nstore.errors import ConfigurationError, MissingKey
from tests.astores.facade import Blocking, LoopThread, sync_store
from tests.stores.test_memory_expiry import Clock


class TestAsyncMemoryStore(memory_tests.TestMemoryStore):
    @pytest.fixture
    def store(self, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        with Blocking(AsyncMemoryStore[str, bytes](), loop) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return super().raw_get(sync_store(store), key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        super().raw_set(sync_store(store), key, value)


class TestAsyncBoundedMemoryStore(memory_tests.TestBoundedMemoryStore):
    @pytest.fixture
    def store(self, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        with Blocking(AsyncMemoryStore[str, bytes](**self.bounds), loop) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return super().raw_get(sync_store(store), key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        super().raw_set(sync_store(store), key, value)


@pytest.mark.parametrize("bounds", [{}, {"maxsize": 10}], ids=["plain", "bounded"])
def test_async_expiry_on_a_clock_moved_by_hand(bounds: dict[str, Any]) -> None:
    clock = Clock()

    async def main() -> None:
        store = AsyncMemoryStore[str, bytes](clock=clock, **bounds)
        await store.set("a", b"1", ttl=5)
        await store.set_many({"b": b"2", "c": b"3"}, ttl=50)
        await store.set("plain", b"4")
        await store.touch("c", ttl=None)
        assert await store.ttl("a") == 5
        assert await store.ttl("plain") is None
        clock.now += 10
        assert not await store.contains("a")
        assert await store.get_many(["a", "b", "c"]) == {"b": b"2", "c": b"3"}
        assert sorted([key async for key in store.iter_keys()]) == ["b", "c", "plain"]
        assert await store.ttl("b") == 40
        with pytest.raises(MissingKey):
            await store.touch("a", ttl=1)
        assert await store.set_if_absent("a", b"new")
        clock.now += 40
        assert await store.purge_expired() == 1  # b
        assert store.store.get_many(["a", "b", "c", "plain"]) == {"a": b"new", "c": b"3", "plain": b"4"}

    asyncio.run(main())


def test_store_is_a_memory_store_given_alone() -> None:
    inner = MemoryStore[str, int]({"a": 1})
    assert AsyncMemoryStore(store=inner).store is inner
    with pytest.raises(ConfigurationError, match="Expected a MemoryStore for store="):
        AsyncMemoryStore(store={"a": 1})  # type: ignore[arg-type]  # a dict on purpose
    with pytest.raises(ConfigurationError, match="Expected store= alone"):
        AsyncMemoryStore({"b": 2}, store=inner)
    with pytest.raises(ConfigurationError, match="Expected store= alone"):
        AsyncMemoryStore(store=inner, maxsize=5)
    with pytest.raises(ConfigurationError, match="Expected store= alone"):
        AsyncMemoryStore(store=inner, ttl=60.0)
