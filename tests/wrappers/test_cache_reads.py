"""CacheStore reads: closed caches, caches with their own read, recency of a bounded cache, subclasses."""

from __future__ import annotations

from typing import Any

import pytest

from nstore import MemoryStore
from nstore.errors import StoreClosed
from nstore.wrappers import CacheStore


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
@pytest.mark.parametrize("count_hits", [False, True])
@pytest.mark.parametrize("bounds", [{}, {"maxsize": 10}, {"maxsize": 10, "ttl": 60.0}])
def test_an_open_store_reads_through_its_fitted_hit_path(
    write_behind: bool, count_hits: bool, bounds: dict[str, Any]
) -> None:
    # So that the StoreTests suites, run in each of these states, exercise every hit path.
    cache = MemoryStore[str, bytes](**bounds)
    store = CacheStore(MemoryStore[str, bytes](), cache, write_behind=write_behind, count_hits=count_hits)
    assert type(store).__getitem__ is not CacheStore.__getitem__
    store.close()
    assert type(store) is CacheStore
