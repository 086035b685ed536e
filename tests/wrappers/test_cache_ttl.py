"""Expiry through a cache store, both APIs, with and without write-behind: a cache entry never
outlives the primary's value, whether the deadline came with the write, from the primary's ttl()
on a fill, from the primary's own default, or from a touch; a cache without expiry keeps nothing
that expires. Real time, short ttls: a test only asserts that a key past its ttl is gone and that
a key with a long ttl is there (load can delay a test, never fail it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nstore import MemoryStore, Store
from nstore.errors import MissingKey, UnsupportedOperation
from nstore.stores.file import FileStore
from tests.astores.facade import LoopThread
from tests.wrappers._both import APIS, cached

SHORT = 0.3
LONG = 600.0
#: A cache counts an entry's ttl from when it receives the write, so its deadline can be later than
#: the primary's by the time the call to it took (a thread hop through AsyncAdapter, a thread
#: switch) beyond the 1 ms margin: ms on a loaded machine; this bounds it for the tests.
CALL = 0.1

BOTH = pytest.mark.parametrize("api", APIS)
MODES = pytest.mark.parametrize("write_behind", [False, True], ids=["through", "behind"])


def _wait_out() -> None:
    time.sleep(SHORT + 0.4)


def _gone(store: Store[str, bytes], key: str) -> None:
    with pytest.raises(MissingKey):
        store[key]
    assert key not in store
    assert store.get_many([key]) == {}


@BOTH
@MODES
def test_a_set_with_ttl_gives_the_cache_entry_the_same_deadline(
    api: str, write_behind: bool, loop: LoopThread
) -> None:
    primary, cache = MemoryStore[str, bytes](), MemoryStore[str, bytes]()
    c = cached(api, loop, primary, cache, write_behind=write_behind)
    assert c.store.supports_ttl
    c.store.set("short", b"1", ttl=SHORT)
    c.store.set_many({"many": b"2"}, ttl=SHORT)
    c.store.set("long", b"3", ttl=LONG)
    c.flush()
    for key in ("short", "many", "long"):
        left, cached_left = primary.ttl(key), cache.ttl(key)
        assert left is not None
        assert cached_left is not None
        assert cached_left <= left + CALL  # no later than the primary's but for the call's time
    assert c.store["short"] == b"1"
    _wait_out()
    _gone(c.store, "short")
    _gone(c.store, "many")
    assert c.store["long"] == b"3"
    c.store.close()


@BOTH
@MODES
def test_a_fill_learns_the_primarys_ttl(api: str, write_behind: bool, loop: LoopThread) -> None:
    primary, first, second = MemoryStore[str, bytes](), MemoryStore[str, bytes](), MemoryStore[str, bytes]()
    primary.set("k", b"v", ttl=SHORT)  # written behind the cache store
    primary.set("m", b"w", ttl=SHORT)
    c = cached(api, loop, primary, first, second, write_behind=write_behind)
    assert c.store["k"] == b"v"  # a miss: filled into both caches, with the primary's deadline
    assert c.store.get_many(["m"]) == {"m": b"w"}
    c.flush()
    for cache in (first, second):
        left = cache.ttl("k")
        assert left is not None
        assert left <= SHORT
    _wait_out()
    _gone(c.store, "k")
    _gone(c.store, "m")
    c.store.close()


@BOTH
@MODES
def test_a_plain_write_learns_the_primarys_default_ttl(
    api: str, write_behind: bool, loop: LoopThread
) -> None:
    primary = MemoryStore[str, bytes](ttl=SHORT)  # every write expires by default
    cache = MemoryStore[str, bytes]()
    c = cached(api, loop, primary, cache, write_behind=write_behind)
    c.store["k"] = b"v"
    c.store.set_many({"m": b"w"})
    assert c.store.set_if_absent("n", b"x") is True
    assert c.store["k"] == b"v"
    c.flush()
    assert cache.ttl("k") is not None
    _wait_out()
    for key in ("k", "m", "n"):
        _gone(c.store, key)
    c.store.close()


@BOTH
@MODES
def test_touch_updates_the_primary_and_the_caches(api: str, write_behind: bool, loop: LoopThread) -> None:
    primary, cache = MemoryStore[str, bytes](), MemoryStore[str, bytes]()
    c = cached(api, loop, primary, cache, write_behind=write_behind)
    c.store.set("shortened", b"1", ttl=LONG)
    c.store.set("kept", b"2", ttl=SHORT)
    assert c.store["shortened"] == b"1"
    c.flush()
    c.store.touch("shortened", ttl=SHORT)
    c.store.touch("kept", ttl=None)
    assert c.store.ttl("kept") is None
    c.flush()
    assert cache.get("kept") in (None, b"2")  # kept, or forgotten: never with the old deadline
    if "kept" in cache:
        assert cache.ttl("kept") is None
    _wait_out()
    _gone(c.store, "shortened")
    assert c.store["kept"] == b"2"
    with pytest.raises(MissingKey):
        c.store.touch("absent", ttl=LONG)
    c.store.close()


@BOTH
@MODES
def test_a_cache_without_expiry_keeps_no_expiring_value(
    api: str, write_behind: bool, loop: LoopThread, tmp_path: Path
) -> None:
    primary, files = MemoryStore[str, bytes](), FileStore(tmp_path / "cache")
    assert not files.supports_ttl
    c = cached(api, loop, primary, files, write_behind=write_behind)
    c.store.set("timed", b"1", ttl=SHORT)
    c.store["plain"] = b"2"
    primary.set("filled", b"3", ttl=SHORT)
    assert c.store["filled"] == b"3"
    assert c.store["plain"] == b"2"
    c.flush()
    assert sorted(files) == ["plain"]  # what expires stays out of a cache that cannot expire it
    c.store.touch("plain", ttl=SHORT)
    c.flush()
    assert list(files) == []
    _wait_out()
    for key in ("timed", "filled", "plain"):
        _gone(c.store, key)
    c.store.close()


@BOTH
def test_over_a_primary_without_expiry_a_ttl_is_refused(api: str, loop: LoopThread, tmp_path: Path) -> None:
    c = cached(api, loop, FileStore(tmp_path / "primary"), MemoryStore[str, bytes]())
    assert not c.store.supports_ttl
    with pytest.raises(UnsupportedOperation):
        c.store.set("k", b"v", ttl=5)
    with pytest.raises(UnsupportedOperation):
        c.store.set_many({"k": b"v"}, ttl=5)
    c.store["k"] = b"v"
    with pytest.raises(UnsupportedOperation):
        c.store.touch("k", ttl=5)
    assert c.store.ttl("k") is None
    assert c.store["k"] == b"v"
    c.store.close()


@BOTH
@MODES
def test_over_redis_a_cache_entry_expires_with_the_primarys(
    api: str, write_behind: bool, loop: LoopThread, redis_url: str
) -> None:
    from nstore import RedisStore

    primary, cache = RedisStore(redis_url, timeout=5), MemoryStore[str, bytes]()
    assert primary.supports_ttl
    c = cached(api, loop, primary, cache, write_behind=write_behind)
    c.store.set("written", b"1", ttl=SHORT)  # Redis keeps milliseconds: the cache's is 1 ms early
    primary.set("filled", b"2", ttl=SHORT)
    assert c.store["filled"] == b"2"
    c.flush()
    for key in ("written", "filled"):
        left, cached_left = primary.ttl(key), cache.ttl(key)
        assert left is not None
        assert cached_left is not None
        assert cached_left <= left + CALL
    _wait_out()
    _gone(c.store, "written")
    _gone(c.store, "filled")
    c.store.close()
