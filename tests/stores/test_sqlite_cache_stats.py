"""``stats.evictions`` of a bounded SQLiteStore counts committed evictions only: those of a
write inside ``transaction()`` count when that transaction commits, never if it rolls back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore.stores.sqlite import SQLiteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "c.db", max_bytes=10_000, eviction="fifo") as opened:
        opened.set_many({f"k{i:02}": b"x" * 900 for i in range(10)})  # about 9,030 bytes
        assert opened.stats.evictions == 0
        yield opened


def _evict_five(store: SQLiteStore) -> None:
    store.set_many({f"n{i}": b"y" * 900 for i in range(5)})


def _evict_five_and_abort(store: SQLiteStore) -> None:
    with store.transaction():
        _evict_five(store)
        assert store.stats.evictions == 0  # not committed yet
        raise RuntimeError("abort")


def test_evictions_of_a_rolled_back_transaction_are_not_counted(store: SQLiteStore) -> None:
    with pytest.raises(RuntimeError):
        _evict_five_and_abort(store)
    assert store.stats.evictions == 0
    assert sorted(store) == [f"k{i:02}" for i in range(10)]


def test_evictions_of_a_committed_transaction_are_counted_at_its_commit(store: SQLiteStore) -> None:
    with store.transaction():
        _evict_five(store)
        assert store.stats.evictions == 0
    assert store.stats.evictions == 5
    assert len(store) == 10


def test_evictions_of_a_rolled_back_savepoint_are_not_counted(store: SQLiteStore) -> None:
    with store.transaction():
        store["a"] = b"a"
        with pytest.raises(RuntimeError):
            _evict_five_and_abort(store)  # a savepoint here
        with store.transaction():
            store.set_many({"m0": b"z" * 900, "m1": b"z" * 900})  # evicts 2
    assert store.stats.evictions == 2
    assert "a" in store


def test_evictions_outside_a_transaction_are_counted_at_once(store: SQLiteStore) -> None:
    _evict_five(store)
    assert store.stats.evictions == 5
