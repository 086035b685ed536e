"""Cache behaviour that both APIs share, each case run for CacheStore and AsyncCacheStore, with and
without write-behind: fills, writes, invalidation after failed or refused writes, no stale reads."""

from __future__ import annotations

import pytest

from nstore import MemoryStore
from nstore.errors import MissingKey, StoreUnavailable
from tests.astores.facade import LoopThread
from tests.wrappers._both import APIS, cached
from tests.wrappers._stores import Outage, SlowWrites
from tests.wrappers.test_cache import _RecordsOnClose

BOTH = pytest.mark.parametrize("api", APIS)
MODES = pytest.mark.parametrize("write_behind", [False, True], ids=["through", "behind"])


@BOTH
@MODES
def test_reads_fill_the_caches_in_front(api: str, write_behind: bool, loop: LoopThread) -> None:
    primary = MemoryStore[str, bytes]({"a": b"1", "b": b"2"})
    first, second = MemoryStore[str, bytes](), MemoryStore[str, bytes]({"b": b"2"})
    c = cached(api, loop, primary, first, second, write_behind=write_behind, count_hits=True)
    assert c.store["a"] == b"1"  # a miss: from the primary, then into both caches
    assert c.store["b"] == b"2"  # a hit in the second cache, then into the first
    c.flush()
    assert dict(first.items()) == dict(second.items()) == {"a": b"1", "b": b"2"}
    assert c.store.get_many(["a", "b", "c"]) == {"a": b"1", "b": b"2"}
    with pytest.raises(MissingKey):
        c.store["c"]
    stats = c.stats()
    assert (stats.hits, stats.misses) == (3, 3)
    c.store.close()


@BOTH
@MODES
def test_writes_reach_the_primary_at_once_and_the_caches_by_flush(
    api: str, write_behind: bool, loop: LoopThread
) -> None:
    primary, cache = MemoryStore[str, bytes](), MemoryStore[str, bytes]()
    c = cached(api, loop, primary, SlowWrites(cache, 0.001), write_behind=write_behind)
    for i in range(20):
        c.store[f"k{i}"] = b"%d" % i
        assert primary[f"k{i}"] == b"%d" % i  # in the primary when the write returns
        assert c.store[f"k{i}"] == b"%d" % i  # and read back, written to the cache or not
    c.store.set_many({"m": b"1", "n": b"2"})
    del c.store["k0"]
    c.store.delete_many(["k1", "zz"])
    c.flush()
    assert c.stats().pending == 0
    assert dict(cache.items()) == dict(primary.items())
    assert "k0" not in c.store
    c.store.close()


@BOTH
@MODES
def test_refused_conditional_writes_forget_the_cached_value(
    api: str, write_behind: bool, loop: LoopThread
) -> None:
    primary, cache = MemoryStore[str, bytes]({"a": b"old"}), MemoryStore[str, bytes]()
    c = cached(api, loop, primary, cache, write_behind=write_behind)
    assert c.store["a"] == b"old"
    c.flush()
    primary["a"] = b"new"  # behind the cache's back (another process, say)
    assert c.store["a"] == b"old"  # stale, as documented, until ...
    assert c.store.compare_and_set("a", b"old", b"x") is False  # ... a write says otherwise
    assert c.store["a"] == b"new"
    primary["b"] = b"there"
    assert c.store.set_if_absent("b", b"mine") is False
    assert c.store["b"] == b"there"
    # With write-behind the invalidations may still be queued when those reads ran, and a read
    # does not fill over a pending write of its key; once they are applied, reads fill again.
    c.flush()
    assert c.store["a"] == b"new"
    assert c.store["b"] == b"there"
    c.flush()
    assert dict(cache.items()) == {"a": b"new", "b": b"there"}
    c.store.close()


@BOTH
@MODES
def test_a_write_that_failed_in_the_primary_forgets_the_cached_value(
    api: str, write_behind: bool, loop: LoopThread
) -> None:
    primary = Outage({"a": b"old"})
    cache = MemoryStore[str, bytes]()
    c = cached(api, loop, primary, cache, write_behind=write_behind)
    assert c.store["a"] == b"old"
    c.flush()
    primary.down = True
    with pytest.raises(StoreUnavailable):
        c.store["a"] = b"new"
    c.flush()
    assert "a" not in cache  # the primary may or may not have it: the cache must not answer
    primary.down = False
    assert c.store["a"] == b"old"
    c.store.close()


@BOTH
def test_write_behind_reads_its_own_writes_before_the_caches_have_them(api: str, loop: LoopThread) -> None:
    primary, cache = MemoryStore[str, bytes]({"a": b"0"}), MemoryStore[str, bytes]({"a": b"0"})
    c = cached(api, loop, primary, SlowWrites(cache, 0.02), write_behind=True, queue_size=64)
    for i in range(1, 6):
        c.store["a"] = b"%d" % i
        assert c.store["a"] == b"%d" % i
        assert c.store.get_many(["a"]) == {"a": b"%d" % i}
    del c.store["a"]
    assert "a" not in c.store
    with pytest.raises(MissingKey):
        c.store["a"]
    assert c.stats().pending >= 1  # the cache is still behind
    c.flush()
    assert "a" not in cache
    c.store.close()


@BOTH
@MODES
def test_close_applies_every_queued_write(api: str, write_behind: bool, loop: LoopThread) -> None:
    primary, cache = MemoryStore[str, bytes](), _RecordsOnClose()
    c = cached(api, loop, primary, SlowWrites(cache, 0.001), write_behind=write_behind, queue_size=4)
    c.store.set_many({f"k{i}": b"v" for i in range(10)})
    for i in range(10):
        c.store[f"j{i}"] = b"w"
    c.store.close()  # aclose() for the async store: flushes, then closes the caches and the primary
    assert len(cache.seen_at_close) == 20
