"""SQLiteStore's per-key expiry beyond the shared cases: a controlled clock, purging, deadlines
shared by processes, and files written before expiry existed (upgraded in place, or read as they
are by a read-only store)."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nstore.errors import ConfigurationError, MissingKey, ReadOnlyError
from nstore.stores._sqlite_expiry import PURGE_BATCH, PURGE_EVERY
from nstore.stores.sqlite import SQLiteStore


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _rows(
    path: Path, sql: str = "SELECT key, value, version, expires FROM nstore ORDER BY key"
) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_an_expired_key_is_absent_at_its_deadline_on_the_stores_clock(tmp_path: Path) -> None:
    clock = Clock()
    with SQLiteStore(tmp_path / "s.db", clock=clock) as store:
        store.set("a", b"1", ttl=10)
        store.set_many({"b": b"2", "c": b"3"}, ttl=20)
        store["d"] = b"4"
        assert store.ttl("a") == 10.0
        assert store.ttl("b") == 20.0
        assert store.ttl("d") is None
        clock.now += 9.5
        assert store["a"] == b"1"
        assert store.ttl("a") == pytest.approx(0.5)
        clock.now += 0.5  # exactly at the deadline: gone
        assert "a" not in store
        assert store.get("a") is None
        assert sorted(store) == ["b", "c", "d"]
        assert len(store) == 3
        assert store.count_keys("a") == 0
        assert store.count_keys("b") == 1
        store.touch("b", ttl=100)
        clock.now += 15
        assert sorted(store) == ["b", "d"]
        assert store.get_many(["a", "b", "c", "d"]) == {"b": b"2", "d": b"4"}
        assert store.keys_page().keys == ["b", "d"]
        with pytest.raises(MissingKey):
            store.get_with_version("c")
        assert not store.compare_and_set_version("c", 1, b"x")
        assert store.compare_and_set_version("c", 0, b"new")  # 0: only if absent, and it is
        assert store["c"] == b"new"
        assert store.ttl("c") is None


def test_expired_rows_stay_until_purged_and_purge_expired_removes_exactly_them(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "s.db"
    with SQLiteStore(path, clock=clock) as store:
        store.set_many({f"old/{i}": b"x" for i in range(50)}, ttl=1)
        store.set_many({f"new/{i}": b"y" for i in range(5)}, ttl=1000)
        store["plain"] = b"z"
        clock.now += 2
        assert len(_rows(path)) == 56  # still in the table, but absent
        assert len(store) == 6
        with pytest.raises(MissingKey):
            del store["old/1"]  # absent: the row is left for the purge
        assert store.purge_expired() == 50
        assert store.purge_expired() == 0
        assert sorted(str(key) for key, *_ in _rows(path)) == sorted(
            [*(f"new/{i}" for i in range(5)), "plain"]
        )


def test_writes_purge_a_bounded_number_of_expired_keys_as_they_go(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "s.db"
    with SQLiteStore(path, clock=clock) as store:
        store.set_many({f"old/{i:04}": b"x" for i in range(1000)}, ttl=1)
        clock.now += 2
        for i in range(PURGE_EVERY):
            store[f"k{i}"] = b"v"  # the purge after these finds PURGE_BATCH expired keys
        assert len(_rows(path)) - PURGE_EVERY == 1000 - PURGE_BATCH
        assert store.count_keys("old/") == 0


def test_deadlines_are_wall_clock_time_shared_by_processes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.set("k", b"v", ttl=600)
        store.set("gone", b"v", ttl=600)
        store.touch("gone", ttl=0.001)
    code = (
        "import sys; from nstore.stores.sqlite import SQLiteStore\n"
        "s = SQLiteStore(sys.argv[1]); t = s.ttl('k')\n"
        "print(590 < t <= 600, 'gone' in s)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_a_bounded_ttl_and_clock_survive_pickling(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db", clock=Clock(5.0)) as store:
        store.set("k", b"v", ttl=1)
        copy = pickle.loads(pickle.dumps(store))
        assert isinstance(copy, SQLiteStore)
        assert copy.ttl("k") == 1.0
        copy.close()


def test_a_ttl_write_of_a_read_only_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    with SQLiteStore(path, read_only=True) as store:
        for write in (
            lambda: store.set("k", b"v", ttl=5),
            lambda: store.set_many({"k": b"v"}, ttl=5),
            lambda: store.touch("k", ttl=5),
            store.purge_expired,
        ):
            with pytest.raises(ReadOnlyError, match="read_only=True"):
                write()
        with pytest.raises(ConfigurationError):
            store.set("k", b"v", ttl=-1)


# -- files from before expiry ----------------------------------------------------------------------

#: The table exactly as SQLiteStore created it before expiry, and how it wrote a value.
_OLD_TABLE = (
    'CREATE TABLE IF NOT EXISTS "nstore" '
    "(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, version INTEGER NOT NULL DEFAULT 1)"
)
_OLD_SET = (
    'INSERT INTO "nstore" (key, value, version) VALUES (?, ?, ((random() & 4611686018427387903) + 1)) '
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1"
)
_OLD_VALUES = {f"k/{i:03}": bytes([i % 256]) * (i * 37 % 5000) for i in range(300)}


def _old_file(path: Path, wal: bool = True) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_OLD_TABLE)
    conn.execute("BEGIN")
    conn.executemany(_OLD_SET, _OLD_VALUES.items())
    conn.execute("COMMIT")
    conn.close()


def test_a_file_from_before_expiry_is_upgraded_in_place_and_keeps_every_value(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_file(path)
    versions: dict[object, object] = dict(_rows(path, "SELECT key, version FROM nstore"))  # type: ignore[arg-type]  # rows of two columns
    with SQLiteStore(path) as store:
        assert store.get_many(list(_OLD_VALUES)) == _OLD_VALUES
        assert len(store) == 300
        assert store.ttl("k/001") is None
        assert store.get_with_version("k/007") == (_OLD_VALUES["k/007"], versions["k/007"])
        store.set("k/001", b"soon", ttl=5)
        assert 0 < (store.ttl("k/001") or 0) <= 5
    columns = [row[1] for row in _rows(path, "PRAGMA table_info(nstore)")]
    assert columns == ["key", "value", "version", "expires", "rank"]
    assert _rows(path, "PRAGMA integrity_check") == [("ok",)]
    with SQLiteStore(path) as store:  # a second open finds it current and changes nothing
        assert {k: store[k] for k in _OLD_VALUES if k != "k/001"} == {
            k: v for k, v in _OLD_VALUES.items() if k != "k/001"
        }


def test_a_read_only_store_reads_a_file_from_before_expiry_without_writing_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_file(path, wal=False)
    before = path.read_bytes()
    with SQLiteStore(path, read_only=True) as store:
        assert store.get_many(list(_OLD_VALUES)) == _OLD_VALUES
        assert store["k/002"] == _OLD_VALUES["k/002"]
        assert "k/002" in store
        assert len(store) == 300
        assert store.count_keys("k/1") == 100
        assert list(store.iter_keys("k/29")) == [f"k/29{i}" for i in range(10)]
        assert store.keys_page("k/", limit=2).keys == ["k/000", "k/001"]
        assert store.ttl("k/003") is None
        with pytest.raises(ReadOnlyError, match="read_only=True"):
            store["new"] = b"v"
        with pytest.raises(ReadOnlyError, match="read_only=True"):
            store.set("new", b"v", ttl=5)
        with pytest.raises(ReadOnlyError, match="read_only=True"):
            store.set_if_absent("new", b"v")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.db"]
    columns = [row[1] for row in _rows(path, "PRAGMA table_info(nstore)")]
    assert columns == ["key", "value", "version"]
