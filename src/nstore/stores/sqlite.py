"""SQLiteStore: one database file, durable writes, fast reads, transactions; standard library only."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from functools import partial
from typing import Any, Final, Literal

from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.store import KeyPage, check_limit, cursor_after
from nstore.stores import _sqlite_conn as _c
from nstore.stores import _sqlite_fork as _fork
from nstore.stores._sqlite_writes import CHUNK, NEW_VERSION, SQLiteWrites, bad_key
from nstore.stores._values import as_bytes

__all__ = ["Durability", "SQLiteStore"]

#: How much a write that returned survives; see :class:`SQLiteStore`.
Durability = Literal["normal", "full", "off"]

#: Keys per page of a listing; each page is its own short read, so no read lock is held between.
_PAGE: Final = 512


class _Thread:
    """One thread's connection, reusable cursor and fork gate (weak-referenceable, unlike the
    connection). Every call into SQLite on the connection runs holding ``gate``."""

    __slots__ = ("__weakref__", "conn", "cur", "gate")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cur = conn.cursor()
        self.gate = _fork.gate()


class SQLiteStore(SQLiteWrites):
    """A persistent ``Store[str, bytes]`` in one SQLite database file, in WAL mode.

    Parameters
    ----------
    path
        The database file; created if missing (its directory must exist).
    table
        The table holding this store; several stores can share one file under different tables.
    durability
        ``"normal"`` (default): a write that returned survives a crash of the process; the last
        transactions may be lost on power loss or an OS crash, the database stays intact.
        ``"full"``: a write that returned also survives power loss (the WAL is fsynced per commit).
        ``"off"``: nothing is fsynced; survives a process crash, but power loss may corrupt the
        file: use it as a cache.
    timeout
        Seconds to wait for another connection's write lock before retrying, then raising
        :class:`~nstore.errors.StoreUnavailable`.
    read_only
        Open the file read-only: it must exist and hold the table; nothing in it is changed (no
        WAL switch, no table created) and every write raises :class:`~nstore.errors.ReadOnlyError`.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "data.db")
    >>> with SQLiteStore(path) as store:
    ...     store["users/ada"] = b"lovelace"
    ...     with store.transaction():
    ...         store["users/bob"] = b"b"
    ...         store["users/cy"] = b"c"
    ...     list(store.keys(prefix="users/"))
    ['users/ada', 'users/bob', 'users/cy']
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        table: str = "nstore",
        durability: Durability = "normal",
        *,
        timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        if durability not in _c.SYNCHRONOUS:
            raise ConfigurationError(
                f"Expected durability 'normal', 'full' or 'off'. Got {durability!r} instead."
            )
        self._read_only = bool(read_only)
        self._path = _c.check_path(path, self._read_only)
        self._table = t = _c.check_table(table)
        self._durability = durability
        self._timeout = _c.check_timeout(timeout)
        self._local: Any = threading.local()
        self._threads: weakref.WeakSet[_Thread] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._sql_get = f'SELECT value FROM "{t}" WHERE key = ?'
        self._sql_has = f'SELECT 1 FROM "{t}" WHERE key = ?'
        self._sql_set = (
            f'INSERT INTO "{t}" (key, value, version) VALUES (?, ?, {NEW_VERSION}) '
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1"
        )
        self._sql_del = f'DELETE FROM "{t}" WHERE key = ?'
        self._sql_keys = f'SELECT key FROM "{t}" WHERE key >= ? AND key < ? ORDER BY key LIMIT {_PAGE}'
        self._sql_keys_open = f'SELECT key FROM "{t}" WHERE key >= ? ORDER BY key LIMIT {_PAGE}'
        self._sql_many = f'SELECT key, value FROM "{t}" WHERE key IN ({_c.placeholders(CHUNK)})'
        self._connect = partial(
            _c.connect, self._path, _c.SYNCHRONOUS[durability], self._timeout, self._read_only
        )
        conn = _c.with_retries(self._connect, "opening")
        try:
            _c.with_retries(lambda: _c.initialize(conn, t, self._read_only), "opening")
        except BaseException:
            conn.close()
            raise
        self._adopt(conn)
        _fork.track(self, self._path)

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
        return (self._local, threads, any(thread.conn.in_transaction for thread in threads))

    def _forget_connections(self) -> None:
        """After fork, in the child: never touch the parent's connections again."""
        if isinstance(self._local, _c.ClosedLocal):
            return
        self._local = threading.local()
        self._threads = weakref.WeakSet()
        self._lock = threading.Lock()

    # -- the mapping ---------------------------------------------------------------------------------

    def __getitem__(self, key: str, /) -> bytes:
        if type(key) is not str:
            raise bad_key(key)
        try:
            thread = self._local.thread
        except AttributeError:
            thread = self._thread()
        with thread.gate:
            try:
                row = thread.cur.execute(self._sql_get, (key,)).fetchone()
            except UnicodeEncodeError:
                raise MissingKey(key) from None  # no stored key has a lone surrogate
            except sqlite3.Error as exc:
                row = self._run(self._sql_get, (key,), "reading", exc).fetchone()
        if row is None:
            raise MissingKey(key)
        return row[0]  # type: ignore[no-any-return]  # the value column holds bytes

    def __setitem__(self, key: str, value: bytes, /) -> None:
        if type(key) is not str:
            raise bad_key(key)
        if type(value) is not bytes:
            value = as_bytes(value, key, "SQLiteStore")
        try:
            thread = self._local.thread
        except AttributeError:
            thread = self._thread()
        with thread.gate:
            try:
                thread.cur.execute(self._sql_set, (key, value))
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                self._run(self._sql_set, (key, value), "writing", exc)

    def __delitem__(self, key: str, /) -> None:
        if type(key) is not str:
            raise bad_key(key)
        thread = self._thread()
        with thread.gate:
            try:
                cur = thread.cur.execute(self._sql_del, (key,))
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                cur = self._run(self._sql_del, (key,), "deleting", exc)
        if cur.rowcount == 0:
            raise MissingKey(key)

    def __contains__(self, key: object, /) -> bool:
        if type(key) is not str:
            return False
        try:
            thread = self._local.thread
        except AttributeError:
            thread = self._thread()
        with thread.gate:
            try:
                return thread.cur.execute(self._sql_has, (key,)).fetchone() is not None
            except UnicodeEncodeError:
                return False  # no stored key has a lone surrogate
            except sqlite3.Error as exc:
                return self._run(self._sql_has, (key,), "reading", exc).fetchone() is not None

    def __len__(self) -> int:
        sql = f'SELECT count(*) FROM "{self._table}"'
        return int(_c.with_retries(lambda: self._open().execute(sql).fetchone()[0], "counting"))

    def count_keys(self, prefix: str | None = None) -> int:
        """The number of keys that start with ``prefix`` (every key if None).

        One range count on the key index: it costs the keys in the range, not the table.
        """
        if prefix is not None and type(prefix) is not str:
            raise bad_key(prefix)
        if not prefix:
            return len(self)
        upper = _successor(prefix)
        t = self._table
        where, params = (
            ("key >= ? AND key < ?", (prefix, upper)) if upper is not None else ("key >= ?", (prefix,))
        )
        sql = f'SELECT count(*) FROM "{t}" WHERE {where}'
        try:
            return int(_c.with_retries(lambda: self._open().execute(sql, params).fetchone()[0], "counting"))
        except UnicodeEncodeError:
            return 0  # a prefix with a lone surrogate: no stored key can start with it

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        # docstring inherited
        if prefix is not None and type(prefix) is not str:
            raise bad_key(prefix)
        self._open()  # a closed store raises now, not at the first next()
        return self._iter_keys(prefix or "")

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        # Pages by key: each page is one short read on the calling thread's connection, so no read
        # transaction stays open between pages and the iterator may move between threads.
        upper = _successor(prefix)
        sql, bounds = (self._sql_keys, (upper,)) if upper is not None else (self._sql_keys_open, ())
        low = prefix
        while True:
            params = (low, *bounds)
            try:
                rows = _c.with_retries(partial(self._fetch, sql, params), "listing")
            except UnicodeEncodeError:
                return  # a prefix with a lone surrogate: no stored key can start with it
            for (key,) in rows:
                yield key
            if len(rows) < _PAGE:
                return
            low = rows[-1][0] + "\x00"  # the smallest string after the last key seen

    def keys_page(
        self, prefix: str | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[str]:
        """One page of the keys that start with ``prefix``: up to ``limit`` keys after ``cursor``.

        Keys come in sorted order; the cursor is the last key of the previous page (None for the
        first page, and a page's cursor is None when the listing is complete). A page is one
        index range read (``key > cursor AND key < upper``), so it costs one page.
        """
        if prefix is not None and type(prefix) is not str:
            raise bad_key(prefix)
        check_limit(limit)
        prefix = prefix or ""
        low = cursor_after(cursor, prefix)
        upper = _successor(prefix)
        below = "" if upper is None else " AND key < ?"
        sql = f'SELECT key FROM "{self._table}" WHERE key >= ?{below} ORDER BY key LIMIT ?'
        params = (low, limit + 1) if upper is None else (low, upper, limit + 1)
        self._open()
        try:
            rows = _c.with_retries(partial(self._fetch, sql, params), "listing")
        except UnicodeEncodeError:
            return KeyPage([], None)  # a lone surrogate: no stored key can start with it
        keys = [key for (key,) in rows[:limit]]
        return KeyPage(keys, keys[-1] if len(rows) > limit else None)

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._open().execute(sql, params).fetchall()

    # -- capabilities ---------------------------------------------------------------------------

    @property
    def is_persistent(self) -> bool:
        return True

    @property
    def supports_prefix_listing(self) -> bool:
        return True

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    @property
    def read_only(self) -> bool:
        """True if this store was opened with ``read_only=True``: it changes nothing in the file."""
        return self._read_only

    @property
    def durability(self) -> str:
        """The durability level this store was opened with."""
        return self._durability

    # -- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every thread's connection; further use raises :class:`~nstore.errors.StoreClosed`."""
        with self._lock:
            threads = list(self._threads)
            self._threads = weakref.WeakSet()
            self._local = _c.ClosedLocal()
        for thread in threads:
            with _fork.gate():  # closing calls into SQLite too
                thread.conn.close()

    def __reduce__(self) -> tuple[Any, ...]:
        # A store travels to another process (multiprocessing with spawn) as its parameters; the
        # receiver opens its own connections.
        return (_reopen, (self._path, self._table, self._durability, self._timeout, self._read_only))

    def __repr__(self) -> str:
        state = " <closed>" if isinstance(self._local, _c.ClosedLocal) else ""
        mode = ", read_only=True" if self._read_only else ""
        args = f"{self._path!r}, table={self._table!r}, durability={self._durability!r}{mode}"
        return f"SQLiteStore({args}){state}"


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``; None if none is.

    SQLite compares TEXT with BINARY collation as UTF-8 bytes, which orders like code points,
    so incrementing the last code point that can be incremented gives the exclusive upper bound.
    """
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code <= 0x10FFFF:
            if 0xD800 <= code <= 0xDFFF:  # surrogates are not valid in UTF-8; skip them
                code = 0xE000
            return "".join(chars) + chr(code)
    return None


def _reopen(path: str, table: str, durability: Durability, timeout: float, read_only: bool) -> SQLiteStore:
    return SQLiteStore(path, table, durability, timeout=timeout, read_only=read_only)
