"""MemoryStore joins the StoreTests suite; its ground truth is its dict."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from nstore import MemoryStore, Store
from tests.stores.base import StoreTests


class TestMemoryStore(StoreTests):
    @pytest.fixture
    def store(self) -> Iterator[Store[str, bytes]]:
        with MemoryStore[str, bytes]() as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        assert isinstance(store, MemoryStore)
        return store._data.get(key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        assert isinstance(store, MemoryStore)
        store._data[key] = value


def test_generic_keys_and_values() -> None:
    store = MemoryStore[int, list[str]]({1: ["a"]})
    store[2] = ["b", "c"]
    assert store.get_many([1, 2, 3]) == {1: ["a"], 2: ["b", "c"]}


def test_compare_and_set_is_atomic_across_threads() -> None:
    store = MemoryStore[str, int]({"counter": 0})

    def increment() -> None:
        for _ in range(500):
            while True:
                current = store["counter"]
                if store.compare_and_set("counter", current, current + 1):
                    break

    threads = [threading.Thread(target=increment) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store["counter"] == 2000
