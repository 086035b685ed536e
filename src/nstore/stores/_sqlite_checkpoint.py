"""Checkpoints in a thread of their own, so that a SQLiteStore's writes do not wait for them.

In WAL mode a commit appends pages to the ``-wal`` file; a *checkpoint* copies them back into
the database and (unless ``durability="off"``) fsyncs both files. SQLite runs it automatically
in the connection that commits once the WAL holds 1,000 pages, so one write in a few hundred
pays for copying and syncing everything written since the last one: measured on this project's
benchmark machine, about 30% of the time of a 1 KiB write (docs/sqlite.md, "Checkpoints").
SQLite's documentation names the alternative taken here (https://www.sqlite.org/wal.html,
"Application-Initiated Checkpoints"): writers count their writes and wake one thread every
few dozen (``PURGE_EVERY`` of :mod:`nstore.stores._sqlite_expiry`), which runs a ``PASSIVE``
checkpoint on a connection of its own. A passive checkpoint never waits for a lock and never
blocks a reader or a writer; what it cannot copy yet (pages written meanwhile, pages a reader
still needs, a moment SQLite was busy) is copied by the next one. After each wake-up the thread
looks again :data:`RETRY_AFTER` seconds later, and goes on while the WAL is not all copied, up to
:data:`RETRIES` times, before it waits for writers again: so the last writes before a pause
reach the database too. Writers keep an automatic checkpoint at
:data:`SAFETY_PAGES`, so the WAL stays bounded when the thread cannot keep up (one very large
transaction, a thread starved of CPU).

Nothing a write survives changes: a commit is the same commit, and every checkpoint still syncs
as the durability level says, only on another thread (the GIL is released while SQLite works).

Only the thread touches its connection, always holding its fork gate; after ``fork`` the child
never uses or closes it (see :mod:`nstore.stores._sqlite_fork`) and starts its own thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Final

from nstore.errors import StoreError
from nstore.stores import _sqlite_fork as _fork

__all__ = ["SAFETY_PAGES", "Checkpointer"]

#: The writers' own automatic checkpoint, in WAL pages (SQLite's default is 1,000: 4 MiB).
SAFETY_PAGES: Final = 4000
#: Seconds after a wake-up's checkpoint before the thread looks again.
RETRY_AFTER: Final = 0.05
#: Looks after a wake-up, while part of the WAL stays behind, before the thread waits for the
#: next wake-up (a reader holding an old snapshot for long is not polled for ever).
RETRIES: Final = 3


class Checkpointer:
    """The checkpoint thread of one store object: started by the first :meth:`wake`, stopped by
    :meth:`close`."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pid = os.getpid()
        #: The thread's connection (opened by the thread, None until then), held here as well so
        #: that the fork hook keeps it alive in a child, where it must never be closed.
        self.conn: sqlite3.Connection | None = None

    def wake(self) -> None:
        """Have the thread checkpoint what has been written so far (starting it if needed)."""
        if self._thread is None:
            self._start()
        self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed or os.getpid() != self._pid:
                return  # another writer started it, the store closed, or a parent's object
            self._thread = threading.Thread(target=self._run, name="nstore-sqlite-checkpoint", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        gate = _fork.gate()
        tries = 0  # left before waiting for the next wake-up
        try:
            while True:
                woken = self._wake.wait(RETRY_AFTER if tries else None)
                self._wake.clear()
                if self._closed:
                    return
                with gate:
                    whole = self._checkpoint()
                # after a wake-up, look again shortly (writes may have followed this checkpoint),
                # and go on looking while the WAL is not all copied
                tries = RETRIES if woken else 0 if whole else tries - 1
        finally:
            with gate:
                if self.conn is not None:
                    self.conn.close()

    def _checkpoint(self) -> bool:
        """One passive checkpoint; whether it copied the whole WAL."""
        try:
            if self.conn is None:
                self.conn = self._connect()
            busy, frames, copied = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except (sqlite3.Error, OSError, StoreError):
            return False  # busy or failing: tried again, then left to the writers' own checkpoint
        return bool(busy == 0 and frames == copied)

    def close(self) -> None:
        """Stop the thread and close its connection, waiting for a checkpoint under way."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
