"""A size-bounded SQLiteStore (``max_bytes=``, ``eviction=``): it joins the StoreTests suite with a
bound it never reaches, and keeps its bound, its byte count and its policy's order when it does.

Ground truth is the table, read through a separate sqlite3 connection: the bytes of its keys and
values, and the count that ``nstore_caches`` keeps for it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore import Store
from nstore.errors import ConfigurationError, UnsupportedOperation, ValueTooLarge
from nstore.stores._sqlite_cache import ACCESS_BATCH, HEADROOM
from nstore.stores.sqlite import Eviction, SQLiteStore
from tests.stores import test_sqlite


class TestBoundedSQLiteStore(test_sqlite.TestSQLiteStore):  # not imported by name: run once
    eviction: Eviction = "lru"

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store[str, bytes]]:
        with SQLiteStore(tmp_path / "store.db", max_bytes=1 << 40, eviction=self.eviction) as store:
            yield store


class TestBoundedSQLiteStoreLFU(TestBoundedSQLiteStore):
    eviction: Eviction = "lfu"


class TestBoundedSQLiteStoreFIFO(TestBoundedSQLiteStore):
    eviction: Eviction = "fifo"


def held(path: Path, table: str = "nstore") -> tuple[int, int]:
    """The bytes of the table's keys and values, and the count kept for it."""
    conn = sqlite3.connect(path)
    try:
        total = conn.execute(
            f"SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0) FROM {table}"
        ).fetchone()[0]
        kept = conn.execute("SELECT bytes FROM nstore_caches WHERE name = ?", (table,)).fetchone()[0]
    finally:
        conn.close()
    return int(total), int(kept)


@pytest.mark.parametrize("eviction", ["lru", "lfu", "fifo"])
def test_the_bound_holds_after_every_write_and_the_count_is_exact(tmp_path: Path, eviction: Eviction) -> None:
    path = tmp_path / "c.db"
    with SQLiteStore(path, max_bytes=20_000, eviction=eviction) as store:
        written = 0
        for i in range(600):
            value = bytes(i % 251 for _ in range(i * 13 % 700))
            if i % 3 == 0:
                store.set_many({f"m/{i}/{j}": value[:50] for j in range(5)})
                written += 5
            else:
                store[f"k/{i:04}"] = value
                written += 1
            total, kept = held(path)
            assert total == kept
            assert total <= 20_000
        assert store.stats.evictions == written - len(store)
        assert store.stats.evictions > 0
        assert total > 20_000 - 2 * 20_000 // HEADROOM - 700  # evicts in batches, not all at once


