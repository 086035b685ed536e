"""A size-bounded SQLiteStore (``max_bytes=``, ``eviction=``): it joins the StoreTests suite with a
bound it never reaches, and keeps its bound, its byte count and its policy's order when it does.

Ground truth is the table, read through a separate sqlite3 connection: the bytes of its keys and
values, and the count that ``nstore_caches`` keeps for it.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore import Store
from nstore.errors import ConfigurationError, UnsupportedOperation, ValueTooLarge
from nstore.stores._sqlite_cache import ACCESS_BATCH, HEADROOM
from nstore.stores._sqlite_schema import total_sql
from nstore.stores.sqlite import Eviction, SQLiteStore
from tests.stores import test_sqlite

#: The smallest bound that evicts down to 1,000 bytes: ten 100-byte keys and values fit, the
#: eleventh makes the store evict exactly one of them.
ROOM_FOR_1000 = next(m for m in range(1000, 2000) if m - m // HEADROOM >= 1000)


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
    """The bytes of the table's keys and values, and what its layout keeps of them."""
    conn = sqlite3.connect(path)
    try:
        total = conn.execute(
            f"SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0) FROM {table}"
        ).fetchone()[0]
        policy = conn.execute("SELECT policy FROM nstore_caches WHERE name = ?", (table,)).fetchone()[0]
        kept = conn.execute(total_sql(table, policy.split("/")[0])).fetchone()[0]
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
    with SQLiteStore(tmp_path / "c.db", max_bytes=ROOM_FOR_1000, eviction="fifo") as store:
        for i in range(10):
            store[f"k{i}"] = b"x" * 98  # 100 bytes with the key
        store["k0"] = b"y" * 98  # written again: now the newest
        assert store["k1"] == b"x" * 98  # reads change nothing under fifo
        store["k10"] = b"x" * 97
        assert sorted(store) == ["k0", "k10", *(f"k{i}" for i in range(2, 10))]
        assert store.stats.evictions == 1


def test_under_fifo_every_kind_of_write_makes_a_key_the_newest(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=ROOM_FOR_1000, eviction="fifo") as store:
        for i in range(10):
            store[f"k{i}"] = b"x" * 98
        assert store.compare_and_set("k0", b"x" * 98, b"y" * 98)
        _, version = store.get_with_version("k1")
        assert store.compare_and_set_version("k1", version, b"y" * 98)
        store.set_many({"k2": b"y" * 98})
        store.set("k3", b"y" * 98, ttl=600)
        store.set("k4", b"x" * 95, ttl=0.001)  # 100 bytes with the key, expires at once
        while "k4" in store:
            pass
        assert store.set_if_absent("k4", b"y" * 98)  # over an expired key: a new write
        for i in range(5):
            store[f"n{i}"] = b"x" * 98
        assert sorted(store) == sorted(["k0", "k1", "k2", "k3", "k4", "n0", "n1", "n2", "n3", "n4"])
        assert store.stats.evictions == 5


