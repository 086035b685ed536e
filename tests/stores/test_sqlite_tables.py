"""Table names of SQLiteStore: SQLite compares them without case, so a name that differs from an
existing table only in case is refused (it would be the same table under another name)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nstore.errors import ConfigurationError
from nstore.stores.sqlite import SQLiteStore


def test_a_name_differing_only_in_case_from_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    with SQLiteStore(path, table="Users") as store:
        store["ada"] = b"lovelace"
    for read_only in (False, True):
        with pytest.raises(ConfigurationError, match="'Users'") as info:
            SQLiteStore(path, table="users", read_only=read_only)
        assert str(info.value).startswith("Expected ")
    with SQLiteStore(path, table="Users") as store:  # the name as created still opens it
        assert store["ada"] == b"lovelace"
    with SQLiteStore(path, table="users2") as other:  # other names are other tables
        assert "ada" not in other


def test_a_bounded_table_keeps_one_count(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with SQLiteStore(path, table="Cache", max_bytes=20_000, eviction="fifo") as store:
        store.set_many({f"k{i}": b"x" * 1000 for i in range(15)})
        with pytest.raises(ConfigurationError, match="'Cache'"):
            SQLiteStore(path, table="cache", max_bytes=20_000, eviction="fifo")
        assert len(store) == 15
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM nstore_caches").fetchall() == [("Cache",)]


def test_nstore_caches_is_refused_as_a_new_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^Expected a table name other than 'nstore_caches'"):
        SQLiteStore(tmp_path / "d.db", table="nstore_caches")
    with SQLiteStore(tmp_path / "d.db", table="t", max_bytes=1000):
        pass
    with pytest.raises(ConfigurationError, match=r"^Expected a table name other than 'nstore_caches'"):
        SQLiteStore(tmp_path / "e.db", table="Nstore_Caches")


def test_a_store_made_as_nstore_caches_before_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    with sqlite3.connect(path) as db:  # as an older nstore made it, without expiry
        db.execute(
            "CREATE TABLE nstore_caches (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, "
            "version INTEGER NOT NULL DEFAULT 1)"
        )
        db.execute("INSERT INTO nstore_caches VALUES ('a', x'01', 1)")
    db.close()
    with SQLiteStore(path, table="nstore_caches") as store:  # an old file opens as it did
        assert store["a"] == b"\x01"
        with pytest.raises(ConfigurationError, match=r"^Expected the table 'nstore_caches'"):
            SQLiteStore(path, table="t", max_bytes=1000)  # a bounded store needs that name
        assert store["a"] == b"\x01"
    with SQLiteStore(path, table="t") as unbounded:
        unbounded["b"] = b"2"


def test_a_name_held_by_another_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    SQLiteStore(path, table="t").close()  # makes the index t__expires
    with pytest.raises(ConfigurationError, match=r"^Expected a table name that is free"):
        SQLiteStore(path, table="t__expires")
    SQLiteStore(path, table="u__expires").close()
    with pytest.raises(ConfigurationError, match=r"^Expected the name 'u__expires' free"):
        SQLiteStore(path, table="u")
