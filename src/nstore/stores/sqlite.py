"""SQLiteStore: one database file, durable writes, fast reads, transactions; standard library only."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

from nstore.errors import ConfigurationError, MissingKey
from nstore.stores import _sqlite_conn as _c
from nstore.stores import _sqlite_fork as _fork
from nstore.stores import _sqlite_schema as _schema
from nstore.stores._sqlite_cache import Cache, Eviction, SQLiteCacheStats, check_bound
from nstore.stores._sqlite_checkpoint import SAFETY_PAGES, Checkpointer
from nstore.stores._sqlite_expiry import PURGE_EVERY
from nstore.stores._sqlite_reads import PAGE
from nstore.stores._sqlite_threads import SQLiteThreads
from nstore.stores._sqlite_writes import CHUNK, bad_key
from nstore.stores._values import as_bytes

__all__ = ["Checkpoints", "Durability", "Eviction", "SQLiteCacheStats", "SQLiteStore"]

#: How much a write that returned survives; see :class:`SQLiteStore`.
Durability = Literal["normal", "full", "off"]
#: Where the WAL is copied back into the database; see :class:`SQLiteStore`.
Checkpoints = Literal["background", "inline"]


class SQLiteStore(SQLiteThreads):
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
        Seconds (0 to 86400) to wait for another connection's write lock before retrying, then
        raising :class:`~nstore.errors.StoreUnavailable`.
    read_only
        Open the file read-only: it must exist and hold the table; nothing in it is changed (no
        WAL switch, no table created) and every write raises :class:`~nstore.errors.ReadOnlyError`.
    max_bytes
        Bound the bytes of the keys (as UTF-8) and values of this table: a write that takes it over
        evicts keys under the ``eviction`` policy before it returns. None: unbounded.
    eviction
        ``"lru"`` (least recently read or written first), ``"lfu"`` (fewest reads and writes
        first) or ``"fifo"`` (least recently written first); see docs/sqlite.md for exactly when
        reads count.
    clock
        The wall clock of deadlines, in seconds (:func:`time.time`); other processes that open
        the file must agree with it.
    checkpoints
        ``"background"`` (default): the WAL is copied back into the database (a *checkpoint*) by
        a thread of this store, started at its first few dozen writes, so a write does not wait
        for it (writes 1.2x to 1.4x faster); ``"inline"``: by SQLite itself, in the write that
        takes the WAL past 1,000 pages. What a write survives is the same either way.

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
        max_bytes: int | None = None,
        eviction: Eviction = "lru",
        clock: Callable[[], float] = time.time,
        checkpoints: Checkpoints = "background",
    ) -> None:
        if durability not in _c.SYNCHRONOUS:
            raise ConfigurationError(
                f"Expected durability 'normal', 'full' or 'off'. Got {durability!r} instead."
            )
        if checkpoints not in ("background", "inline"):
            raise ConfigurationError(
                f"Expected checkpoints 'background' or 'inline'. Got {checkpoints!r} instead."
            )
        self._read_only = bool(read_only)
        bound = check_bound(max_bytes, eviction, self._read_only)
        self._path = _c.check_path(path, self._read_only)
        self._table = t = _c.check_table(table)
        self._durability = durability
        self._timeout = _c.check_timeout(timeout)
        self._clock = clock
        self._local = threading.local()
        self._threads = weakref.WeakSet()
        self._lock = threading.Lock()
        self._writes = 0
        self._checkpoint_mode: Checkpoints = checkpoints
        background = checkpoints == "background" and not self._read_only
        self._connect = partial(
            _c.connect,
            self._path,
            _c.SYNCHRONOUS[durability],
            self._timeout,
            self._read_only,
            SAFETY_PAGES if background else 1000,
        )
        self._checkpoints = Checkpointer(self._connect) if background else None
        conn = _c.with_retries(self._connect, "opening")
        try:
            current = _c.with_retries(lambda: _schema.initialize(conn, t, self._read_only), "opening")
            if bound is not None:
                _c.with_retries(lambda: _schema.prepare_cache(conn, t, eviction), "opening")
        except BaseException:
            conn.close()
            raise
        self._cache = None if bound is None else Cache(t, bound, eviction, clock)
        cache = self._cache
        if cache is None:  # NULL: an ordered table's trigger keeps the rank, lfu's loses the count
            self._rank_sql, self._rank_excluded = "?", "rank = excluded.rank"
        elif cache.ordered:  # the parameter is None: the newest rank, and the next rowid
            self._rank_sql = f"coalesce(?, {_schema.NEWEST.format(t=t)}){cache.renew}"
            self._rank_excluded = f"rank = {cache.rank_excluded}{cache.renew}"
        else:
            self._rank_sql, self._rank_excluded = "coalesce(rank, 0) + ?", "rank = excluded.rank"
        # A read-only store over a table from before expiry reads it as it is: no key expires.
        self._exp = exp = "expires" if current else "NULL"
        self._sql_get = f'SELECT value, {exp} FROM "{t}" WHERE key = ?'
        self._sql_has = f'SELECT {exp} FROM "{t}" WHERE key = ?'
        upsert = f'INSERT INTO "{t}" (key, value, version{{}}) VALUES (?, ?, {_schema.NEW_VERSION}{{}}) '
        update = "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1"
        self._sql_set = upsert.format("", "") + update + (", expires = NULL" if current else "")
        self._sql_set_ttl = upsert.format(", expires", ", ?") + update + ", expires = excluded.expires"
        self._sql_del = f'DELETE FROM "{t}" WHERE key = ? AND ({exp} IS NULL OR {exp} > ?)'
        # Listing stays on the covering key index: the expired keys are left out through the
        # index of deadlines, which covers their keys, rather than by reading every row.
        live = f'key NOT IN (SELECT key FROM "{t}" WHERE {exp} <= ?) ORDER BY key LIMIT {PAGE}'
        self._sql_keys = f'SELECT key FROM "{t}" WHERE key >= ? AND key < ? AND {live}'
        self._sql_keys_open = f'SELECT key FROM "{t}" WHERE key >= ? AND {live}'
        self._sql_many = f'SELECT key, value, {exp} FROM "{t}" WHERE key IN ({_c.placeholders(CHUNK)})'
        self._adopt(conn)
        _fork.track(self, self._path)
        if self._checkpoints is not None:  # a store dropped without close() stops its thread too
            weakref.finalize(self, self._checkpoints.close)

    # -- the mapping ---------------------------------------------------------------------------------

    def __getitem__(self, key: str, /) -> bytes:
        if type(key) is not str:
            raise bad_key(key)
        try:
            thread = self._local.thread
        except AttributeError:
            thread = self._thread()
        # acquire and release, not a with statement: that costs 0.1 us of a 5 us read
        # (benchmarks/bench_peers.py, the get against diskcache)
        gate = thread.gate
        gate.acquire()
        try:
            row = thread.cur.execute(self._sql_get, (key,)).fetchone()
        except UnicodeEncodeError:
            raise MissingKey(key) from None  # no stored key has a lone surrogate
        except sqlite3.Error as exc:
            row = self._run(self._sql_get, (key,), "reading", exc).fetchone()
        finally:
            gate.release()
        cache = self._cache
        if row is None or (row[1] is not None and row[1] <= self._clock()):
            if cache is not None:
                cache.misses += 1
            raise MissingKey(key)
        if cache is not None and cache.hit(key):
            self._flush_reads()
        return row[0]  # type: ignore[no-any-return]  # the value column holds bytes

    def __setitem__(self, key: str, value: bytes, /) -> None:
        if type(key) is not str:
            raise bad_key(key)
        if type(value) is not bytes:
            value = as_bytes(value, key, "SQLiteStore")
        if self._cache is not None:
            self._write_one(key, value, None)
            return
        try:
            thread = self._local.thread
        except AttributeError:
            thread = self._thread()
        with thread.gate:
            try:
                thread.cur.execute(self._sql_set, (key, value))
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                self._run(self._sql_set, (key, value), "writing", exc)
        self._writes += 1
        if self._writes >= PURGE_EVERY:
            self._wrote(0)

    def __delitem__(self, key: str, /) -> None:
        if type(key) is not str:
            raise bad_key(key)
        thread = self._thread()
        params = (key, self._clock())
        with thread.gate:
            try:
                cur = thread.cur.execute(self._sql_del, params)
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                cur = self._run(self._sql_del, params, "deleting", exc)
        if cur.rowcount == 0:
            raise MissingKey(key)  # absent, or expired (left for the purge)

    def __contains__(self, key: object, /) -> bool:
        if type(key) is not str:
            return False
        try:
            thread = self._local.thread
        except AttributeError:
            thread = self._thread()
        gate = thread.gate  # acquired and released as in __getitem__
        gate.acquire()
        try:
            row = thread.cur.execute(self._sql_has, (key,)).fetchone()
        except UnicodeEncodeError:
            return False  # no stored key has a lone surrogate
        except sqlite3.Error as exc:
            row = self._run(self._sql_has, (key,), "reading", exc).fetchone()
        finally:
            gate.release()
        return row is not None and (row[0] is None or row[0] > self._clock())

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
    def supports_ttl(self) -> bool:
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

    def __reduce__(self) -> tuple[Any, ...]:
        # A store travels to another process (multiprocessing with spawn) as its parameters; the
        # receiver opens its own connections.
        cache = self._cache
        bound = (None, "lru") if cache is None else (cache.max_bytes, cache.policy)
        args = (self._path, self._table, self._durability, self._timeout, self._read_only, *bound)
        return (_reopen, (*args, self._clock, self._checkpoint_mode))

    def __repr__(self) -> str:
        state = " <closed>" if isinstance(self._local, _c.ClosedLocal) else ""
        mode = ", read_only=True" if self._read_only else ""
        cache = self._cache
        if cache is not None:
            mode += f", max_bytes={cache.max_bytes}, eviction={cache.policy!r}"
        if self._checkpoint_mode != "background":
            mode += f", checkpoints={self._checkpoint_mode!r}"
        args = f"{self._path!r}, table={self._table!r}, durability={self._durability!r}{mode}"
        return f"SQLiteStore({args}){state}"


def _reopen(
    path: str,
    table: str,
    durability: Durability,
    timeout: float,
    read_only: bool,
    max_bytes: int | None,
    eviction: Eviction,
    clock: Callable[[], float],
    checkpoints: Checkpoints = "background",
) -> SQLiteStore:
    return SQLiteStore(
        path,
        table,
        durability,
        timeout=timeout,
        read_only=read_only,
        max_bytes=max_bytes,
        eviction=eviction,
        clock=clock,
        checkpoints=checkpoints,
    )
