"""The async wrappers join the StoreTests suite through the blocking facade, in each of their modes.

AsyncCacheStore (caches written before a write returns, and with write-behind), AsyncLoggingStore
(logging enabled and disabled) and AsyncReadOnlyStore (its read path, as the sync ReadOnlyStore's
is checked). Ground truth is the sync MemoryStore under the async primary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from nstore import AsyncMemoryStore, MemoryStore, Store
from nstore.wrappers import AsyncCacheStore, AsyncLoggingStore, AsyncReadOnlyStore
from tests.astores.facade import Blocking, LoopThread
from tests.stores.base import StoreTests
from tests.wrappers.test_logging import _Records, access
from tests.wrappers.test_readonly import TestReadOnlyStoreReads, _ReadsThroughReadOnly

__all__ = ["access"]  # the fixture, used by name


def _ground(store: Store[str, bytes]) -> MemoryStore[str, bytes]:
    """The sync MemoryStore under the async store that a Blocking facade drives."""
    assert isinstance(store, Blocking)
    wrapper = store.async_store
    assert isinstance(wrapper, AsyncCacheStore | AsyncLoggingStore)
    primary = wrapper.store
    assert isinstance(primary, AsyncMemoryStore)
    memory = primary.store
    assert isinstance(memory, MemoryStore)
    return memory


class _OverAsyncMemory(StoreTests):
    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return _ground(store)._data.get(key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        _ground(store)._data[key] = value


MODES = [(False, False), (False, True), (True, False), (True, True)]


class TestAsyncCacheStore(_OverAsyncMemory):
    @pytest.fixture(
        params=MODES, ids=lambda m: f"{'behind' if m[0] else 'through'}-{'counted' if m[1] else 'uncounted'}"
    )
    def store(self, request: pytest.FixtureRequest, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        write_behind, count_hits = request.param
        primary, cache = AsyncMemoryStore[str, bytes](), AsyncMemoryStore[str, bytes](maxsize=10_000)
        cached = AsyncCacheStore(
            primary, cache, write_behind=write_behind, queue_size=4, count_hits=count_hits
        )
        with Blocking(cached, loop) as store:
            yield store


class TestAsyncCacheStoreTwoSmallCaches(_OverAsyncMemory):
    """A tiny first cache that evicts all the time, in front of a TTL cache."""

    @pytest.fixture
    def store(self, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        small = AsyncMemoryStore[str, bytes](maxsize=4)
        second = AsyncMemoryStore[str, bytes](maxbytes=64 * 1024, ttl=60)
        with Blocking(AsyncCacheStore(AsyncMemoryStore[str, bytes](), small, second), loop) as store:
            yield store


class TestAsyncLoggingStoreEnabled(_OverAsyncMemory):
    @pytest.fixture
    def store(self, access: tuple[logging.Logger, _Records], loop: LoopThread) -> Iterator[Store[str, bytes]]:
        with Blocking(AsyncLoggingStore(AsyncMemoryStore[str, bytes](), access[0]), loop) as store:
            yield store


class TestAsyncLoggingStoreDisabled(_OverAsyncMemory):
    @pytest.fixture
    def store(self, access: tuple[logging.Logger, _Records], loop: LoopThread) -> Iterator[Store[str, bytes]]:
        access[0].setLevel(logging.WARNING)
        with Blocking(AsyncLoggingStore(AsyncMemoryStore[str, bytes](), access[0]), loop) as store:
            yield store
        assert access[1].records == []


class TestAsyncReadOnlyStoreReads(TestReadOnlyStoreReads):
    """Every read through an AsyncReadOnlyStore, every write to the store beneath it."""

    @pytest.fixture
    def store(self, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        below = AsyncMemoryStore[str, bytes]()
        memory = below.store
        assert isinstance(memory, MemoryStore)
        with _ReadsThroughReadOnly(memory, Blocking(AsyncReadOnlyStore(below), loop)) as store:
            yield store
