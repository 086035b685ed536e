"""CacheStore reads: closed caches, caches with their own read, recency of a bounded cache, subclasses."""

from __future__ import annotations

from typing import Any

import pytest

from nstore import MemoryStore
from nstore.errors import StoreClosed
from nstore.wrappers import CacheStore
from tests.wrappers._stores import Outage


def test_a_cache_closed_on_its_own_is_not_read_as_open() -> None:
    cache = MemoryStore[str, bytes]({"a": b"1"})
    store = CacheStore(MemoryStore[str, bytes]({"a": b"1"}), cache)
    assert store["a"] == b"1"
    cache.close()
    with pytest.raises(StoreClosed):
        store["a"]


class _Counting(MemoryStore[str, bytes]):
    """A MemoryStore with its own read, which the hit path must call."""

    reads = 0

    def __getitem__(self, key: str, /) -> bytes:
        type(self).reads += 1
        return super().__getitem__(key)


@pytest.mark.parametrize("write_behind", [False, True])
def test_a_cache_with_its_own_read_is_read_through_it(write_behind: bool) -> None:
    cache = _Counting({"a": b"1"})
    store = CacheStore(MemoryStore[str, bytes](), cache, write_behind=write_behind, count_hits=True)
    before = _Counting.reads
    assert store["a"] == b"1"
    assert _Counting.reads == before + 1
    assert store.stats.hits == 1
    store.close()


def test_a_bounded_cache_keeps_its_recency_on_hits() -> None:
    cache = MemoryStore[str, bytes](maxsize=2)
    store = CacheStore(MemoryStore[str, bytes](), cache)
    store["a"], store["b"] = b"1", b"2"
    assert store["a"] == b"1"  # a hit: "a" becomes the most recent in the cache
    store["c"] = b"3"  # evicts "b" from the cache, not "a"
    assert sorted(cache) == ["a", "c"]


def test_a_synchronous_store_is_a_cache_store_and_checks_again_once_closed() -> None:
    store = CacheStore(MemoryStore[str, bytes](), MemoryStore[str, bytes]())
    assert isinstance(store, CacheStore)
    assert type(store).__name__ == "CacheStore"
    store["a"] = b"1"
    store.close()
    with pytest.raises(StoreClosed, match="CacheStore is closed"):
        store["a"]


class _Mine(CacheStore[str, bytes]):
    """A subclass keeps its own class in every mode."""


@pytest.mark.parametrize("write_behind", [False, True])
def test_a_subclass_keeps_its_class(write_behind: bool) -> None:
    store = _Mine(MemoryStore[str, bytes](), MemoryStore[str, bytes](), write_behind=write_behind)
    assert type(store) is _Mine
    store["a"] = b"1"
    assert store["a"] == b"1"
    store.close()
    assert type(store) is _Mine


@pytest.mark.parametrize("write_behind", [False, True])
@pytest.mark.parametrize("bounds", [{}, {"maxsize": 10}, {"maxsize": 10, "ttl": 60.0}])
def test_one_class_in_every_state(write_behind: bool, bounds: dict[str, Any]) -> None:
    store = CacheStore(
        MemoryStore[str, bytes](), MemoryStore[str, bytes](**bounds), write_behind=write_behind
    )
    store["a"] = b"1"
    assert store["a"] == b"1"
    assert type(store) is CacheStore
    store.close()
    assert type(store) is CacheStore


def test_a_cache_with_tainted_keys_skips_them_until_rewritten() -> None:
    primary, cache = MemoryStore[str, bytes](), Outage()
    store = CacheStore(primary, cache)
    store["a"], store["b"] = b"1", b"1"
    cache.down = True
    store["a"] = b"2"  # the cache fails, and so does the invalidation: "a" is tainted there
    cache.down = False
    assert cache["a"] == b"1"  # stale in the cache itself
    assert (store["a"], store["b"]) == (b"2", b"1")  # "a" skipped, "b" still read from the cache
    store["a"] = b"3"  # a successful write clears the taint
    assert store["a"] == cache["a"] == b"3"
    store.close()
