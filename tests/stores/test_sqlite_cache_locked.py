"""A bounded SQLiteStore whose file another connection holds locked for writing: reads never wait
for the lock to record themselves (they are kept, up to a bound, for a later try), and neither
does close()."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from nstore.stores._sqlite_cache import ACCESS_BATCH, PENDING_MAX
from nstore.stores.sqlite import Eviction, SQLiteStore


@pytest.mark.parametrize("eviction", ["lru", "lfu"])
def test_reads_do_not_wait_for_a_held_write_lock(tmp_path: Path, eviction: Eviction) -> None:
    path = tmp_path / "c.db"
    store = SQLiteStore(path, max_bytes=10_000_000, eviction=eviction, timeout=1.0)
    n = 3 * PENDING_MAX + 100
    store.set_many({f"k{i}": b"v" * 10 for i in range(n)})
    other = sqlite3.connect(path, isolation_level=None)  # another process's long write
    other.execute("BEGIN IMMEDIATE")
    slowest = 0.0
    start = time.monotonic()
    for i in range(n):
        t = time.monotonic()
        assert store[f"k{i}"] == b"v" * 10
        slowest = max(slowest, time.monotonic() - t)
        assert len(store._cache.pending) <= PENDING_MAX  # type: ignore[union-attr]
    assert slowest < 0.5
    assert time.monotonic() - start < 5
    assert store.stats.hits == n
    assert store._open().execute("PRAGMA busy_timeout").fetchone()[0] == 1000  # as it was
    other.execute("ROLLBACK")  # unlocked: the next try writes what is remembered
    written = False
    for i in range(ACCESS_BATCH):
        store[f"k{i}"]
        written |= not store._cache.pending  # type: ignore[union-attr]
    assert written
    other.execute("BEGIN IMMEDIATE")
    for i in range(ACCESS_BATCH + 10):
        store[f"k{i}"]
    start = time.monotonic()
    store.close()
    assert time.monotonic() - start < 0.5
    other.execute("ROLLBACK")
    other.close()
