"""The read side of SQLiteStore beyond single keys: ``get_many``, counting and listing, each
leaving out expired keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, Final

from nstore.store import KeyPage, check_limit, cursor_after
from nstore.stores import _sqlite_conn as _c
from nstore.stores import _sqlite_fork as _fork
from nstore.stores._sqlite_expiry import SQLiteExpiry
from nstore.stores._sqlite_writes import CHUNK, bad_key

#: Keys per page of a listing; each page is its own short read, so no read lock is held between.
PAGE: Final = 512


class SQLiteReads(SQLiteExpiry):
    """``get_many``, ``len``, ``count_keys``, ``iter_keys`` and ``keys_page``."""

    _sql_keys: str
    _sql_keys_open: str

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
            rows = self._select_chunk(wanted)
        else:
            rows = []
            # The gate is held across the snapshot, so a fork waits for it rather than inheriting it.
            with _fork.gate(), self._read_snapshot():
                for start in range(0, len(wanted), CHUNK):
                    rows += self._select_chunk(wanted[start : start + CHUNK])
        now = None
        found: dict[str, bytes] = {}
        for key, value, expires in rows:
            if expires is not None:
                now = self._clock() if now is None else now
                if expires <= now:
                    continue
            found[key] = value
        cache = self._cache
        if cache is not None:
            cache.misses += len(wanted) - len(found)
            full = False
            for key in found:
                full |= cache.hit(key)
            if full:
                self._flush_reads()
        return found

    def _select_chunk(self, chunk: list[str]) -> list[tuple[str, bytes, float | None]]:
        sql = self._sql_many if len(chunk) == CHUNK else self._sql_many_for(len(chunk))
        with _fork.gate():
            try:
                return self._open().execute(sql, chunk).fetchall()
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                return self._run(sql, chunk, "reading", exc).fetchall()

    def _sql_many_for(self, n: int) -> str:
        return f'SELECT key, value, {self._exp} FROM "{self._table}" WHERE key IN ({_c.placeholders(n)})'

    @contextmanager
    def _read_snapshot(self) -> Iterator[None]:
        conn = self._open().connection
        if _c.in_transaction(conn):
            yield
            return
        _c.execute(conn, "BEGIN", "beginning a read")
        try:
            yield
        except BaseException:
            _c.rollback(conn)
            raise
        _c.execute(conn, "COMMIT", "ending a read")

    def __len__(self) -> int:
        return self.count_keys()

    def count_keys(self, prefix: str | None = None) -> int:
        """The number of keys that start with ``prefix`` (every key if None), expired keys left out.

        One range count on the key index (it costs the keys in the range, not the table), less
        the expired keys in the range, counted on the index of deadlines.
        """
        if prefix is not None and type(prefix) is not str:
            raise bad_key(prefix)
        t, exp = self._table, self._exp
        upper = successor(prefix) if prefix else None
        params: tuple[str, ...] = ()
        if not prefix:
            where = ""
        elif upper is None:
            where, params = " WHERE key >= ?", (prefix,)
        else:
            where, params = " WHERE key >= ? AND key < ?", (prefix, upper)
        expired = f"{where} AND" if where else " WHERE"
        sql = f'SELECT (SELECT count(*) FROM "{t}"{where}) - (SELECT count(*) FROM "{t}"{expired} {exp} <= ?)'
        args = (*params, *params, self._clock())
        try:
            return int(_c.with_retries(lambda: self._open().execute(sql, args).fetchone()[0], "counting"))
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
        upper = successor(prefix)
        sql, bounds = (self._sql_keys, (upper,)) if upper is not None else (self._sql_keys_open, ())
        low = prefix
        while True:
            params = (low, *bounds, self._clock())
            try:
                rows = _c.with_retries(partial(self._fetch, sql, params), "listing")
            except UnicodeEncodeError:
                return  # a prefix with a lone surrogate: no stored key can start with it
            for (key,) in rows:
                yield key
            if len(rows) < PAGE:
                return
            low = rows[-1][0] + "\x00"  # the smallest string after the last key seen

    def keys_page(
        self, prefix: str | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[str]:
        """One page of the keys that start with ``prefix``: up to ``limit`` keys after ``cursor``.

        Keys come in sorted order; the cursor is the last key of the previous page (None for the
        first page, and a page's cursor is None when the listing is complete). A page is one
        index range read (``key > cursor AND key < upper``), so it costs one page (and the
        expired keys in it, which it leaves out).
        """
        if prefix is not None and type(prefix) is not str:
            raise bad_key(prefix)
        check_limit(limit)
        prefix = prefix or ""
        low = cursor_after(cursor, prefix)
        upper = successor(prefix)
        below = "" if upper is None else " AND key < ?"
        t = self._table
        sql = (
            f'SELECT key FROM "{t}" WHERE key >= ?{below} '
            f'AND key NOT IN (SELECT key FROM "{t}" WHERE {self._exp} <= ?) ORDER BY key LIMIT ?'
        )
        bounds = () if upper is None else (upper,)
        params = (low, *bounds, self._clock(), limit + 1)
        self._open()
        try:
            rows = _c.with_retries(partial(self._fetch, sql, params), "listing")
        except UnicodeEncodeError:
            return KeyPage([], None)  # a lone surrogate: no stored key can start with it
        keys = [key for (key,) in rows[:limit]]
        return KeyPage(keys, keys[-1] if len(rows) > limit else None)

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._open().execute(sql, params).fetchall()


def successor(prefix: str) -> str | None:
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
