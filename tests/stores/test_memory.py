"""MemoryStore joins the StoreTests suite; its ground truth is its dict."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import cachetools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nstore import MemoryStore, Store
from nstore.errors import ConfigurationError, MissingKey, ValueTooLarge
from nstore.stores._memory_bounded import BoundedMemoryStore
from tests.stores.base import StoreTests
from tests.threads import run_threads


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


# -- the bounded store ---------------------------------------------------------------------------


class TestBoundedMemoryStore(StoreTests):
    bounds: ClassVar[dict[str, Any]] = {"maxsize": 100_000}

    @pytest.fixture
    def store(self) -> Iterator[Store[str, bytes]]:
        with MemoryStore[str, bytes](**self.bounds) as store:
            assert isinstance(store, BoundedMemoryStore)
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        assert isinstance(store, BoundedMemoryStore)
        return store._data.get(key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        assert isinstance(store, BoundedMemoryStore)
        with store._lock:  # the bookkeeping of sizes and expiry is part of the ground truth
            store._put(key, value, len(value))


class TestBoundedMemoryStoreBytesAndTTL(TestBoundedMemoryStore):
    bounds: ClassVar[dict[str, Any]] = {"maxbytes": 64 * 1024 * 1024, "ttl": 3600}


def test_unbounded_constructor_returns_the_plain_class() -> None:
    assert type(MemoryStore()) is MemoryStore
    assert type(MemoryStore[str, bytes](maxsize=None)) is MemoryStore
    bounded = MemoryStore[str, bytes](maxsize=3)
    assert isinstance(bounded, MemoryStore)
    assert type(bounded) is BoundedMemoryStore


def test_lru_eviction_by_count_follows_reads_and_writes() -> None:
    store = MemoryStore[str, int]({"a": 1, "b": 2, "c": 3}, maxsize=3)
    assert store["a"] == 1  # a is now the most recent; b the least
    store["d"] = 4
    assert sorted(store) == ["a", "c", "d"]
    store["c"] = 30  # a write refreshes too
    assert store.get_many(["a"]) == {"a": 1}  # and so does a bulk read
    store["e"] = 5
    assert sorted(store) == ["a", "c", "e"]
    assert "c" in store  # membership does not refresh
    store.set_many({"f": 6, "g": 7})
    assert sorted(store) == ["e", "f", "g"]
    assert len(store) == 3


def test_eviction_by_bytes() -> None:
    store = MemoryStore[str, bytes](maxbytes=10)
    store["a"] = b"1234"
    store["b"] = b"1234"
    store["a"] = b"12"  # replacing a value updates the total
    assert isinstance(store, BoundedMemoryStore)
    assert store.nbytes == 6
    store["c"] = b"12345"  # 11 bytes: b, the least recently used, goes
    assert sorted(store) == ["a", "c"]
    assert store.nbytes == 7
    del store["a"]
    assert store.nbytes == 5
    with pytest.raises(ValueTooLarge, match="maxbytes=10"):
        store["big"] = b"x" * 11
    assert sorted(store) == ["c"]  # unchanged by the refused value
    with pytest.raises(ConfigurationError, match="len"):
        MemoryStore[str, int](maxbytes=10)["n"] = 1


def test_time_to_live() -> None:
    store = MemoryStore[str, bytes](ttl=0.05)
    store["a"] = b"1"
    store.set_many({"b": b"2"})
    assert store.set_if_absent("c", b"3") is True
    time.sleep(0.1)
    assert "a" not in store
    with pytest.raises(MissingKey):
        store["b"]
    assert store.get_many(["a", "b", "c"]) == {}
    assert len(store) == 0
    assert list(store) == []
    assert store.set_if_absent("a", b"new") is True  # an expired key is absent
    assert store.compare_and_set("b", b"2", b"x") is False
    lasting = MemoryStore[str, bytes](ttl=3600, maxsize=2)
    lasting["a"] = b"1"
    assert lasting["a"] == b"1"


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"maxsize": 0}, "positive integer or None for maxsize"),
        ({"maxsize": True}, "maxsize"),
        ({"maxsize": 1.5}, "maxsize"),
        ({"maxbytes": -1}, "maxbytes"),
        ({"ttl": 0}, "positive number of seconds or None for ttl"),
        ({"ttl": "1"}, "ttl"),
    ],
)
def test_bad_bounds_are_refused(bounds: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        MemoryStore(**bounds)


def test_bounded_store_is_thread_safe() -> None:
    store = MemoryStore[str, bytes](maxsize=50, maxbytes=400)

    def work(n: int) -> None:
        for i in range(2000):
            key = f"{n}-{i % 97}"
            store[key] = bytes(i % 9)
            store.get(key)
            if i % 7 == 0:
                store.delete_many([key])
            if i % 11 == 0:
                store.set_many({f"{n}-bulk": b"12"})

    assert run_threads(work, 4) == []
    assert isinstance(store, BoundedMemoryStore)
    assert len(store) <= 50
    assert store.nbytes == sum(len(v) for v in store._data.values()) <= 400


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["set", "get", "del", "get_many"]), st.integers(0, 9)),
        max_size=60,
    )
)
def test_same_evictions_as_cachetools_lru(ops: list[tuple[str, int]]) -> None:
    store = MemoryStore[int, int](maxsize=4)
    model: cachetools.LRUCache[int, int] = cachetools.LRUCache(maxsize=4)
    for op, key in ops:
        if op == "set":
            store[key] = model[key] = key * 10
        elif op == "get":
            assert store.get(key) == model.get(key)
        elif op == "get_many":
            assert store.get_many([key]) == ({key: model[key]} if key in model else {})
        else:
            store.delete_many([key])
            model.pop(key, None)
        assert list(store) == list(model._LRUCache__order)  # type: ignore[attr-defined]  # its LRU order


def test_repr_shows_bounds() -> None:
    assert repr(MemoryStore(maxsize=3, ttl=5)) == "MemoryStore(maxsize=3, ttl=5, <0 keys>)"
