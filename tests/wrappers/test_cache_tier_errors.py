"""A cache that raises what is not a degraded-cache error: the caches after it still get the write,
the failing one forgets the key, and no read serves an older value; a cache that refuses a key
(InvalidKey) is skipped for that key. Both APIs, with and without write-behind."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from nstore import MemoryStore
from nstore.errors import ConfigurationError, EncodeError
from nstore.store import item_pairs
from nstore.stores.file import FileStore
from tests.astores.facade import LoopThread
from tests.wrappers._both import APIS, cached
from tests.wrappers._stores import WritesChecked

BOTH = pytest.mark.parametrize("api", APIS)
MODES = pytest.mark.parametrize("write_behind", [False, True], ids=["through", "behind"])
#: What the refusing caches here raise: errors of the caller's, not of a degraded cache.
REFUSED = (ConfigurationError, EncodeError)


class _Refusing(WritesChecked[Any]):
    """A memory store whose writes and deletes raise ConfigurationError while ``refuse`` is set."""

    refuse = False

    def _check(self) -> None:
        if self.refuse:
            raise ConfigurationError("Expected a value this cache accepts. Got one it refuses (switched on).")


class _BytesOnly(MemoryStore[str, Any]):
    """A memory store whose writes raise EncodeError for a value that is not bytes (as a codec would)."""

    def set_many(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], /, *, ttl: float | None = None
    ) -> None:
        pairs = list(item_pairs(items))
        for _, value in pairs:
            if not isinstance(value, bytes):
                raise EncodeError(f"Expected bytes. Got {type(value).__name__} instead.")
        super().set_many(pairs, ttl=ttl)


def _raised_once(*steps: Callable[[], object]) -> int:
    """Run the steps; how many raised a refusing cache's error (reported once)."""
    count = 0
    for step in steps:
        try:
            step()
        except REFUSED:
            count += 1
    return count


def _reads(read: Callable[[], object]) -> list[object]:
    """Three reads; a read whose fill of the refusing cache raised counts as ``"error"``."""
    got: list[object] = []
    for _ in range(3):
        try:
            got.append(read())
        except REFUSED:
            got.append("error")
    return got


@BOTH
@MODES
@pytest.mark.parametrize("refusing", ["maxbytes", "encode"])
def test_an_error_in_a_cache_still_updates_the_caches_after_it(
    api: str, write_behind: bool, refusing: str, loop: LoopThread
) -> None:
    primary = MemoryStore[str, Any]()
    # An int has no len() for maxbytes (ConfigurationError), and is no bytes to encode (EncodeError).
    first = MemoryStore[str, Any](maxbytes=1000) if refusing == "maxbytes" else _BytesOnly()
    second = MemoryStore[str, Any]()
    c = cached(api, loop, primary, first, second, write_behind=write_behind)
    store: Any = c.store  # it takes what its stores take: any value
    store["k"] = b"old"
    c.flush()
    assert _raised_once(lambda: store.__setitem__("k", 42), c.flush) == 1
    c.flush()
    assert primary["k"] == 42
    assert second["k"] == 42  # the cache after the failing one has the new value
    assert "k" not in first  # the failing one forgot the old one
    assert set(_reads(lambda: c.store["k"])) <= {42, "error"}
    assert set(_reads(lambda: c.store.get_many(["k"])["k"])) <= {42, "error"}
    _raised_once(*[c.flush] * 10)  # the errors of the reads' fills, reported one by one
    c.store["k"] = b"new"  # a value every cache takes
    c.flush()
    assert c.store["k"] == first["k"] == second["k"] == b"new"
    _raised_once(c.store.close)


@BOTH
@MODES
def test_a_cache_that_cannot_forget_a_key_is_skipped_for_it(
    api: str, write_behind: bool, loop: LoopThread
) -> None:
    primary, first, second = MemoryStore[str, Any](), _Refusing(), MemoryStore[str, Any]()
    c = cached(api, loop, primary, first, second, write_behind=write_behind)
    c.store["k"] = b"old"
    c.flush()
    first.refuse = True  # neither the write nor its invalidation reaches the first cache
    assert _raised_once(lambda: c.store.__setitem__("k", b"new"), c.flush) == 1
    c.flush()
    assert first["k"] == b"old"
    assert second["k"] == b"new"
    assert set(_reads(lambda: c.store["k"])) <= {b"new", "error"}
    assert set(_reads(lambda: c.store.get_many(["k"])["k"])) <= {b"new", "error"}
    first.refuse = False
    _raised_once(*[c.flush] * 10)  # the errors of the reads' fills, reported one by one
    c.store["k"] = b"newer"
    c.flush()
    assert c.store["k"] == first["k"] == b"newer"
    c.store.close()


@BOTH
@MODES
def test_a_key_the_cache_refuses_is_served_by_the_primary(
    api: str, write_behind: bool, loop: LoopThread, tmp_path: Path
) -> None:
    primary, files = MemoryStore[str, bytes](), FileStore(tmp_path / "cache")
    c = cached(api, loop, primary, files, write_behind=write_behind, count_hits=True)
    c.store["a//b"] = b"v"  # no file can be named so: the cache skips the key, the write succeeds
    c.store.set_many({"ok": b"1", "a//c": b"2"})
    c.flush()
    assert primary.get_many(["a//b", "ok", "a//c"]) == {"a//b": b"v", "ok": b"1", "a//c": b"2"}
    assert list(files.keys()) == ["ok"]
    assert c.store["a//b"] == b"v"
    assert "a//b" in c.store
    assert c.store.get_many(["a//b", "ok", "a//c", "none"]) == {"a//b": b"v", "ok": b"1", "a//c": b"2"}
    c.flush()
    assert list(files.keys()) == ["ok"]
    del c.store["a//b"]
    c.flush()
    assert "a//b" not in c.store
    assert sorted(c.store.keys()) == ["a//c", "ok"]
    assert c.stats().write_failures == 0
    c.store.close()
