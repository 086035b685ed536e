"""SQLiteStore on files that are not its own: corruption and foreign files raise CorruptStore,
never a silent empty store."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from nstore.errors import CorruptStore, StoreError
from nstore.stores.sqlite import SQLiteStore


def test_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: milk, eggs\n" * 100)
    with pytest.raises(CorruptStore, match="not a readable SQLite database"):
        SQLiteStore(path)
    assert path.read_text().startswith("shopping list")  # left untouched


def make_foreign_table(path: Path) -> None:
    """A database of another program with a table named ``nstore`` (rollback journal mode)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE nstore (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO nstore (name) VALUES ('someone else')")
    conn.commit()
    conn.close()


def test_foreign_table_of_the_same_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    make_foreign_table(path)
    with pytest.raises(CorruptStore, match=r"not an nstore table .*found id INTEGER, name TEXT"):
        SQLiteStore(path)
    with SQLiteStore(path, table="mine") as store:  # another table in the same file is fine
        store["k"] = b"v"
        assert list(store) == ["k"]


def test_foreign_tables_in_the_file_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    with SQLiteStore(path) as store:
        store["k"] = b"v"
    conn = sqlite3.connect(path)
    tables = sorted(row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    conn.close()
    assert tables == ["nstore", "users"]


def test_garbage_after_the_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.set_many({f"k{i}": os.urandom(300) for i in range(2000)})
    data = bytearray(path.read_bytes())
    assert data.startswith(b"SQLite format 3\x00")
    data[100:] = b"\xa5" * (len(data) - 100)  # the header survives, every page is garbage
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStore, match="Restore it from a backup"):
        SQLiteStore(path)


def test_corrupt_index_pages_raise_on_use(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.set_many({f"k{i:05d}": b"v" * 300 for i in range(3000)})
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    # Overwrite the second half of the file (index and table pages), keep the schema page.
    half = (len(data) // page // 2) * page
    data[half:] = b"\xff" * (len(data) - half)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStore):  # noqa: PT012  # opening or reading must notice
        store = SQLiteStore(path)
        for key in store:
            store[key]
        store.get_many([f"k{i:05d}" for i in range(3000)])


def test_truncated_file_is_never_a_silent_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.set_many({f"k{i:05d}": b"v" * 300 for i in range(3000)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptStore):  # noqa: PT012  # opening or reading must notice
        store = SQLiteStore(path)
        assert len(store) == 3000  # if it opens, it must not pretend to be empty
        list(store)


def test_empty_file_becomes_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"")
    with SQLiteStore(path) as store:
        assert len(store) == 0
        store["k"] = b"v"
    with SQLiteStore(path) as store:
        assert store["k"] == b"v"


def test_errors_are_store_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"\x00" * 5000)
    with pytest.raises(StoreError):
        SQLiteStore(path)
