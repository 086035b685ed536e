"""ReadOnlyStore: every write refused, every read forwarded.

How ReadOnlyStore joins StoreTests: the suite writes through the API, which a read-only store must
refuse, so it cannot run against a bare ReadOnlyStore. It runs instead against
:class:`_ReadsThroughReadOnly`, a store that sends every *read* (get, contains, len, listing,
get_many, capabilities but atomicity, close) through a ReadOnlyStore and every *write* to the store
beneath it, the way ``raw_set`` plants data. So every read assertion of the suite, including the
stateful dict model, checks ReadOnlyStore's read path against ground truth, and nothing is skipped.
The writes themselves are checked by the tests below this class: each write method raises
ReadOnlyError and leaves the store unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest

from nstore import MemoryStore, Store
from nstore.codecs import Prefix, Utf8
from nstore.errors import ReadOnlyError, StoreClosed
from nstore.wrappers import ForwardingStore, ReadOnlyStore
from tests.stores.base import StoreTests


class _ReadsThroughReadOnly(ForwardingStore[str, bytes]):
    """Reads (and close) forwarded to a ReadOnlyStore; writes sent to the store beneath it."""

    def __init__(self, below: MemoryStore[str, bytes], reads: Store[str, bytes] | None = None) -> None:
        # ``reads``: the read-only store to read through (an async one behind the blocking facade,
        # say); by default a ReadOnlyStore over ``below``.
        super().__init__(ReadOnlyStore(below) if reads is None else reads)
        self.below = below

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self.below[key] = value

    def __delitem__(self, key: str, /) -> None:
        del self.below[key]

    def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        self.below.set_many(items, ttl=ttl)

    def delete_many(self, keys: Iterable[str], /) -> None:
        self.below.delete_many(keys)

    def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        self.below.set(key, value, ttl=ttl)

    def touch(self, key: str, /, *, ttl: float | None) -> None:
        self.below.touch(key, ttl=ttl)

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        return self.below.set_if_absent(key, value)

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        return self.below.compare_and_set(key, expected, value)

    @property
    def supports_atomic_writes(self) -> bool:
        return self.below.supports_atomic_writes  # conditional writes go below, like every write


class TestReadOnlyStoreReads(StoreTests):
    @pytest.fixture
    def store(self) -> Iterator[Store[str, bytes]]:
        with _ReadsThroughReadOnly(MemoryStore[str, bytes]()) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        assert isinstance(store, _ReadsThroughReadOnly)
        return store.below._data.get(key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        assert isinstance(store, _ReadsThroughReadOnly)
        store.below._data[key] = value


WRITES: list[tuple[str, Callable[[Store[str, bytes]], Any]]] = [
    ("set", lambda s: s.__setitem__("a", b"x")),
    ("set new", lambda s: s.__setitem__("new", b"x")),
    ("delete", lambda s: s.__delitem__("a")),
    ("set_many", lambda s: s.set_many({"a": b"x"})),
    ("delete_many", lambda s: s.delete_many(["a"])),
    ("set_if_absent", lambda s: s.set_if_absent("new", b"x")),
    ("compare_and_set", lambda s: s.compare_and_set("a", b"1", b"x")),
    ("pop", lambda s: s.pop("a")),
    ("popitem", lambda s: s.popitem()),
    ("clear", lambda s: s.clear()),
    ("update", lambda s: s.update({"a": b"x"})),
    ("setdefault", lambda s: s.setdefault("new", b"x")),
    ("view set", lambda s: s.with_keys(Prefix("p/")).__setitem__("k", b"x")),
    ("typed view set", lambda s: s.with_values(Utf8()).__setitem__("k", "x")),
]


@pytest.mark.parametrize(("name", "write"), WRITES, ids=[n for n, _ in WRITES])
def test_every_write_is_refused(name: str, write: Callable[[Store[str, bytes]], Any]) -> None:
    below = MemoryStore[str, bytes]({"a": b"1", "b": b"2"})
    store = ReadOnlyStore(below)
    with pytest.raises(ReadOnlyError) as info:
        write(store)
    assert isinstance(info.value, PermissionError)
    assert "read-only" in str(info.value)
    assert dict(below.items()) == {"a": b"1", "b": b"2"}


def test_every_read_is_forwarded() -> None:
    below = MemoryStore[str, bytes]({"a": b"1", "p/b": b"2"})
    store = ReadOnlyStore(below)
    assert store["a"] == b"1"
    assert store.get("zz") is None
    assert "p/b" in store
    assert "zz" not in store
    assert len(store) == 2
    assert sorted(store) == ["a", "p/b"]
    assert list(store.keys(prefix="p/")) == ["p/b"]
    assert store.get_many(["a", "zz"]) == {"a": b"1"}
    assert store.with_keys(Prefix("p/"))["b"] == b"2"
    assert dict(store.items()) == {"a": b"1", "p/b": b"2"}
    below["late"] = b"3"  # the wrapped store stays writable for its owner
    assert store["late"] == b"3"
    assert store.store is below
    assert (store.is_persistent, store.is_remote, store.supports_atomic_writes) == (False, False, False)


def test_close_closes_the_wrapped_store() -> None:
    below = MemoryStore[str, bytes]({"a": b"1"})
    with ReadOnlyStore(below) as store:
        assert store["a"] == b"1"
    with pytest.raises(StoreClosed):
        below["a"]


def test_keeps_key_and_value_types() -> None:
    store: Store[int, list[str]] = ReadOnlyStore(MemoryStore[int, list[str]]({1: ["x"]}))
    assert store[1] == ["x"]
