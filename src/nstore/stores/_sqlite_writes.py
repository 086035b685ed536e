"""The write side of SQLiteStore: transactions, bulk operations and conditional writes."""

from __future__ import annotations

import os
import sqlite3
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from nstore._expiry import unsupported_ttl
from nstore.errors import InvalidKey, MissingKey, StoreError
from nstore.store import Store, item_pairs
from nstore.stores import _sqlite_conn as _c
from nstore.stores import _sqlite_fork as _fork
from nstore.stores._values import as_bytes

#: Keys per ``IN (...)`` query: under SQLite's oldest default limit of 999 bound variables.
CHUNK: Final = 500

#: The version of a newly created key: random in [1, 2**62], so deleting and re-creating a key
#: does not bring back an old version (no ABA for compare_and_set_version).
NEW_VERSION: Final = "((random() & 4611686018427387903) + 1)"


class SQLiteWrites(Store[str, bytes]):
    """Transactions, bulk operations and conditional writes over the calling thread's connection."""

    _table: str
    _read_only: bool
    _sql_set: str
    _sql_del: str
    _sql_many: str

    @abstractmethod
    def _open(self) -> sqlite3.Cursor:
        """The calling thread's cursor, connecting on first use (raises StoreClosed if closed)."""

    def _run(self, sql: str, params: Iterable[Any], what: str, first: BaseException) -> sqlite3.Cursor:
        """The slow path: retry ``sql`` after the hot path's first attempt failed with ``first``."""
        if isinstance(first, UnicodeEncodeError):
            raise InvalidKey(f"Expected a key encodable as UTF-8. Got {first.object!r}.") from None
        params = tuple(params)
        return _c.with_retries(lambda: self._open().execute(sql, params), what, first)

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
        if conn.in_transaction:
            _c.execute(conn, "SAVEPOINT nstore", "beginning a savepoint")
            try:
                yield
            except BaseException:
                if os.getpid() == pid:
                    _c.execute(conn, "ROLLBACK TO nstore", "rolling back a savepoint")
                    _c.execute(conn, "RELEASE nstore", "rolling back a savepoint")
                raise
            _check_same_process(pid)
            _c.execute(conn, "RELEASE nstore", "releasing a savepoint")
            return
        # A read-only store has no write lock to take: its blocks are read snapshots.
        _c.execute(conn, "BEGIN" if self._read_only else "BEGIN IMMEDIATE", "beginning a transaction")
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

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        """Return the values of those ``keys`` that are present; missing keys are left out.

        One query per 500 keys, all in one read transaction: the result is one consistent
        snapshot of the database.
        """
        wanted = list(dict.fromkeys(keys))
        for key in wanted:
            if type(key) is not str:
                raise bad_key(key)
        if not wanted:
            return {}
        if len(wanted) <= CHUNK:
            return dict(self._select_chunk(wanted))
        found: dict[str, bytes] = {}
        # The gate is held across the snapshot, so a fork waits for it rather than inheriting it.
        with _fork.gate(), self._read_snapshot():
            for start in range(0, len(wanted), CHUNK):
                found.update(self._select_chunk(wanted[start : start + CHUNK]))
        return found

    def _select_chunk(self, chunk: list[str]) -> list[tuple[str, bytes]]:
        sql = self._sql_many if len(chunk) == CHUNK else self._sql_many_for(len(chunk))
        with _fork.gate():
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
        _c.execute(conn, "BEGIN", "beginning a read")
        try:
            yield
        except BaseException:
            _c.rollback(conn)
            raise
        _c.execute(conn, "COMMIT", "ending a read")

    def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        """Store every pair in one transaction: all of them or (on error or crash) none."""
        if ttl is not None:
            raise unsupported_ttl(self)
        if type(items) is dict and _all_type(items, str) and _all_type(items.values(), bytes):
            # The common case, checked at C speed: sqlite3 binds the dict's own pairs, with no
            # per-pair Python loop (about 5% of a 10,000-value batch of 100 B values).
            if items:
                self._executemany(self._sql_set, items.items(), "writing")
            return
        pairs = item_pairs(items)
        rows = []
        for key, value in pairs:
            if type(key) is not str:
                raise bad_key(key)
            rows.append((key, value if type(value) is bytes else as_bytes(value, key, "SQLiteStore")))
        if rows:
            self._executemany(self._sql_set, rows, "writing")

    def delete_many(self, keys: Iterable[str], /) -> None:
        """Remove every present key of ``keys`` in one transaction; missing keys are ignored."""
        rows = []
        for key in keys:
            if type(key) is not str:
                raise bad_key(key)
            rows.append((key,))
        if rows:
            self._executemany(self._sql_del, rows, "deleting")

    def _executemany(self, sql: str, rows: Iterable[Any], what: str) -> None:
        try:
            # The gate is held across the transaction, so a fork waits for it to end.
            with _fork.gate(), self.transaction():
                self._open().connection.executemany(sql, rows)
        except UnicodeEncodeError as exc:
            raise InvalidKey(f"Expected keys encodable as UTF-8. Got {exc.object!r}.") from None
        except sqlite3.Error as exc:
            raise _c.translate(exc, what) from exc

    # -- conditional writes --------------------------------------------------------------------

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        """Store ``value`` only if ``key`` is absent; return whether it was stored.

        Atomic: one ``INSERT ... ON CONFLICT DO NOTHING``, so exactly one concurrent caller wins.
        """
        if type(key) is not str:
            raise bad_key(key)
        value = as_bytes(value, key, "SQLiteStore")
        sql = f'INSERT INTO "{self._table}" (key, value, version) VALUES (?, ?, {NEW_VERSION}) '
        sql += "ON CONFLICT (key) DO NOTHING"
        return self._changed(sql, (key, value))

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        """Replace the value at ``key`` with ``value`` only if it is ``expected`` now.

        Return whether it was replaced. Atomic: one ``UPDATE ... WHERE value = ?``; for large
        values, :meth:`compare_and_set_version` compares a version instead.
        """
        if type(key) is not str:
            raise bad_key(key)
        value = as_bytes(value, key, "SQLiteStore")
        sql = f'UPDATE "{self._table}" SET value = ?, version = version + 1 WHERE key = ? AND value = ?'
        return self._changed(sql, (value, key, as_bytes(expected, key, "SQLiteStore")))

    def get_with_version(self, key: str, /) -> tuple[bytes, int]:
        """Return the value at ``key`` and its version, an opaque positive integer.

        The version changes on every write of the key; pass it to :meth:`compare_and_set_version`.
        """
        if type(key) is not str:
            raise bad_key(key)
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
            raise bad_key(key)
        if _c.check_version(version) == 0:
            return self.set_if_absent(key, value)
        sql = f'UPDATE "{self._table}" SET value = ?, version = version + 1 WHERE key = ? AND version = ?'
        return self._changed(sql, (as_bytes(value, key, "SQLiteStore"), key, version))

    def _changed(self, sql: str, params: tuple[Any, ...]) -> bool:
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


def _all_type(objects: Iterable[object], kind: type) -> bool:
    """True if every object is exactly of type ``kind`` (no subclass); the loop runs in C."""
    return set(map(type, objects)) <= {kind}


def bad_key(key: object) -> InvalidKey:
    return InvalidKey(f"Expected a str key. Got {type(key).__name__}: {key!r:.80}.")
