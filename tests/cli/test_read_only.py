"""Commands that only read (ls, get, namespaces, inspect, the source of copy) change nothing on disk."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from nstore.codecs import Msgspec
from nstore.namespaces import Namespaces
from nstore.stores._paths import LOCK_NAME
from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore


class Note(msgspec.Struct):
    text: str


def tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path below ``root`` with its mode and, for a file, its bytes."""
    found: dict[str, tuple[int, bytes | None]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        found[str(path.relative_to(root))] = (st.st_mode, path.read_bytes() if path.is_file() else None)
    return found


def test_ls_on_an_empty_file_leaves_it_empty(nstore: NStore, tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    line = nstore.fails(2, "ls", "empty.db")
    assert "has no table 'nstore'" in line, line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".state") == ["empty.db"]
    assert (tmp_path / "empty.db").read_bytes() == b""


def test_ls_and_get_on_a_directory_write_no_lock_and_remove_nothing(nstore: NStore, tmp_path: Path) -> None:
    root = tmp_path / "data"
    with FileStore(root) as store:
        store["notes/a"] = b"1"
    (root / "album").mkdir()  # an empty directory that is not the store's
    (root / LOCK_NAME).unlink()  # made by the write above: the reads below must not make it again
    before = tree(root)
    assert nstore.ok("ls", "data").text == "notes/a\n"
    assert nstore.ok("get", "data", "notes/a").out == b"1"
    assert tree(root) == before


def test_get_ls_namespaces_and_inspect_leave_a_database_as_it_was(nstore: NStore, tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with SQLiteStore(path) as store:
        store["k"] = b"v"
        Namespaces(store).namespace("notes", Msgspec(Note))["n1"] = Note("hi")
    before = path.read_bytes()
    mtime = os.stat(path).st_mtime_ns
    assert nstore.ok("get", "app.db", "k").out == b"v"
    assert "k" in nstore.ok("ls", "app.db").text.split()
    assert "notes" in nstore.ok("namespaces", "app.db").text
    nstore.ok("inspect", "app.db", "notes")
    assert path.read_bytes() == before
    assert os.stat(path).st_mtime_ns == mtime
    wal = path.with_name("app.db-wal")  # SQLite's own read-only WAL rule: it may leave an empty one
    assert not wal.exists() or wal.stat().st_size == 0


def test_copy_leaves_its_source_as_it_was(nstore: NStore, tmp_path: Path) -> None:
    root = tmp_path / "src"
    with FileStore(root) as store:
        store.set_many({"a": b"1", "b/c": b"2"})
    (root / "empty").mkdir()
    (root / LOCK_NAME).unlink()
    before = tree(root)
    nstore.ok("copy", "src", "dst.db")
    assert tree(root) == before
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert dict(dst.items()) == {"a": b"1", "b/c": b"2"}
