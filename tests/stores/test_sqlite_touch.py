"""What a SQLiteStore may touch in its file: nothing in a file it refuses, nothing when read-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nstore.errors import CorruptStore
from nstore.stores.sqlite import SQLiteStore
from tests.stores.test_sqlite_files import make_foreign_table


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
    make_foreign_table(path)
    before = path.read_bytes()
    with pytest.raises(CorruptStore, match="not an nstore table"):
        SQLiteStore(path)
    assert path.read_bytes() == before
    assert _siblings(path) == {"app.db"}  # no -wal, -shm or -journal left
    assert _journal_mode(path) == "delete"


def _damaged(path: Path) -> list[str]:
    """A database whose schema page is intact and whose data pages are garbage."""
    import os

    keys = [f"k{i:05}" for i in range(3000)]
    with SQLiteStore(path) as store:
        store.set_many({key: os.urandom(200) for key in keys})
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[2 * page :] = b"\xa5" * (len(data) - 2 * page)
    path.write_bytes(bytes(data))
    return keys


@pytest.mark.parametrize("n", [1, 500, 501, 3000])
def test_every_read_of_a_damaged_database_raises_corrupt_store(tmp_path: Path, n: int) -> None:
    keys = _damaged(tmp_path / "s.db")
    with SQLiteStore(tmp_path / "s.db") as store:
        with pytest.raises(CorruptStore):
            store.get_many(keys[:n])
        with pytest.raises(CorruptStore):
            store[keys[0]]
        with pytest.raises(CorruptStore):
            list(store)
        with pytest.raises(CorruptStore):
            store.set_many(dict.fromkeys(keys[:n], b"v"))
        with pytest.raises(CorruptStore):
            store.delete_many(keys[:n])
        with pytest.raises(CorruptStore), store.transaction():
            store[keys[0]]


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("sqlite:///srv/app.db", "SQLiteStore('/srv/app.db')"),
        ("sqlite:///srv/app.db?durability=full", "nstore.open"),
        ("file:///srv/app.db", "SQLiteStore('/srv/app.db')"),
        ("memory://", "MemoryStore"),
    ],
)
def test_a_url_is_refused_with_what_to_write_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, hint: str
) -> None:
    import re

    from nstore.errors import ConfigurationError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=re.escape(hint)) as info:
        SQLiteStore(url)
    assert "create it first" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_help_shows_sqlitestores_own_docs_not_the_base_defaults() -> None:
    import inspect

    for name in dir(SQLiteStore):
        if name.startswith("_") and name not in ("__getitem__", "__setitem__", "__delitem__", "__contains__"):
            continue
        doc = inspect.getdoc(getattr(SQLiteStore, name)) or ""
        assert "Default:" not in doc, name
        assert "the default" not in doc.lower(), name


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.iterdir()}


def _read_only_refuses_writes(store: SQLiteStore) -> None:
    from nstore.errors import ReadOnlyError

    for write in (
        lambda: store.__setitem__("n", b"v"),
        lambda: store.__delitem__("k"),
        lambda: store.set_many({"n": b"v"}),
        lambda: store.delete_many(["k"]),
        lambda: store.set_if_absent("n", b"v"),
        lambda: store.compare_and_set("k", b"v", b"w"),
        lambda: store.compare_and_set_version("k", 1, b"w"),
    ):
        with pytest.raises(ReadOnlyError, match="read_only=True"):
            write()


def test_read_only_changes_nothing_in_a_rollback_journal_file(tmp_path: Path) -> None:
    from nstore.errors import ConfigurationError

    path = tmp_path / "s.db"
    with pytest.raises(ConfigurationError, match="does not exist"):
        SQLiteStore(path, read_only=True)
    path.write_bytes(b"")
    with pytest.raises(ConfigurationError, match="no table 'nstore'"):
        SQLiteStore(path, read_only=True)
    assert _files(path) == {"s.db": b""}  # an empty file stays empty, not a new database
    with SQLiteStore(path) as store:
        store.set_many({"k": b"v", "l": b"w"})
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = _files(path)
    with SQLiteStore(path, read_only=True) as store:
        assert store.read_only is True
        assert store["k"] == b"v"
        assert list(store) == ["k", "l"]
        assert store.get_many(["k", "l"]) == {"k": b"v", "l": b"w"}
        with store.transaction():
            assert store["l"] == b"w"
        _read_only_refuses_writes(store)
        assert "read_only=True" in repr(store)
    assert _files(path) == before
    assert _journal_mode(path) == "delete"


def test_read_only_never_modifies_a_wal_database(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as writer:
        writer["k"] = b"v"
        with SQLiteStore(path, read_only=True) as store:  # -wal and -shm exist: a writer is open
            assert store["k"] == b"v"
            writer["k"] = b"new"
            assert store["k"] == b"new"  # sees the writer's commits
            _read_only_refuses_writes(store)
    before = path.read_bytes()
    with SQLiteStore(path, read_only=True) as store:
        assert store["k"] == b"new"
    # SQLite needs the -shm index to read a WAL database and a read-only connection cannot
    # remove it afterwards (documented); the database file itself is never written.
    assert path.read_bytes() == before
