"""The connections of a SQLiteStore: one per thread, opened on the thread's first use, none
carried across ``fork`` (see :mod:`nstore.stores._sqlite_fork`), all closed by ``close()``."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import Any, Final

from nstore.errors import StoreClosed
from nstore.stores import _sqlite_conn as _c
from nstore.stores import _sqlite_fork as _fork
from nstore.stores._sqlite_checkpoint import Checkpointer
from nstore.stores._sqlite_reads import SQLiteReads

#: Seconds close() waits for a thread inside SQLite to leave it, once its statement is interrupted.
CLOSE_WAIT: Final = 1.0


class _Thread:
    """One thread's connection, reusable cursor and fork gate (weak-referenceable, unlike the
    connection). Every call into SQLite on the connection runs holding ``gate``."""

    __slots__ = ("__weakref__", "conn", "cur", "gate")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cur = conn.cursor()
        self.gate = _fork.gate()


class SQLiteThreads(SQLiteReads):
    """Each thread's connection and cursor, and closing them all."""

    _local: Any
    _threads: weakref.WeakSet[_Thread]
    _lock: threading.Lock
    _connect: Callable[[], sqlite3.Connection]

    # -- connections ------------------------------------------------------------------------------

    def _adopt(self, conn: sqlite3.Connection) -> sqlite3.Cursor:
        thread = _Thread(conn)
        with self._lock:  # against a concurrent close(), which must close this connection too
            local = self._local
            if isinstance(local, _c.ClosedLocal):
                conn.close()
                raise StoreClosed("This SQLiteStore is closed; open a new one.")
            local.thread = thread
            self._threads.add(thread)
        return thread.cur

    def _open(self) -> sqlite3.Cursor:
        """The calling thread's cursor, connecting on first use (raises StoreClosed if closed)."""
        return self._thread().cur

    def _thread(self) -> _Thread:
        """The calling thread's state, connecting on first use (raises StoreClosed if closed)."""
        try:
            return self._local.thread  # type: ignore[no-any-return]  # a thread-local attribute
        except AttributeError:
            pass
        self._adopt(_c.with_retries(self._connect, "connecting"))
        return self._local.thread  # type: ignore[no-any-return]  # set by _adopt

    def _fork_state(self) -> tuple[object, list[_Thread], bool]:
        """For the fork hook, while no thread is inside SQLite: this store's per-thread state
        (which the child must keep alive and never touch) and whether a connection of it is in
        a transaction."""
        threads = list(self._threads)
        kept = (self._local, self._checkpoints)  # the checkpoint thread's connection too
        return (kept, threads, any(thread.conn.in_transaction for thread in threads))

    def _forget_connections(self) -> None:
        """After fork, in the child: never touch the parent's connections again."""
        if isinstance(self._local, _c.ClosedLocal):
            return
        self._local = threading.local()
        self._threads = weakref.WeakSet()
        self._lock = threading.Lock()
        if self._checkpoints is not None:  # the parent's thread does not exist here
            self._checkpoints = Checkpointer(self._connect)
            weakref.finalize(self, self._checkpoints.close)

    def close(self) -> None:
        """Close every thread's connection; further use raises :class:`~nstore.errors.StoreClosed`."""
        if self._cache is not None and not isinstance(self._local, _c.ClosedLocal):
            self._flush_reads()  # the reads not yet recorded order the evictions of others too
        with self._lock:
            threads = list(self._threads)
            self._threads = weakref.WeakSet()
            self._local = _c.ClosedLocal()
        for thread in threads:
            _close(thread)
        if self._checkpoints is not None:  # last: closing the last connection checkpoints
            self._checkpoints.close()


def _close(thread: _Thread) -> None:
    """Close ``thread``'s connection holding that thread's gate, so never while the thread is
    inside SQLite on it (freeing a connection under a running statement crashes the process).

    A thread inside SQLite has its statement interrupted (``interrupt()`` is the one call that is
    safe from another thread; the statement raises, which the thread reports as StoreClosed) and
    is waited for up to :data:`CLOSE_WAIT` seconds. One still inside then (waiting for another
    process's write lock, which an interrupt does not end) keeps its connection until it lets go
    of it: it holds the last reference, and dropping it closes the connection on that thread.
    """
    gate = thread.gate
    if not gate.acquire(blocking=False):
        thread.conn.interrupt()
        if not gate.acquire(timeout=CLOSE_WAIT):
            return
    try:
        thread.conn.close()
    finally:
        gate.release()
