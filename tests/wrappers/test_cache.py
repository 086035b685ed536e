"""CacheStore joins StoreTests in each mode, and reads, fills and counts as documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore import MemoryStore, Store
from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.stores.sqlite import SQLiteStore
from nstore.wrappers import CacheStats, CacheStore
from tests.stores.base import StoreTests


def _primary(store: Store[str, bytes]) -> Store[str, bytes]:
    assert isinstance(store, CacheStore)
    return store.store


class _CacheStoreTests(StoreTests):
    """Ground truth is the primary store, read and written around the CacheStore."""

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return _primary(store).get(key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        _primary(store)[key] = value


def _cache(kind: str) -> MemoryStore[str, bytes]:
    # A "plain" cache is read through its dictionary's view (MemoryStore.reader), the others
    # through their own read.
    if kind == "plain":
        return MemoryStore[str, bytes]()
    return MemoryStore[str, bytes](maxsize=10_000, ttl=60 if kind == "ttl" else None)


# Each way to read the cache, hits counted or not.
HIT_PATHS = [(kind, count) for kind in ("plain", "bounded", "ttl") for count in (False, True)]


class TestCacheStoreSync(_CacheStoreTests):
    @pytest.fixture(params=HIT_PATHS, ids=lambda p: f"{p[0]}-{'counted' if p[1] else 'uncounted'}")
    def store(self, request: pytest.FixtureRequest) -> Iterator[Store[str, bytes]]:
        kind, count_hits = request.param
        with CacheStore(MemoryStore[str, bytes](), _cache(kind), count_hits=count_hits) as store:
            yield store


class TestCacheStoreTwoSmallCaches(_CacheStoreTests):
    """A tiny first cache that evicts all the time, in front of a TTL cache."""

    @pytest.fixture
    def store(self) -> Iterator[Store[str, bytes]]:
        small = MemoryStore[str, bytes](maxsize=4)
        second = MemoryStore[str, bytes](maxbytes=64 * 1024, ttl=60)
        with CacheStore(MemoryStore[str, bytes](), small, second) as store:
            yield store


class TestCacheStoreWriteBehind(_CacheStoreTests):
    @pytest.fixture(params=HIT_PATHS, ids=lambda p: f"{p[0]}-{'counted' if p[1] else 'uncounted'}")
    def store(self, request: pytest.FixtureRequest) -> Iterator[Store[str, bytes]]:
        kind, count_hits = request.param
        primary, cache = MemoryStore[str, bytes](), _cache(kind)
        with CacheStore(primary, cache, write_behind=True, queue_size=4, count_hits=count_hits) as store:
            yield store


class TestCacheStoreWriteBehindOnSQLite(_CacheStoreTests):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store[str, bytes]]:
        primary = SQLiteStore(tmp_path / "primary.db", durability="off")
        with CacheStore(primary, MemoryStore[str, bytes](maxsize=100), write_behind=True) as store:
            yield store


# -- reads and fills --------------------------------------------------------------------------------


@pytest.mark.parametrize("write_behind", [False, True])
def test_reads_fill_the_caches_in_front(write_behind: bool) -> None:
    primary = MemoryStore[str, bytes]({"a": b"1", "b": b"2"})
    first, second = MemoryStore[str, bytes](), MemoryStore[str, bytes]({"b": b"2"})
    store = CacheStore(primary, first, second, write_behind=write_behind, count_hits=True)
    assert store["a"] == b"1"  # miss: from the primary, then into both caches
    assert store["b"] == b"2"  # hit in the second cache, then into the first
    store.flush()
    assert dict(first.items()) == {"a": b"1", "b": b"2"}
    assert dict(second.items()) == {"a": b"1", "b": b"2"}
    assert store["a"] == b"1"
    assert store.get_many(["a", "b", "c"]) == {"a": b"1", "b": b"2"}
    with pytest.raises(MissingKey):
        store["c"]
    assert store.stats == CacheStats(hits=4, misses=3, write_failures=0, read_failures=0, pending=0)
    store.close()


def test_get_many_fills_from_each_level() -> None:
    primary = MemoryStore[str, bytes]({f"k{i}": bytes([i]) for i in range(6)})
    first = MemoryStore[str, bytes]({"k0": b"\x00"})
    second = MemoryStore[str, bytes]({"k1": b"\x01"})
    store = CacheStore(primary, first, second, count_hits=True)
    assert store.get_many([f"k{i}" for i in range(7)]) == dict(primary.items())
    assert sorted(first) == [f"k{i}" for i in range(6)]
    assert sorted(second) == [f"k{i}" for i in range(1, 6)]  # k0 was answered in front of it
    assert (store.stats.hits, store.stats.misses) == (2, 5)


@pytest.mark.parametrize("write_behind", [False, True])
@pytest.mark.parametrize("kind", ["plain", "bounded", "ttl"])
def test_hits_are_counted_only_when_asked(write_behind: bool, kind: str) -> None:
    primary = MemoryStore[str, bytes]({"a": b"1"})
    counted = CacheStore(primary, _cache(kind), write_behind=write_behind, count_hits=True)
    uncounted = CacheStore(primary, _cache(kind), write_behind=write_behind)
    for store in (counted, uncounted):
        assert store["a"] == b"1"  # a miss, which fills the cache
        store.flush()
        assert store["a"] == store["a"] == b"1"  # two hits
        with pytest.raises(MissingKey):
            store["b"]
    assert (counted.stats.hits, counted.stats.misses) == (2, 2)
    assert (uncounted.stats.hits, uncounted.stats.misses) == (None, 2)
    counted.close()
    uncounted.close()


def test_writes_go_to_primary_and_caches() -> None:
    primary, cache = MemoryStore[str, bytes](), MemoryStore[str, bytes]()
    store = CacheStore(primary, cache)
    store["a"] = b"1"
    store.set_many({"b": b"2", "c": b"3"})
    assert store.set_if_absent("d", b"4") is True
    assert store.set_if_absent("d", b"5") is False
    assert store.compare_and_set("a", b"1", b"6") is True
    assert store.compare_and_set("a", b"1", b"7") is False
    # A conditional write that did not happen makes the cache forget the key (the primary may
    # have been changed by another writer); the next read fills it again.
    assert dict(primary.items()) == {"a": b"6", "b": b"2", "c": b"3", "d": b"4"}
    assert dict(cache.items()) == {"b": b"2", "c": b"3"}
    assert (store["a"], store["d"]) == (b"6", b"4")
    assert dict(primary.items()) == dict(cache.items()) == {"a": b"6", "b": b"2", "c": b"3", "d": b"4"}
    del store["a"]
    store.delete_many(["b", "zz"])
    assert dict(primary.items()) == dict(cache.items()) == {"c": b"3", "d": b"4"}
    assert "c" in store
    assert "a" not in store


def test_listing_and_len_come_from_the_primary() -> None:
    primary = MemoryStore[str, bytes]({"x/1": b"", "x/2": b"", "y": b""})
    store = CacheStore(primary, MemoryStore[str, bytes]({"stale-only-in-cache": b""}))
    assert sorted(store.keys(prefix="x/")) == ["x/1", "x/2"]
    assert len(store) == 3


def test_capabilities_are_the_primarys(tmp_path: Path) -> None:
    with CacheStore(SQLiteStore(tmp_path / "p.db"), MemoryStore[str, bytes]()) as store:
        assert store.is_persistent is True
        assert store.supports_atomic_writes is True


def test_generic_types_are_kept() -> None:
    store: Store[int, list[str]] = CacheStore(MemoryStore[int, list[str]](), MemoryStore[int, list[str]]())
    store[1] = ["a"]
    assert store[1] == ["a"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="queue_size"):
        CacheStore(MemoryStore[str, bytes](), MemoryStore[str, bytes](), queue_size=0)
    with pytest.raises(ConfigurationError, match="Expected a Store for the cache"):
        CacheStore(MemoryStore[str, bytes](), {})  # type: ignore[arg-type]  # the point of the test


class _RecordsOnClose(MemoryStore[str, bytes]):
    def close(self) -> None:
        self.seen_at_close = dict(self._data)
        super().close()


@pytest.mark.parametrize("write_behind", [False, True])
def test_close_drains_and_closes_everything(write_behind: bool) -> None:
    primary, cache = MemoryStore[str, bytes](), _RecordsOnClose()
    store = CacheStore(primary, cache, write_behind=write_behind)
    store.set_many({f"k{i}": b"v" for i in range(50)})
    store.close()
    store.close()  # idempotent
    assert len(cache.seen_at_close) == 50
    for call in (lambda: store["k1"], lambda: store.__setitem__("k", b""), lambda: len(store)):
        with pytest.raises(StoreClosed):
            call()
    with pytest.raises(StoreClosed):
        primary["k1"]


def test_repr() -> None:
    store = CacheStore(MemoryStore[str, bytes](), MemoryStore[str, bytes](), write_behind=True)
    assert repr(store).endswith("write_behind=True)")
    store.close()
