"""Per-key expiry of SQLiteStore: writes with a ttl, ``ttl``, ``touch``, purging, and the writes
of a bounded store.

A deadline is wall-clock time (``clock()``, :func:`time.time` unless the store was given another
clock), stored in the ``expires`` column, because other processes read the same file. A row past
its deadline stays in the table until it is purged, but no operation ever returns or counts it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any, Final

from nstore._expiry import check_ttl
from nstore.errors import MissingKey, StoreUnavailable, UnsupportedOperation
from nstore.store import item_pairs
from nstore.stores import _sqlite_conn as _c
from nstore.stores import _sqlite_fork as _fork
from nstore.stores._sqlite_cache import SQLiteCacheStats
from nstore.stores._sqlite_checkpoint import Checkpointer
from nstore.stores._sqlite_writes import LIVE, SQLiteWrites, bad_key
from nstore.stores._values import as_bytes

#: Every this many writes of a store object, it deletes up to PURGE_BATCH expired keys (one
#: statement on the index of deadlines), so the work a write does for purging is bounded.
PURGE_EVERY: Final = 64
PURGE_BATCH: Final = 128
#: Expired keys :meth:`SQLiteExpiry.purge_expired` deletes per statement (each its own transaction).
PURGE_ALL_BATCH: Final = 10_000


class SQLiteExpiry(SQLiteWrites):
    """Writes with a ttl, ``ttl``, ``touch``, purging expired keys, and bounded writes."""

    _sql_set_ttl: str
    _writes: int
    _checkpoints: Checkpointer | None

    def _deadline(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + check_ttl(ttl)

    def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        # docstring inherited
        if ttl is None and self._cache is None:
            self[key] = value
            return
        if type(key) is not str:
            raise bad_key(key)
        if type(value) is not bytes:
            value = as_bytes(value, key, "SQLiteStore")
        self._write_one(key, value, self._deadline(ttl))

    def _write_one(self, key: str, value: bytes, expires: float | None) -> None:
        """A write with a deadline, or any single write of a bounded store."""
        cache = self._cache
        size = 0
        params: tuple[object, ...]
        if cache is None:
            self._writable()
            sql, params = self._sql_set_ttl, (key, value, expires)
        else:
            size = cache.check_size(key, value)
            sql, params = cache.sql_set_one, cache.params(key, value, expires)
        with _fork.gate():
            try:
                cur = self._open().execute(sql, params)
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                cur = self._run(sql, params, "writing", exc)
            try:
                before = cur.fetchone()[0] if cache is not None else 0
            except sqlite3.Error as exc:  # the statement's end, interrupted by close()
                raise _c.translate(exc, "writing") from exc
        # A bounded write commits alone, and only if the table may now hold more than its bound
        # (it held ``before`` and gained at most ``size``) makes room in a transaction of its own:
        # until then the table is over the bound by this value at most.
        if cache is not None and before + size > cache.max_bytes:
            self._write_bounded(cache, "", (), (key,))
        self._wrote(1)

    def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        """Store every pair in one transaction: all of them or (on error or crash) none; with
        ``ttl``, each expires ``ttl`` seconds from now."""
        expires = self._deadline(ttl)
        cache = self._cache
        if (
            cache is None
            and expires is None
            and type(items) is dict
            and _all_type(items, str)
            and _all_type(items.values(), bytes)
        ):
            # The common case, checked at C speed: sqlite3 binds the dict's own pairs, with no
            # per-pair Python loop (about 5% of a 10,000-value batch of 100 B values).
            if items:
                self._executemany(self._sql_set, items.items(), "writing")
                self._wrote(len(items))
            return
        rows = []
        for key, value in item_pairs(items):
            if type(key) is not str:
                raise bad_key(key)
            rows.append((key, value if type(value) is bytes else as_bytes(value, key, "SQLiteStore")))
        if not rows:
            return
        if cache is not None:
            for key, value in rows:
                cache.check_size(key, value)
            params = [cache.params(key, value, expires) for key, value in rows]
            self._write_bounded(cache, cache.sql_set, params, {key for key, _ in rows}, many=True)
        elif expires is None:
            self._executemany(self._sql_set, rows, "writing")
        else:
            self._writable()
            self._executemany(self._sql_set_ttl, [(key, value, expires) for key, value in rows], "writing")
        self._wrote(len(rows))

    def ttl(self, key: str, /) -> float | None:
        """Seconds left before ``key`` expires, or None if it never expires.

        Raise :class:`~nstore.errors.MissingKey` if ``key`` is absent or expired.
        """
        if type(key) is not str:
            raise bad_key(key)
        sql = f'SELECT {self._exp} FROM "{self._table}" WHERE key = ?'
        try:
            row = _c.with_retries(lambda: self._open().execute(sql, (key,)).fetchone(), "reading")
        except UnicodeEncodeError:
            raise MissingKey(key) from None
        if row is None:
            raise MissingKey(key)
        if row[0] is None:
            return None
        left: float = row[0] - self._clock()
        if left <= 0:
            raise MissingKey(key)
        return left

    def touch(self, key: str, /, *, ttl: float | None) -> None:
        """Make ``key`` expire ``ttl`` seconds from now (``None``: never), keeping its value and
        version. Raise :class:`~nstore.errors.MissingKey` if ``key`` is absent or expired."""
        if type(key) is not str:
            raise bad_key(key)
        expires = self._deadline(ttl)
        self._writable()
        sql = f'UPDATE "{self._table}" SET expires = ? WHERE key = ? AND {LIVE}'
        params = (expires, key, self._clock())
        try:
            cur = _c.with_retries(lambda: self._open().execute(sql, params), "writing")
        except UnicodeEncodeError:
            raise MissingKey(key) from None
        if cur.rowcount == 0:
            raise MissingKey(key)

    def purge_expired(self) -> int:
        """Delete every expired key now; return how many were deleted.

        Expired keys are never returned, and a store deletes some of them as it writes (at most
        128 per 64 writes); this deletes the rest, 10,000 per transaction so that other writers
        wait for a short lock at a time.
        """
        self._writable()
        sql = (
            f'DELETE FROM "{self._table}" WHERE rowid IN (SELECT rowid FROM "{self._table}" '
            "WHERE expires <= ? ORDER BY expires LIMIT ?)"
        )
        now = self._clock()
        total = 0
        while True:
            cur = _c.with_retries(lambda: self._open().execute(sql, (now, PURGE_ALL_BATCH)), "purging")
            total += cur.rowcount
            if cur.rowcount < PURGE_ALL_BATCH:
                return total

    def _wrote(self, n: int) -> None:
        """Count ``n`` writes; every :data:`PURGE_EVERY`, wake the checkpoint thread and delete
        a few expired keys."""
        self._writes += n
        if self._writes < PURGE_EVERY:
            return
        self._writes = 0
        if self._checkpoints is not None:
            self._checkpoints.wake()
        sql = (
            f'DELETE FROM "{self._table}" WHERE rowid IN (SELECT rowid FROM "{self._table}" '
            f"WHERE expires <= ? ORDER BY expires LIMIT {PURGE_BATCH})"
        )
        now = self._clock()
        # The write itself is done; if the database stays locked, a later purge deletes them.
        with contextlib.suppress(StoreUnavailable):
            _c.with_retries(lambda: self._open().execute(sql, (now,)), "purging")

    # -- the size bound ----------------------------------------------------------------------------

    @property
    def max_bytes(self) -> int | None:
        """The bound on the bytes of keys and values of this store (None: unbounded)."""
        return None if self._cache is None else self._cache.max_bytes

    @property
    def eviction(self) -> str | None:
        """The eviction policy of a bounded store: ``"lru"``, ``"lfu"`` or ``"fifo"`` (None if unbounded)."""
        return None if self._cache is None else self._cache.policy

    @property
    def stats(self) -> SQLiteCacheStats:
        """Hits, misses and evictions counted by this bounded store object since it was opened.

        Raise :class:`~nstore.errors.UnsupportedOperation` for a store without ``max_bytes``,
        which counts nothing.
        """
        if self._cache is None:
            raise UnsupportedOperation(
                "This SQLiteStore has no max_bytes bound, and only a bounded store counts hits, "
                "misses and evictions."
            )
        return self._cache.stats()


def _all_type(objects: Iterable[Any], kind: type) -> bool:
    """True if every object is exactly of type ``kind`` (no subclass); the loop runs in C."""
    return set(map(type, objects)) <= {kind}
