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
