"""AsyncMemoryStore joins the StoreTests suite (through the blocking facade), bounded and unbounded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tests.stores.test_memory as memory_tests
from nstore import AsyncMemoryStore, Store
from tests.astores.facade import Blocking, LoopThread, sync_store


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