def test_fifo_evicts_the_oldest_writes_and_an_overwrite_counts_as_new(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=1000 + 1000 // HEADROOM, eviction="fifo") as store:
        for i in range(10):
            store[f"k{i}"] = b"x" * 98  # 100 bytes with the key
        store["k0"] = b"y" * 98  # written again: now the newest
        assert store["k1"] == b"x" * 98  # reads change nothing under fifo
        store["k10"] = b"x" * 97
        assert sorted(store) == ["k0", "k10", *(f"k{i}" for i in range(2, 10))]
        assert store.stats.evictions == 1


def test_lru_keeps_what_was_read_lately(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=1000 + 1000 // HEADROOM, eviction="lru") as store:
        for i in range(10):
            store[f"k{i}"] = b"x" * 98
        assert store["k0"] == b"x" * 98  # recorded in memory, written to the table by the next write
        assert store.get_many(["k1", "nope"]) == {"k1": b"x" * 98}
        store["k10"] = b"x" * 97
        assert "k2" not in store
        assert "k0" in store
        assert "k1" in store
        assert store.stats.hits == 2
        assert store.stats.misses == 1


def test_lfu_keeps_what_is_read_often(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=1000 + 1000 // HEADROOM, eviction="lfu") as store:
        for i in range(10):
            store[f"k{i}"] = b"x" * 98
        for _ in range(3):
            for i in range(1, 10):
                store[f"k{i}"]
        store["k10"] = b"x" * 97  # k0 was read least: evicted first
        assert "k0" not in store
        assert store.stats.evictions == 1


def test_reads_are_written_in_batches_even_without_writes(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with SQLiteStore(path, max_bytes=1 << 30, eviction="lfu") as store:
        store.set_many({f"k{i}": b"v" for i in range(ACCESS_BATCH)})
        for i in range(ACCESS_BATCH - 1):
            store[f"k{i}"]
        conn = sqlite3.connect(path)
        ranks = dict(conn.execute("SELECT key, rank FROM nstore").fetchall())
        assert set(ranks.values()) == {1.0}  # not written yet
        store[f"k{ACCESS_BATCH - 1}"]  # the batch is full: written now, in its own transaction
        ranks = dict(conn.execute("SELECT key, rank FROM nstore").fetchall())
        assert set(ranks.values()) == {2.0}
        conn.close()


def test_the_key_just_written_is_not_evicted_unless_nothing_else_is_left(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=1000, eviction="lfu") as store:
        store.set_many({f"k{i}": b"x" * 98 for i in range(10)})
        for i in range(10):
            store[f"k{i}"]
        store["new"] = b"x" * 200  # the lowest rank, but the write's own
        assert store["new"] == b"x" * 200
        store.set_many({f"big{i}": b"x" * 396 for i in range(3)})  # more than the bound together
        assert len(store) == 2
        assert held(tmp_path / "c.db")[0] <= 1000


def test_a_value_over_the_bound_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=100) as store:
        store["a"] = b"x"
        with pytest.raises(ValueTooLarge, match="max_bytes=100"):
            store["b"] = b"x" * 100  # 101 bytes with its key
        with pytest.raises(ValueTooLarge):
            store.set_many({"c": b"", "d": b"x" * 200})
        with pytest.raises(ValueTooLarge):
            store.set_if_absent("e", b"x" * 200)
        assert list(store) == ["a"]


def test_an_unbounded_table_with_data_becomes_bounded_and_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with SQLiteStore(path) as store:
        store.set_many({f"k{i:03}": b"x" * 96 for i in range(100)})  # 10,000 bytes
    with SQLiteStore(path, max_bytes=5000, eviction="fifo") as store:
        assert held(path) == (10_000, 10_000)
        store["new"] = b"v"
        assert held(path)[0] <= 5000
        assert "new" in store
        assert "k099" in store
    with SQLiteStore(path) as plain:  # an unbounded store on a bounded table: counted, not bounded
        plain["more"] = b"x" * 1000
        total, kept = held(path)
        assert total == kept
    with pytest.raises(ConfigurationError, match="eviction='fifo'"):
        SQLiteStore(path, max_bytes=5000, eviction="lru")


def test_expired_keys_go_first_and_do_not_count_as_evictions(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=1000 + 1000 // HEADROOM, eviction="fifo") as store:
        for i in range(9):
            store[f"k{i}"] = b"x" * 98
        store.set("short", b"x" * 95, ttl=0.001)
        while "short" in store:
            pass
        store["k9"] = b"x" * 98
        assert len(store) == 10
        assert store.stats.evictions == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_bytes": 0}, "max_bytes"),
        ({"max_bytes": -5}, "max_bytes"),
        ({"max_bytes": 1.5}, "max_bytes"),
        ({"max_bytes": True}, "max_bytes"),
        ({"max_bytes": 10, "eviction": "random"}, "eviction"),
        ({"eviction": "LRU"}, "eviction"),
        ({"max_bytes": 10, "read_only": True}, "read_only"),
    ],
)
def test_bad_bounds_are_refused(tmp_path: Path, kwargs: dict[str, object], match: str) -> None:
    SQLiteStore(tmp_path / "c.db").close()
    with pytest.raises(ConfigurationError, match=match):
        SQLiteStore(tmp_path / "c.db", **kwargs)  # type: ignore[arg-type]


def test_stats_belong_to_bounded_stores(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db") as store:
        assert store.max_bytes is None
        assert store.eviction is None
        with pytest.raises(UnsupportedOperation, match="max_bytes"):
            store.stats  # noqa: B018
    with SQLiteStore(tmp_path / "c.db", max_bytes=10_000, eviction="lfu") as store:
        assert store.max_bytes == 10_000
        assert store.eviction == "lfu"
        assert "max_bytes=10000, eviction='lfu'" in repr(store)


def test_url_options_bound_the_store(tmp_path: Path) -> None:
    import nstore.urls

    with nstore.urls.open(f"sqlite://{tmp_path}/c.db?max_bytes=5000&eviction=fifo") as store:
        assert isinstance(store, SQLiteStore)
        assert store.max_bytes == 5000
        assert store.eviction == "fifo"
    with pytest.raises(ConfigurationError, match="eviction"):
        nstore.urls.open(f"sqlite://{tmp_path}/c.db?max_bytes=5000&eviction=mru")