def test_lru_keeps_what_was_read_lately(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db", max_bytes=ROOM_FOR_1000, eviction="lru") as store:
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
    with SQLiteStore(tmp_path / "c.db", max_bytes=ROOM_FOR_1000, eviction="lfu") as store:
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
    with SQLiteStore(tmp_path / "c.db", max_bytes=ROOM_FOR_1000, eviction="fifo") as store:
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


def _earlier_layout(path: Path, policy: str) -> None:
    """Make the table of ``path`` a bounded table as versions before the running total left it:
    ``nstore_caches.bytes`` the table's bytes, kept by three triggers, and an index on rank."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE nstore_caches (name TEXT PRIMARY KEY NOT NULL, policy TEXT NOT NULL, "
            "bytes INTEGER NOT NULL) WITHOUT ROWID"
        )
        size = "length(CAST({r}.key AS BLOB)) + length({r}.value)"
        db.execute(
            f"INSERT INTO nstore_caches SELECT 'nstore', ?, coalesce(sum({size.format(r='nstore')}), 0) "
            "FROM nstore",
            (policy,),
        )
        count = "UPDATE nstore_caches SET bytes = bytes {} WHERE name = 'nstore';"
        new, old = size.format(r="NEW"), size.format(r="OLD")
        for name, event, change in (
            ("insert", "INSERT", f"+ {new}"),
            ("delete", "DELETE", f"- {old}"),
            ("update", "UPDATE OF key, value", f"+ {new} - {old}"),
        ):
            body = count.format(change)
            db.execute(f"CREATE TRIGGER nstore__bytes_{name} AFTER {event} ON nstore BEGIN {body} END")
        db.execute("CREATE INDEX nstore__rank ON nstore (rank)")


@pytest.mark.parametrize("eviction", ["fifo", "lru"])
def test_a_table_ordered_by_a_rank_index_is_upgraded_in_place(tmp_path: Path, eviction: Eviction) -> None:
    # fifo and lru tables of earlier versions held their order in rank, with an index on it (an
    # overwrite renewed the rank, not the rowid), and their bytes in nstore_caches.
    path = tmp_path / "c.db"
    with SQLiteStore(path) as store:
        for i in range(10):
            store[f"k{i}"] = bytes([i]) * 98
    _earlier_layout(path, eviction)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE nstore SET rank = 20 - rowid")  # k9 the oldest, k0 the newest
        db.execute("UPDATE nstore SET rank = NULL WHERE key = 'k5'")  # by a store without a bound
        db.execute("UPDATE nstore SET rank = 100, value = ? WHERE key = 'k7'", (b"y" * 98,))
        before = sorted(db.execute("SELECT key, value, version FROM nstore"))
    with SQLiteStore(path, max_bytes=ROOM_FOR_1000, eviction=eviction) as store:
        assert held(path) == (1000, 1000)
        with sqlite3.connect(path) as db:
            assert sorted(db.execute("SELECT key, value, version FROM nstore")) == before
            assert db.execute("SELECT name FROM sqlite_master WHERE name = 'nstore__rank'").fetchone() is None
            assert db.execute(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE 'nstore__bytes%'"
            ).fetchone() == (0,)
            assert db.execute("SELECT policy FROM nstore_caches").fetchone() == (f"{eviction}/2",)
            assert [k for (k,) in db.execute("SELECT key FROM nstore ORDER BY rowid")] == [
                *("k5", "k9", "k8", "k6", "k4", "k3", "k2", "k1", "k0", "k7"),
            ]
        for i in range(3):
            store[f"n{i}"] = b"x" * 98
        assert sorted(store) == sorted(["k6", "k4", "k3", "k2", "k1", "k0", "k7", "n0", "n1", "n2"])
        assert held(path) == (1000, 1000)


def test_an_ordered_table_says_its_layout_in_its_policy(tmp_path: Path) -> None:
    # Versions before the running total compared the stored policy with their own: "fifo/2" is
    # none of theirs, so they refuse the table instead of reading its bytes as the table's.
    path = tmp_path / "c.db"
    SQLiteStore(path, max_bytes=10_000, eviction="fifo").close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT policy FROM nstore_caches").fetchone() == ("fifo/2",)
    with pytest.raises(ConfigurationError, match="eviction='fifo'"):
        SQLiteStore(path, max_bytes=10_000, eviction="lfu")


@pytest.mark.parametrize("eviction", ["fifo", "lru", "lfu"])
def test_every_kind_of_write_by_bounded_and_unbounded_stores_keeps_the_count_exact(
    tmp_path: Path, eviction: Eviction
) -> None:
    path = tmp_path / "c.db"
    rng = random.Random(7)
    bound = SQLiteStore(path, max_bytes=12_000, eviction=eviction)
    plain = SQLiteStore(path)  # writes through the triggers only
    keys = [f"k{i:03}" for i in range(80)]
    try:
        for step in range(600):
            store = rng.choice([bound, plain])
            key = rng.choice(keys)
            value = bytes([step % 251]) * rng.randrange(0, 900)
            op = rng.randrange(11)
            if op == 0:
                store.set_many({k: value[: rng.randrange(0, 300)] for k in rng.sample(keys, 4)})
            elif op == 1:
                store.pop(key, None)
            elif op == 2:  # the newest row, by rowid
                with sqlite3.connect(path) as db:
                    row = db.execute("SELECT key FROM nstore ORDER BY rowid DESC LIMIT 1").fetchone()
                if row is not None:
                    store.pop(row[0], None)
            elif op == 3 and key in store:
                store.compare_and_set(key, store[key], value)
            elif op == 4:
                store.set_if_absent(key, value)
            elif op == 5:
                store.set(key, value, ttl=rng.choice([0.001, 600]))
            elif op == 6 and key in store:
                store.touch(key, ttl=rng.choice([None, 600]))
            elif op == 7:
                bound.get(key)  # a recorded read (lru and lfu)
            elif op == 8:
                store.delete_many(rng.sample(keys, 3))
            elif op == 9:
                with contextlib.suppress(RuntimeError), store.transaction():
                    store[key] = value
                    raise RuntimeError("rolled back")
            else:
                store[key] = value
            total, kept = held(path)
            assert total == kept, (step, op)
        assert bound.stats.evictions > 0
        bound.purge_expired()
        for key in list(bound):
            del bound[key]
        assert held(path) == (0, 0)
    finally:
        bound.close()
        plain.close()


def test_an_lru_read_moves_its_row_to_the_end_unless_it_is_young(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    # 256 rows of 100 bytes under a bound of 100,000: only rows with fewer than 25,000 bytes
    # written after them (the newest 250) are young.
    with SQLiteStore(path, max_bytes=100_000, eviction="lru") as store:
        store.set_many({f"k{i:03}": b"x" * 96 for i in range(ACCESS_BATCH)})
        for key in ["k005", "k004", "k003", "k002", "k001", "k000", "k255"]:
            store[key]
    # close() wrote the reads: the old rows moved to the end in the order read, k255 stayed
    with sqlite3.connect(path) as db:
        order = [k for (k,) in db.execute("SELECT key FROM nstore ORDER BY rowid")]
    assert order[-6:] == ["k005", "k004", "k003", "k002", "k001", "k000"]
    assert order[:-6] == [f"k{i:03}" for i in range(6, ACCESS_BATCH)]
    assert held(path)[0] == held(path)[1]


def test_the_running_total_starts_again_before_it_loses_precision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nstore.stores import _sqlite_cache

    monkeypatch.setattr(_sqlite_cache, "RENUMBER_AT", 5_000)
    path = tmp_path / "c.db"
    with SQLiteStore(path, max_bytes=2_000, eviction="fifo") as store:
        for i in range(100):
            store[f"k{i:03}"] = b"x" * 96
            assert held(path)[0] == held(path)[1]
        with sqlite3.connect(path) as db:
            newest = db.execute("SELECT rank FROM nstore ORDER BY rowid DESC LIMIT 1").fetchone()[0]
            assert newest <= 5_000 + 2_000
        assert sorted(store)[-1] == "k099"
