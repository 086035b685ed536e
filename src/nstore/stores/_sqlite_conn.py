"""Connections for SQLiteStore: opening, pragmas, parameter checks and error mapping (the table
layout is in :mod:`nstore.stores._sqlite_schema`).

One connection per thread (SQLite connections must not be shared by concurrent threads) and none
inherited across ``fork`` (a connection carried into a child process can corrupt the database, see
https://www.sqlite.org/howtocorrupt.html#_carrying_an_open_database_connection_across_a_fork_);
:mod:`nstore.stores._sqlite_fork` has the rules for fork.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from typing import Final, NoReturn, TypeVar

from nstore.errors import (
    ConfigurationError,
    CorruptStore,
    ReadOnlyError,
    StoreClosed,
    StoreError,
    StoreUnavailable,
)
from nstore.stores._location import refuse_url
from nstore.stores._sqlite_fork import check_usable, gate

T = TypeVar("T")

#: durability -> PRAGMA synchronous value (the journal is always WAL).
SYNCHRONOUS: Final = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

# Primary result codes (https://www.sqlite.org/rescode.html).
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_READONLY: Final = 8
_SQLITE_INTERRUPT: Final = 9
_SQLITE_CORRUPT: Final = 11
_SQLITE_TOOBIG: Final = 18
_SQLITE_NOTADB: Final = 26

#: Bytes of the database file each connection reads through a memory map.
MMAP_SIZE: Final = 256 * 1024 * 1024
#: Page cache per connection, in KiB (negative means KiB to SQLite).
CACHE_KIB: Final = -16 * 1024

#: The longest busy timeout, in seconds: a day.
MAX_TIMEOUT: Final = 86400

#: SQLITE_BUSY that outlives the busy timeout is retried this many times, with a growing pause.
BUSY_RETRIES: Final = 3


def check_table(table: object) -> str:
    """Return ``table`` if it is a plain SQL identifier nstore may own, else raise."""
    if not isinstance(table, str) or _TABLE_NAME.fullmatch(table) is None:
        raise ConfigurationError(
            "Expected a table name of 1 to 63 ASCII letters, digits or underscores, not starting "
            f"with a digit. Got {table!r} instead."
        )
    if table.lower().startswith("sqlite_"):
        raise ConfigurationError(
            f"Table names starting with 'sqlite_' are reserved by SQLite. Got {table!r}."
        )
    return table


def check_path(path: object, read_only: bool = False) -> str:
    """Return the database path as an absolute string (made absolute once, so a later
    ``os.chdir`` changes no connection's file, nor a pickled copy's); refuse in-memory databases
    and missing directories (and, for ``read_only``, a missing file)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigurationError(f"Expected a file path (str or os.PathLike). Got {type(path).__name__}.")
    text = os.fspath(path)
    if not isinstance(text, str) or "\0" in text:
        raise ConfigurationError(f"Expected a file path as text without NUL characters. Got {text!r:.80}.")
    refuse_url(text, "SQLiteStore")
    if text in ("", ":memory:"):
        raise ConfigurationError(
            f"Expected the path of a database file. Got {text!r}; for an in-memory store use MemoryStore."
        )
    parent = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(parent):
        raise ConfigurationError(f"The directory {parent!r} does not exist; create it first.")
    if os.path.isdir(text):
        raise ConfigurationError(f"Expected a database file. Got the directory {text!r}.")
    if read_only and not os.path.isfile(text):
        raise ConfigurationError(
            f"The database file {text!r} does not exist; a read_only SQLiteStore creates nothing."
        )
    return os.path.abspath(text)


def check_timeout(timeout: object) -> float:
    """Return ``timeout`` as seconds if it is a number from 0 to :data:`MAX_TIMEOUT`, else raise
    (SQLite keeps the busy timeout as int milliseconds: past about 2.1e6 s it overflows into
    no wait at all)."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 <= timeout <= MAX_TIMEOUT  # False for NaN too
    ):
        raise ConfigurationError(
            f"Expected a timeout in seconds from 0 to {MAX_TIMEOUT} (0: no wait for another "
            f"connection's write lock). Got {timeout!r} instead."
        )
    return float(timeout)


def check_version(version: object) -> int:
    """Return ``version`` if it is an int >= 0 (as get_with_version returns, or 0), else raise."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ConfigurationError(f"Expected a version >= 0 from get_with_version. Got {version!r}.")
    return version


