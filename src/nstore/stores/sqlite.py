"""SQLiteStore: one database file, durable writes, fast reads, transactions; standard library only."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, Final

from nstore.errors import ConfigurationError, InvalidKey, MissingKey
from nstore.store import Store
from nstore.stores import _sqlite_conn as _c

__all__ = ["SQLiteStore"]

#: Keys per ``IN (...)`` query: under SQLite's oldest default limit of 999 bound variables.
_CHUNK: Final = 500
#: Keys per page of a listing; each page is its own short read, so no read lock is held between.
_PAGE: Final = 512


class _Thread:
    """One thread's connection and reusable cursor (weak-referenceable, unlike the connection)."""

    __slots__ = ("__weakref__", "conn", "cur")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cur = conn.cursor()


class SQLiteStore(Store[str, bytes]):
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
        durability: str = "normal",
        *,
        timeout: float = 10.0,
    ) -> None:
        if durability not in _c.SYNCHRONOUS:
            raise ConfigurationError(
                f"Expected durability 'normal', 'full' or 'off'. Got {durability!r} instead."
            )
        self._path = _c.check_path(path)
        self._table = t = _c.check_table(table)
        self._durability = durability
        self._timeout = _c.check_timeout(timeout)
        self._local: Any = threading.local()
        self._threads: weakref.WeakSet[_Thread] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._sql_get = f'SELECT value FROM "{t}" WHERE key = ?'
        self._sql_has = f'SELECT 1 FROM "{t}" WHERE key = ?'
        self._sql_set = (
            f'INSERT INTO "{t}" (key, value, version) VALUES (?, ?, {_NEW_VERSION}) '
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1"
        )
        self._sql_del = f'DELETE FROM "{t}" WHERE key = ?'
        self._sql_keys = f'SELECT key FROM "{t}" WHERE key >= ? AND key < ? ORDER BY key LIMIT {_PAGE}'
        self._sql_keys_open = f'SELECT key FROM "{t}" WHERE key >= ? ORDER BY key LIMIT {_PAGE}'
        self._sql_many = f'SELECT key, value FROM "{t}" WHERE key IN ({_c.placeholders(_CHUNK)})'
        conn = _c.with_retries(
            lambda: _c.connect(self._path, _c.SYNCHRONOUS[durability], self._timeout), "opening"
        )
        try:
            _c.with_retries(lambda: _c.initialize(conn, t), "opening")
        except BaseException:
            conn.close()
            raise
        self._adopt(conn)
        _c.track(self)

    # -- connections ------------------------------------------------------------------------------

    def _adopt(self, conn: sqlite3.Connection) -> sqlite3.Cursor:
        thread = _Thread(conn)
        self._local.thread = thread
        self._local.cur = thread.cur
        with self._lock:
            self._threads.add(thread)
        return thread.cur

    def _open(self) -> sqlite3.Cursor:
        """The calling thread's cursor, connecting on first use (raises StoreClosed if closed)."""
        try:
            return self._local.cur  # type: ignore[no-any-return]  # a thread-local attribute
        except AttributeError:
            pass
        conn = _c.with_retries(
            lambda: _c.connect(self._path, _c.SYNCHRONOUS[self._durability], self._timeout), "connecting"
        )
        return self._adopt(conn)

    def _forget_connections(self, abandoned: list[object]) -> None:
        """After fork, in the child: never touch the parent's connections again."""
        if isinstance(self._local, _c.ClosedLocal):
            return
        abandoned.append((self._local, list(self._threads)))
        self._local = threading.local()
        self._threads = weakref.WeakSet()
        self._lock = threading.Lock()

    def _run(self, sql: str, params: Iterable[Any], what: str, first: BaseException) -> sqlite3.Cursor:
        """The slow path: retry ``sql`` after the hot path's first attempt failed with ``first``."""
        if isinstance(first, UnicodeEncodeError):
            raise InvalidKey(f"Expected a key encodable as UTF-8. Got {first.object!r}.") from None
        params = tuple(params)
        return _c.with_retries(lambda: self._open().execute(sql, params), what, first)

    # -- the mapping ---------------------------------------------------------------------------------

    def __getitem__(self, key: str, /) -> bytes:
        if type(key) is not str:
            raise _bad_key(key)
        try:
            cur = self._local.cur
        except AttributeError:
            cur = self._open()
        try:
            row = cur.execute(self._sql_get, (key,)).fetchone()
        except UnicodeEncodeError:
            raise MissingKey(key) from None  # no stored key has a lone surrogate
        except sqlite3.Error as exc:
            row = self._run(self._sql_get, (key,), "reading", exc).fetchone()
        if row is None:
            raise MissingKey(key)
        return row[0]  # type: ignore[no-any-return]  # the value column holds bytes

    def __setitem__(self, key: str, value: bytes, /) -> None:
        if type(key) is not str:
            raise _bad_key(key)
        if type(value) is not bytes:
            value = _check_value(key, value)
        try:
            cur = self._local.cur
        except AttributeError:
            cur = self._open()
        try:
            cur.execute(self._sql_set, (key, value))
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            self._run(self._sql_set, (key, value), "writing", exc)

    def __delitem__(self, key: str, /) -> None:
        if type(key) is not str:
            raise _bad_key(key)
        cur = self._open()
        try:
            cur.execute(self._sql_del, (key,))
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            cur = self._run(self._sql_del, (key,), "deleting", exc)
        if cur.rowcount == 0:
            raise MissingKey(key)

    def __contains__(self, key: object, /) -> bool:
        if type(key) is not str:
            return False
        try:
            return self._open().execute(self._sql_has, (key,)).fetchone() is not None
        except UnicodeEncodeError:
            return False  # no stored key has a lone surrogate
        except sqlite3.Error as exc:
            return self._run(self._sql_has, (key,), "reading", exc).fetchone() is not None

    def __len__(self) -> int:
        sql = f'SELECT count(*) FROM "{self._table}"'
        return int(_c.with_retries(lambda: self._open().execute(sql).fetchone()[0], "counting"))

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        # docstring inherited
        if prefix is not None and type(prefix) is not str:
            raise _bad_key(prefix)
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
    def durability(self) -> str:
        """The durability level this store was opened with."""
        return self._durability

    # -- transactions and bulk operations --------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make the operations of this thread inside the block one atomic transaction.

        All of them are committed when the block exits normally, none if it raises (also across
        a crash). The block holds the database's write lock from its start, so other writers wait
        (up to ``timeout``); keep it short. Nested blocks are savepoints: an inner block that
        raises undoes only its own operations. Operations on other threads are not part of it.
        """
        conn = self._open().connection
        if conn.in_transaction:
            conn.execute("SAVEPOINT nstore")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK TO nstore")
                conn.execute("RELEASE nstore")
                raise
            conn.execute("RELEASE nstore")
            return
        _c.with_retries(lambda: conn.execute("BEGIN IMMEDIATE"), "beginning a transaction")
        try:
            yield
        except BaseException:
            _c.rollback(conn)
            raise
        try:
            _c.with_retries(lambda: conn.execute("COMMIT"), "committing")
        except BaseException:
            _c.rollback(conn)
            raise

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        # One read transaction for all the chunks, so the result is one consistent snapshot.
        wanted = list(dict.fromkeys(keys))
        for key in wanted:
            if type(key) is not str:
                raise _bad_key(key)
        if not wanted:
            return {}
        if len(wanted) <= _CHUNK:
            return dict(self._select_chunk(wanted))
        found: dict[str, bytes] = {}
        with self._read_snapshot():
            for start in range(0, len(wanted), _CHUNK):
                found.update(self._select_chunk(wanted[start : start + _CHUNK]))
        return found

    def _select_chunk(self, chunk: list[str]) -> list[tuple[str, bytes]]:
        sql = self._sql_many if len(chunk) == _CHUNK else self._sql_many_for(len(chunk))
        try:
            return self._open().execute(sql, chunk).fetchall()
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            return self._run(sql, chunk, "reading", exc).fetchall()

    def _sql_many_for(self, n: int) -> str:
        return f'SELECT key, value FROM "{self._table}" WHERE key IN ({_c.placeholders(n)})'

    @contextmanager
    def _read_snapshot(self) -> Iterator[None]:
        conn = self._open().connection
        if conn.in_transaction:
            yield
            return
        _c.with_retries(lambda: conn.execute("BEGIN"), "beginning a read")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def set_many(self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /) -> None:
        """Store every pair in one transaction: all of them or (on error or crash) none."""
        pairs = items.items() if isinstance(items, Mapping) else items
        rows = []
        for key, value in pairs:
            if type(key) is not str:
                raise _bad_key(key)
            rows.append((key, value if type(value) is bytes else _check_value(key, value)))
        if rows:
            self._executemany(self._sql_set, rows, "writing")

    def delete_many(self, keys: Iterable[str], /) -> None:
        """Remove every present key of ``keys`` in one transaction; missing keys are ignored."""
        rows = []
        for key in keys:
            if type(key) is not str:
                raise _bad_key(key)
            rows.append((key,))
        if rows:
            self._executemany(self._sql_del, rows, "deleting")

    def _executemany(self, sql: str, rows: list[Any], what: str) -> None:
        try:
            with self.transaction():
                self._open().connection.executemany(sql, rows)
        except UnicodeEncodeError as exc:
            raise InvalidKey(f"Expected keys encodable as UTF-8. Got {exc.object!r}.") from None
        except sqlite3.Error as exc:
            raise _c.translate(exc, what) from exc

    # -- conditional writes --------------------------------------------------------------------

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        # docstring inherited
        if type(key) is not str:
            raise _bad_key(key)
        value = _check_value(key, value)
        sql = f'INSERT INTO "{self._table}" (key, value, version) VALUES (?, ?, {_NEW_VERSION}) '
        sql += "ON CONFLICT (key) DO NOTHING"
        return self._changed(sql, (key, value))

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        # docstring inherited
        if type(key) is not str:
            raise _bad_key(key)
        value = _check_value(key, value)
        sql = f'UPDATE "{self._table}" SET value = ?, version = version + 1 WHERE key = ? AND value = ?'
        return self._changed(sql, (value, key, _check_value(key, expected)))

    def get_with_version(self, key: str, /) -> tuple[bytes, int]:
        """Return the value at ``key`` and its version, an opaque positive integer.

        The version changes on every write of the key; pass it to :meth:`compare_and_set_version`.
        """
        if type(key) is not str:
            raise _bad_key(key)
        sql = f'SELECT value, version FROM "{self._table}" WHERE key = ?'
        row = _c.with_retries(lambda: self._open().execute(sql, (key,)).fetchone(), "reading")
        if row is None:
            raise MissingKey(key)
        return row[0], row[1]

    def compare_and_set_version(self, key: str, version: int, value: bytes, /) -> bool:
        """Store ``value`` only if the version of ``key`` is still ``version`` (0: only if absent).

        Return whether it was stored. A new key gets a random version, so a key deleted and
        written again does not reuse the version a reader saw before.
        """
        if type(key) is not str:
            raise _bad_key(key)
        if _c.check_version(version) == 0:
            return self.set_if_absent(key, value)
        sql = f'UPDATE "{self._table}" SET value = ?, version = version + 1 WHERE key = ? AND version = ?'
        return self._changed(sql, (_check_value(key, value), key, version))

    def _changed(self, sql: str, params: tuple[Any, ...]) -> bool:
        try:
            cur = self._open().execute(sql, params)
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            cur = self._run(sql, params, "writing", exc)
        return cur.rowcount == 1

    # -- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every thread's connection; further use raises :class:`~nstore.errors.StoreClosed`."""
        with self._lock:
            threads = list(self._threads)
            self._threads = weakref.WeakSet()
            self._local = _c.ClosedLocal()
        for thread in threads:
            thread.conn.close()

    def __repr__(self) -> str:
        state = " <closed>" if isinstance(self._local, _c.ClosedLocal) else ""
        return f"SQLiteStore({self._path!r}, table={self._table!r}, durability={self._durability!r}){state}"


#: The version of a newly created key: random in [1, 2**62], so deleting and re-creating a key
#: does not bring back an old version (no ABA for compare_and_set_version).
_NEW_VERSION: Final = "((random() & 4611686018427387903) + 1)"


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


def _bad_key(key: object) -> InvalidKey:
    return InvalidKey(f"Expected a str key. Got {type(key).__name__}: {key!r:.80}.")


def _check_value(key: str, value: object) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(
        f"Expected a bytes value for key {key!r}. Got {type(value).__name__}; "
        "use with_values(codec) to store other types."
    )
