"""Checkpoints: by a thread of the store (the default) or by SQLite in the writing connection.

Whether the WAL has been copied into the database is read from the database file alone: a copy
of it without its ``-wal`` file holds exactly what was checkpointed.
"""

from __future__ import annotations

import gc
import os
import pickle
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import nstore
from nstore.errors import ConfigurationError
from nstore.stores._sqlite_checkpoint import SAFETY_PAGES
from nstore.stores.sqlite import SQLiteStore

THREAD = "nstore-sqlite-checkpoint"
WAIT = 10.0


def _threads() -> int:
    return sum(thread.name == THREAD for thread in threading.enumerate())


def _checkpointed(path: Path, tmp_path: Path) -> int:
    """How many keys the database file holds without its WAL."""
    copy = tmp_path / f"copy-{time.monotonic_ns()}.db"
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'nstore'").fetchone() is None:
            return 0  # not even the table is in the database yet
        return int(conn.execute("SELECT count(*) FROM nstore").fetchone()[0])
    except sqlite3.DatabaseError:  # copied while a checkpoint wrote it: look again
        return 0
    finally:
        conn.close()


def _eventually(check: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.01)
    raise AssertionError(f"not within {WAIT} s: {what}")


def test_background_checkpoints_copy_the_wal_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    before = _threads()
    with SQLiteStore(path) as store:
        for i in range(300):  # about 300 WAL pages: SQLite alone would not checkpoint yet
            store[f"k/{i:04d}"] = os.urandom(1000)
        assert _threads() == before + 1
        _eventually(lambda: _checkpointed(path, tmp_path) >= 256, "the thread checkpoints")
        assert len(store) == 300
    assert _threads() == before  # close() stops it
    assert not os.path.exists(f"{path}-wal")  # and the last connection removed the WAL


def test_the_last_writes_before_a_pause_are_checkpointed_too(tmp_path: Path) -> None:
    # Writers wake the thread every 64 values: the 44 after the last wake-up are copied by its
    # next tries, without another write.
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        for i in range(300):
            store[f"k/{i:04d}"] = os.urandom(1000)
        _eventually(lambda: _checkpointed(path, tmp_path) == 300, "every write checkpointed")


def test_inline_checkpoints_leave_it_to_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    before = _threads()
    with SQLiteStore(path, checkpoints="inline") as store:
        for i in range(300):
            store[f"k/{i:04d}"] = os.urandom(1000)
        time.sleep(0.2)
        assert _threads() == before
        assert _checkpointed(path, tmp_path) == 0  # under SQLite's 1,000 pages
        assert store._open().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert "checkpoints='inline'" in repr(store)


def test_writers_keep_their_own_checkpoint_as_a_bound(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store._open().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == SAFETY_PAGES
        assert "checkpoints" not in repr(store)


def test_few_writes_and_reads_start_no_thread(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    before = _threads()
    with SQLiteStore(path) as store:
        for i in range(10):
            store[f"k/{i}"] = b"v"
    with SQLiteStore(path, read_only=True) as reader:
        assert len(reader) == 10
    assert _threads() == before


def test_a_store_dropped_without_close_stops_its_thread(tmp_path: Path) -> None:
    before = _threads()
    store = SQLiteStore(tmp_path / "s.db")
    store.set_many({f"k/{i}": b"v" * 100 for i in range(100)})
    assert _threads() == before + 1
    del store
    gc.collect()
    _eventually(lambda: _threads() == before, "the thread ends")


def test_a_big_transaction_is_checkpointed_too(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.set_many({f"k/{i:05d}": os.urandom(1000) for i in range(2000)})
        _eventually(lambda: _checkpointed(path, tmp_path) == 2000, "the thread checkpoints")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_checkpoints_with_a_thread_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.set_many({f"parent/{i}": b"p" * 100 for i in range(100)})  # the parent's thread runs
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for i in range(300):
                    store[f"child/{i:04d}"] = os.urandom(1000)
                names = [thread.name for thread in threading.enumerate()]
                store.close()
                code = 0 if names.count(THREAD) == 1 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert len(list(store.keys(prefix="child/"))) == 300
        store["parent/after"] = b"p"
    with SQLiteStore(path) as again:
        assert len(again) == 401


def test_the_mode_is_checked_and_travels(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="'background' or 'inline'"):
        SQLiteStore(tmp_path / "s.db", checkpoints="later")  # type: ignore[arg-type]
    store = SQLiteStore(tmp_path / "s.db", checkpoints="inline")
    try:
        copy = pickle.loads(pickle.dumps(store))
        assert "checkpoints='inline'" in repr(copy)
        copy.close()
    finally:
        store.close()
    opened = nstore.open(f"sqlite:///{tmp_path / 'u.db'}?checkpoints=inline")
    try:
        assert "checkpoints='inline'" in repr(opened)
    finally:
        opened.close()