def execute(conn: sqlite3.Connection, sql: str, what: str) -> None:
    """Run one control statement (BEGIN, COMMIT, SAVEPOINT...) with retries and mapped errors."""
    with_retries(lambda: conn.execute(sql), what)


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already ended it.

    Called while another error propagates, so a failure here is dropped: that error says more.
    """
    with contextlib.suppress(StoreError):
        if in_transaction(conn):
            execute(conn, "ROLLBACK", "rolling back")


def begin_at_once(conn: sqlite3.Connection, timeout: float) -> bool:
    """``BEGIN IMMEDIATE`` without waiting: False if another connection holds the write lock.

    For work that may as well be left for later (a bounded store's remembered reads): the busy
    timeout is 0 for this one statement, then ``timeout`` (seconds) again.
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            return False
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")  # as sqlite3.connect sets it
    return True


def in_transaction(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` is inside a transaction; raise StoreClosed if close() has closed it."""
    try:
        return conn.in_transaction
    except sqlite3.ProgrammingError as exc:  # closed by close() on another thread
        raise translate(exc, "checking for a transaction") from None


def connect(
    path: str, synchronous: str, timeout: float, read_only: bool = False, checkpoint_pages: int = 1000
) -> sqlite3.Connection:
    """Open one connection in autocommit mode (transactions are begun explicitly).

    A ``read_only`` connection is opened with SQLite's ``mode=ro``: SQLite itself refuses every
    write (SQLITE_READONLY, mapped to :class:`ReadOnlyError`) and never creates the file.
    """
    check_usable(path)
    target = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro" if read_only else path
    conn = sqlite3.connect(
        target,
        uri=read_only,
        timeout=timeout,
        isolation_level=None,
        # Each connection is used by one thread at a time; close() may run on another thread.
        check_same_thread=False,
        cached_statements=64,
    )
    try:
        conn.execute(f"PRAGMA synchronous={synchronous}")
        # Reads through a memory map skip a read() and a copy per page (about 1.25x faster gets);
        # the map is virtual memory shared with the OS page cache, not a per-connection copy.
        conn.execute(f"PRAGMA mmap_size={MMAP_SIZE}")
        # A larger page cache keeps a bulk write of many values from spilling mid-transaction.
        conn.execute(f"PRAGMA cache_size={CACHE_KIB}")
        # The WAL size at which a commit checkpoints in this connection (SQLite's default: 1,000).
        conn.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}")
    except BaseException:
        conn.close()
        raise
    return conn


class ClosedLocal:
    """Stands in for the per-thread state of a closed store: any access raises StoreClosed.

    Swapping it in on close keeps the open store's hot path free of a closed check.
    """

    def __getattr__(self, name: str) -> NoReturn:
        raise StoreClosed("This SQLiteStore is closed; open a new one.")


# -- errors ------------------------------------------------------------------------------------------


def _code(exc: sqlite3.Error) -> int:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF


def is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    return _code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in str(exc)


def translate(exc: sqlite3.Error, what: str) -> StoreError:
    """The nstore error for a sqlite3 error raised while doing ``what``."""
    code = _code(exc)
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "not a database" in str(exc) or "malformed" in str(exc):
        return CorruptStore(
            f"The database file is not a readable SQLite database ({exc}) while {what}. Restore it "
            "from a backup, or point SQLiteStore at another file."
        )
    if code == _SQLITE_READONLY:
        return ReadOnlyError(
            f"SQLite refused to write ({exc}) while {what}: the store was opened with "
            "read_only=True, or the database file or its directory is not writable."
        )
    if code == _SQLITE_TOOBIG or isinstance(exc, sqlite3.DataError):
        from nstore.errors import ValueTooLarge

        return ValueTooLarge(f"SQLite refused a value as too big ({exc}) while {what}.")
    # close() interrupts the statements of other threads before it closes their connections.
    if code == _SQLITE_INTERRUPT or (isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc)):
        return StoreClosed("This SQLiteStore was closed during the operation; open a new one.")
    if is_busy(exc):
        return StoreUnavailable(
            f"The database stayed locked by another connection past the busy timeout and "
            f"{BUSY_RETRIES} retries while {what}; retry later or raise timeout=."
        )
    return StoreError(f"SQLite failed while {what}: {exc}")


def with_retries(call: Callable[[], T], what: str, first: BaseException | None = None) -> T:
    """Run ``call``; retry it on SQLITE_BUSY a bounded number of times; translate other errors.

    ``first`` is the error the caller's own first attempt raised, if any (the hot paths try once
    without this wrapper).
    """
    attempt = 0
    error = first
    while True:
        if error is not None:
            if not isinstance(error, sqlite3.Error):
                raise error
            if not is_busy(error) or attempt >= BUSY_RETRIES:
                raise translate(error, what) from error
            attempt += 1
            time.sleep(0.05 * attempt)
        try:
            with gate():
                return call()
        except sqlite3.Error as exc:
            error = exc


def placeholders(n: int) -> str:
    """``?,?,...,?`` with ``n`` marks."""
    return ",".join("?" * n)
