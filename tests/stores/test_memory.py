"""MemoryStore joins the StoreTests suite; its ground truth is its dict."""

from __future__ import annotations

import threading
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
from tests.stores.expiry import LONG, SHORT
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
            store._put(key, value, len(value), None)


class TestBoundedMemoryStoreBytesAndTTL(TestBoundedMemoryStore):
    """The suite over a store-wide ttl: a write without ``ttl=`` gets the store's default, so the
    two cases that expect such a write never to expire expect the default instead."""

    bounds: ClassVar[dict[str, Any]] = {"maxbytes": 64 * 1024 * 1024, "ttl": 3600}

    def test_ttl_of_a_key_without_expiry(self, store: Store[str, bytes]) -> None:
        store["plain"] = b"v"
        left = store.ttl("plain")
        assert left is not None
        assert 3600 - 60 < left <= 3600
        store.touch("plain", ttl=None)
        assert store.ttl("plain") is None
        with pytest.raises(MissingKey):
            store.ttl("absent")

    def test_ttl_counts_down(self, store: Store[str, bytes]) -> None:
        store.set("k", b"v", ttl=LONG)
        left = store.ttl("k")
        assert left is not None
        assert LONG - 60 < left <= LONG
        store["k"] = b"w"  # a plain write replaces the value and its expiry by the default
        left = store.ttl("k")
        assert left is not None
        assert 3600 - 60 < left <= 3600

    def test_an_expired_key_is_absent_everywhere(self, store: Store[str, bytes]) -> None:
        store.set_many({"gone/a": b"1", "gone/b": b"2"}, ttl=SHORT)
        store["kept"] = b"3"
        time.sleep(SHORT + 0.4)
        assert "gone/a" not in store
        assert store.get_many(["gone/a", "gone/b", "kept"]) == {"kept": b"3"}
        assert list(store.iter_keys()) == ["kept"]
        assert store.keys_page("gone/").keys == []
        assert store.count_keys() == 1
        assert len(store) == 1
        with pytest.raises(MissingKey):
            store.touch("gone/b", ttl=LONG)
        assert not store.compare_and_set("gone/a", b"1", b"x")
        assert store.set_if_absent("gone/a", b"new")
        left = store.ttl("gone/a")  # the store-wide ttl, as for every write without ttl=
        assert store["gone/a"] == b"new"
        assert left is not None
        assert 3600 - 60 < left <= 3600


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


# -- listing by prefix through the sorted key index ------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "delete", "delete_many", "set_many", "list", "count"]),
            st.text(alphabet="ab/", max_size=4),
        ),
        max_size=60,
    )
)
def test_prefix_listing_matches_a_dict_through_any_writes(ops: list[tuple[str, str]]) -> None:
    store, model = MemoryStore[str, bytes](), dict[str, bytes]()
    for op, key in ops:
        if op == "set":
            store[key] = model[key] = b"x"
        elif op == "set_many":
            pairs = {key: b"y", key + "a": b"y", "b" + key: b"y"}
            store.set_many(pairs)
            model.update(pairs)
        elif op == "delete":
            if key in model:
                del store[key], model[key]
        elif op == "delete_many":
            store.delete_many([key, key + "/"])
            model.pop(key, None), model.pop(key + "/", None)
        elif op == "list":
            assert list(store.keys(key)) == sorted(k for k in model if k.startswith(key))
        else:
            assert store.count_keys(key) == sum(1 for k in model if k.startswith(key))
    assert list(store.keys("")) == sorted(model)


def test_prefix_listing_sees_every_key_set_by_other_threads() -> None:
    store = MemoryStore[str, bytes]({f"{p}/{i:04d}": b"" for i in range(1000) for p in ("old", "gone")})
    stop = threading.Event()

    def write(n: int) -> None:
        for i in range(20_000):
            if stop.is_set():
                return
            store[f"new/{n}/{i:06d}"] = b""
            if i % 7 == 0:
                store.delete_many([f"old/{i % 1000:04d}"])
            if n == 0 and i < 1000:
                del store[f"gone/{i:04d}"]

    writers = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in writers:
        t.start()
    try:
        while any(t.is_alive() for t in writers):
            listed = store.count_keys("new/")
            assert listed <= len(list(store.keys("new/")))
    finally:
        stop.set()
        for t in writers:
            t.join()
    assert list(store.keys("new/")) == sorted(k for k in list(store) if k.startswith("new/"))
    assert list(store.keys("old/")) == sorted(k for k in list(store) if k.startswith("old/"))
    assert list(store.keys("gone/")) == []


def test_keys_that_do_not_sort_together_are_listed_by_scanning() -> None:
    store = MemoryStore[Any, bytes]({"a/1": b"", 2: b""})
    assert sorted(store.keys(), key=str) == [2, "a/1"]
    with pytest.raises(AttributeError):  # as before the index: an int key has no startswith
        list(store.keys("a/"))


def test_prefix_listing_of_bytes_keys_and_edge_prefixes() -> None:
    keys = [b"a", b"a\xff", b"a\xff\xff", b"b", b"\xff", b"\xff\x00"]
    store = MemoryStore[bytes, bytes](dict.fromkeys(keys, b""))
    assert list(store.keys(b"a\xff")) == [b"a\xff", b"a\xff\xff"]
    assert list(store.keys(b"\xff")) == [b"\xff", b"\xff\x00"]
    assert store.count_keys(b"a") == 3
    text = MemoryStore[str, bytes](
        dict.fromkeys(["\U0010ffff", "\U0010ffffa", "\ud7ff", "\ud7ffx", "z"], b"")
    )
    assert list(text.keys("\U0010ffff")) == ["\U0010ffff", "\U0010ffffa"]
    assert list(text.keys("\ud7ff")) == ["\ud7ff", "\ud7ffx"]
