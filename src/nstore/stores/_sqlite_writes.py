"""The write side of SQLiteStore: transactions, bulk operations, conditional writes, and the
transaction of a write to a bounded store."""

from __future__ import annotations

import os
import sqlite3
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from nstore.errors import InvalidKey, MissingKey, ReadOnlyError, StoreError, StoreUnavailable
from nstore.store import Store
from nstore.stores import _sqlite_conn as _c
from nstore.stores import _sqlite_fork as _fork
from nstore.stores._sqlite_cache import Cache
from nstore.stores._sqlite_schema import NEW_VERSION
from nstore.stores._values import as_bytes

#: Keys per ``IN (...)`` query: under SQLite's oldest default limit of 999 bound variables.
CHUNK: Final = 500

#: Where an expired key is absent: a row whose deadline has not passed at the time bound here.
LIVE: Final = "(expires IS NULL OR expires > ?)"


class SQLiteWrites(Store[str, bytes]):
    """Transactions, bulk operations and conditional writes over the calling thread's connection."""

    _table: str
    _read_only: bool
    _timeout: float
    _sql_set: str
    _sql_del: str
    _sql_many: str
    #: The expiry column in reads: ``expires``, or ``NULL`` for a read-only store over a table
    #: from before expiry.
    _exp: str
    _clock: Callable[[], float]
    _cache: Cache | None
    #: How a write sets ``rank``, from one parameter (see :meth:`_rank`); in an ordered table
    #: (fifo, lru) it also gives the row the next rowid.
    _rank_sql: str
    #: How an upsert that found the key sets ``rank`` (from ``excluded.rank``), likewise.
    _rank_excluded: str

    @abstractmethod
    def _open(self) -> sqlite3.Cursor:
        """The calling thread's cursor, connecting on first use (raises StoreClosed if closed)."""

    def _run(self, sql: str, params: Iterable[Any], what: str, first: BaseException) -> sqlite3.Cursor:
        """The slow path: retry ``sql`` after the hot path's first attempt failed with ``first``."""
        if isinstance(first, UnicodeEncodeError):
            raise InvalidKey(f"Expected a key encodable as UTF-8. Got {first.object!r}.") from None
        params = tuple(params)
        return _c.with_retries(lambda: self._open().execute(sql, params), what, first)

    def _writable(self) -> None:
        """Refuse a write of a read-only store before its statement is prepared (a table from
        before expiry has no column for the statements of conditional and expiring writes)."""
        if self._read_only:
            raise ReadOnlyError("This SQLiteStore was opened with read_only=True; it writes nothing.")

    def _rank(self) -> float | None:
        """The ``rank`` parameter of a write: None (no rank) unless the store is bounded."""
        return None if self._cache is None else self._cache.rank()

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
        # A child forked inside the block leaves it too, and must not end the parent's
        # transaction on the parent's connection: it neither rolls back nor commits.
        pid = os.getpid()
        cache = self._cache
        if _c.in_transaction(conn):
            _c.execute(conn, "SAVEPOINT nstore", "beginning a savepoint")
            evicted = 0 if cache is None else cache.uncommitted.get(conn, 0)
            try:
                yield
            except BaseException:
                if os.getpid() == pid:
                    _c.execute(conn, "ROLLBACK TO nstore", "rolling back a savepoint")
                    _c.execute(conn, "RELEASE nstore", "rolling back a savepoint")
                    if cache is not None:  # the evictions of the block are undone too
                        cache.uncommitted[conn] = evicted
                raise
            _check_same_process(pid)
            _c.execute(conn, "RELEASE nstore", "releasing a savepoint")
            return
        # A read-only store has no write lock to take: its blocks are read snapshots.
        _c.execute(conn, "BEGIN" if self._read_only else "BEGIN IMMEDIATE", "beginning a transaction")
        committed = False
        try:
            try:
                yield
            except BaseException:
                if os.getpid() == pid:
                    _c.rollback(conn)
                raise
            _check_same_process(pid)
            try:
                _c.execute(conn, "COMMIT", "committing")
            except BaseException:
                _c.rollback(conn)
                raise
            committed = True
        finally:
            if cache is not None:  # the evictions of writes in the block count once committed
                evicted = cache.uncommitted.pop(conn, 0)
                cache.evictions += evicted if committed else 0

    def delete_many(self, keys: Iterable[str], /) -> None:
        """Remove every present key of ``keys`` in one transaction; missing keys are ignored."""
        rows = []
        for key in keys:
            if type(key) is not str:
                raise bad_key(key)
            rows.append((key,))
        if rows:
            # Expired keys go too: they are absent already.
            self._executemany(f'DELETE FROM "{self._table}" WHERE key = ?', rows, "deleting")

    def _executemany(self, sql: str, rows: Iterable[Any], what: str) -> None:
        try:
            # The gate is held across the transaction, so a fork waits for it to end.
            with _fork.gate(), self.transaction():
                self._open().connection.executemany(sql, rows)
        except UnicodeEncodeError as exc:
            raise InvalidKey(f"Expected keys encodable as UTF-8. Got {exc.object!r}.") from None
        except sqlite3.Error as exc:
            raise _c.translate(exc, what) from exc

    # -- bounded stores --------------------------------------------------------------------------

    def _write_bounded(
        self, cache: Cache, sql: str, params: Any, keys: Collection[str], *, many: bool = False
    ) -> int:
        """Run a write of a bounded store (none if ``sql`` is empty) and the evictions it needs in
        one transaction; return the rows it changed."""
        conn = self._open().connection
        inside = _c.in_transaction(conn)  # a transaction() of the caller's, which commits later
        try:
            with _fork.gate(), self.transaction():
                cur = self._open()
                changed = 1
                if sql:
                    changed = (cur.executemany(sql, params) if many else cur.execute(sql, params)).rowcount
                evicted = cache.make_room(cur, keys) if changed else 0
        except UnicodeEncodeError as exc:
            raise InvalidKey(f"Expected keys encodable as UTF-8. Got {exc.object!r}.") from None
        except sqlite3.Error as exc:
            raise _c.translate(exc, "writing") from exc
        if inside:  # counted once committed, by the caller's transaction()
            cache.uncommitted[conn] = cache.uncommitted.get(conn, 0) + evicted
        else:
            cache.evictions += evicted
        return changed

    def _flush_reads(self) -> None:
        """Write the reads a bounded store remembered into the ranks, in a transaction of their
        own. A read neither waits nor fails for it: if another connection holds the write lock,
        they are kept for a later try (see :meth:`Cache.keep`); on another failure they are
        dropped (they only order evictions)."""
        cache = self._cache
        if cache is None or not cache.pending:
            return
        cur = self._open()
        conn = cur.connection
        with _fork.gate():
            try:
                if _c.in_transaction(conn):  # the caller's transaction, which holds the write lock
                    with self.transaction():
                        cache.flush(cur)
                elif _c.begin_at_once(conn, self._timeout):
                    try:
                        cache.flush(cur)
                        conn.execute("COMMIT")
                    except BaseException:
                        _c.rollback(conn)
                        raise
                else:
                    cache.keep()
            except (StoreUnavailable, sqlite3.OperationalError):
                pass

    # -- conditional writes --------------------------------------------------------------------

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        """Store ``value`` only if ``key`` is absent (or expired); return whether it was stored.

        Atomic: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``, so exactly one
        concurrent caller wins. The value stored never expires.
        """
        if type(key) is not str:
            raise bad_key(key)
        value = as_bytes(value, key, "SQLiteStore")
        self._writable()
        sql = (
            f'INSERT INTO "{self._table}" (key, value, version, rank) VALUES (?, ?, {NEW_VERSION}, ?) '
            f"ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = {NEW_VERSION}, "
            f"expires = NULL, {self._rank_excluded} "
            "WHERE expires <= ?"
        )
        return self._changed(sql, (key, value, self._rank(), self._clock()), key, value)

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        """Replace the value at ``key`` with ``value`` only if it is ``expected`` now (and not
        expired); the new value never expires.

        Return whether it was replaced. Atomic: one ``UPDATE ... WHERE value = ?``; for large
        values, :meth:`compare_and_set_version` compares a version instead.
        """
        if type(key) is not str:
            raise bad_key(key)
        value = as_bytes(value, key, "SQLiteStore")
        self._writable()
        sql = (
            f'UPDATE "{self._table}" SET value = ?, version = version + 1, expires = NULL, '
            f"rank = {self._rank_sql} WHERE key = ? AND value = ? AND {LIVE}"
        )
        expected = as_bytes(expected, key, "SQLiteStore")
        return self._changed(sql, (value, self._rank(), key, expected, self._clock()), key, value)

    def get_with_version(self, key: str, /) -> tuple[bytes, int]:
        """Return the value at ``key`` and its version, an opaque positive integer.

        The version changes on every write of the key; pass it to :meth:`compare_and_set_version`.
        """
        if type(key) is not str:
            raise bad_key(key)
        sql = f'SELECT value, version, {self._exp} FROM "{self._table}" WHERE key = ?'
        try:
            row = _c.with_retries(lambda: self._open().execute(sql, (key,)).fetchone(), "reading")
        except UnicodeEncodeError:
            raise MissingKey(key) from None  # no stored key has a lone surrogate
        if row is None or (row[2] is not None and row[2] <= self._clock()):
            raise MissingKey(key)
        return row[0], row[1]

    def compare_and_set_version(self, key: str, version: int, value: bytes, /) -> bool:
        """Store ``value`` only if the version of ``key`` is still ``version`` (0: only if absent).

        Return whether it was stored; the value stored never expires. A new key gets a random
        version, so a key deleted and written again does not reuse the version a reader saw before.
        """
        if type(key) is not str:
            raise bad_key(key)
        if _c.check_version(version) == 0:
            return self.set_if_absent(key, value)
        value = as_bytes(value, key, "SQLiteStore")
        self._writable()
        sql = (
            f'UPDATE "{self._table}" SET value = ?, version = version + 1, expires = NULL, '
            f"rank = {self._rank_sql} WHERE key = ? AND version = ? AND {LIVE}"
        )
        return self._changed(sql, (value, self._rank(), key, version, self._clock()), key, value)

    def _changed(self, sql: str, params: tuple[Any, ...], key: str, value: bytes) -> bool:
        cache = self._cache
        if cache is not None:
            cache.check_size(key, value)
            return self._write_bounded(cache, sql, params, (key,)) == 1
        with _fork.gate():
            try:
                cur = self._open().execute(sql, params)
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                cur = self._run(sql, params, "writing", exc)
        return cur.rowcount == 1


def _check_same_process(pid: int) -> None:
    if os.getpid() != pid:
        raise StoreError(
            "This process was forked inside a transaction() block of its parent; the transaction "
            "is the parent's, so the child can neither commit nor roll it back. Nothing of the "
            "block is committed by the child."
        )


def bad_key(key: object) -> InvalidKey:
    return InvalidKey(f"Expected a str key. Got {type(key).__name__}: {key!r:.80}.")
