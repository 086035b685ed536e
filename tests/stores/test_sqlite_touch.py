"""What a SQLiteStore may touch in its file: nothing in a file it refuses, nothing when read-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nstore.errors import CorruptStore
from nstore.stores.sqlite import SQLiteStore


def _siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def test_a_refused_foreign_database_is_left_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE nstore (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO nstore (name) VALUES ('someone else')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CorruptStore, match="not an nstore table"):
        SQLiteStore(path)
    assert path.read_bytes() == before
    assert _siblings(path) == {"app.db"}  # no -wal, -shm or -journal left
    assert _journal_mode(path) == "delete"
