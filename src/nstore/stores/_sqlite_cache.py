"""The size bound of a SQLiteStore (``max_bytes=``, ``eviction=``): its statements, its counters,
the reads it has yet to record, and eviction in bounded batches.

A single write commits on its own and says how many bytes the table held before it; only a write
that may have taken the table over its bound then makes room, in a transaction that records the
reads remembered so far and evicts. ``set_many`` and conditional writes write and make room in one
transaction. So the table is over its bound by at most the single writes in flight (one value
per writing connection), and within it once each has returned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final, Literal

from nstore.errors import ConfigurationError, ValueTooLarge
from nstore.stores._sqlite_names import CACHES
from nstore.stores._sqlite_schema import (
    NEW_VERSION,
    NEWEST,
    ORDERED,
    ROW_BYTES,
    running_total,
    total_sql,
)

Eviction = Literal["lru", "lfu", "fifo"]
POLICIES: Final = ("lru", "lfu", "fifo")

#: Rows an eviction round reads as candidates (then deletes as many of them as it needs).
EVICT_BATCH: Final = 1024
#: Once over its bound, a store evicts down to ``max_bytes - max_bytes // HEADROOM``, so the
#: writes that follow do not each evict a row. Larger batches cost less per evicted row (measured
#: with 1 KiB values: evicting 1/16 of the bound at a time makes a full store's writes about
#: 1.3x faster than 1/64), for a table that holds on average 1/32 less than its bound.
HEADROOM: Final = 16
#: An lru read moves its row to the end unless fewer than ``max_bytes // YOUNG`` bytes were
#: written after it.
YOUNG: Final = 4
#: An ordered table's running total starts again from its bytes when it passes this, long before
#: a float (the ``rank`` column) loses whole bytes at 2**53: after about 10**15 bytes written.
RENUMBER_AT: Final = 2**50
#: Reads recorded in memory before they are written to the table (sooner at the next write).
ACCESS_BATCH: Final = 256
#: Reads kept in memory at most while the database is locked by another connection's write:
#: each try to write them is one attempt that does not wait; past this many they are dropped.
PENDING_MAX: Final = 4 * ACCESS_BATCH


@dataclass(frozen=True)
class SQLiteCacheStats:
    """What a bounded :class:`~nstore.stores.sqlite.SQLiteStore` object has counted since it was
    opened: reads that found a value (``hits``) or not (``misses``), and keys its writes evicted
    to stay within ``max_bytes`` (``evictions``; expired keys removed on the way are not counted).
    Each store object counts its own calls; the counters are not locked, so under many threads an
    increment of ``hits`` or ``misses`` can be lost. ``evictions`` counts committed evictions.
    """

    hits: int
    misses: int
    evictions: int


def check_bound(max_bytes: object, eviction: object, read_only: bool) -> int | None:
    """``max_bytes`` if it is a positive int (or None), after checking ``eviction``."""
    if eviction not in POLICIES:
        raise ConfigurationError(f"Expected eviction 'lru', 'lfu' or 'fifo'. Got {eviction!r} instead.")
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ConfigurationError(f"Expected max_bytes as an integer > 0 (or None). Got {max_bytes!r}.")
    if read_only:
        raise ConfigurationError("A read_only SQLiteStore cannot evict: drop max_bytes= or read_only=True.")
    return max_bytes


class Cache:
    """One bounded store object's policy, counters and not yet recorded reads."""

    def __init__(self, table: str, max_bytes: int, policy: Eviction, clock: Callable[[], float]) -> None:
        self.max_bytes = max_bytes
        self.low = max_bytes - max_bytes // HEADROOM
        self.policy = policy
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        #: Evictions inside a transaction() block not yet committed, by connection: counted in
        #: ``evictions`` when that block commits, dropped when it rolls back.
        self.uncommitted: dict[sqlite3.Connection, int] = {}
        # key -> time of its last read (lru) or reads since the last flush (lfu)
        self.pending: dict[str, float] = {}
        #: How many remembered reads make a read write them (more after a try found the lock held).
        self.flush_at = ACCESS_BATCH
        self.table = t = table
        self.ordered = policy in ORDERED
        newest = NEWEST.format(t=t)
        #: A written or read row of an ordered table gets the next rowid (the newest): the
        #: assignment, appended to an update's SET (see _sqlite_schema.prepare_cache).
        self.renew = f', rowid = (SELECT max(rowid) FROM "{t}") + 1' if self.ordered else ""
        #: What an upsert sets ``rank`` to when the key exists, from ``excluded.rank``.
        self.rank_excluded = f"coalesce(excluded.rank, {newest})" if self.ordered else "excluded.rank"
        if self.ordered:
            # The running total: a new key adds its bytes to the newest rank; an overwrite takes
            # the newest rank, and a trigger records the change of its size.
            size = "length(CAST(?1 AS BLOB)) + length(?2)"
            insert = f"?1, ?2, {NEW_VERSION}, ?3, coalesce({newest}, 0) + {size}"
            on_update = f"coalesce({newest}, 0)"
        else:  # lfu: a count of reads and writes
            insert = f"?1, ?2, {NEW_VERSION}, ?3, ?4"
            on_update = "coalesce(rank, 0) + 1"
        self.sql_set = (
            f'INSERT INTO "{t}" (key, value, version, expires, rank) VALUES ({insert}) ON CONFLICT (key) '
            "DO UPDATE SET value = excluded.value, version = version + 1, expires = excluded.expires, "
            f"rank = {on_update}{self.renew}"
        )
        # A single write in autocommit also says what the table held (with its own bytes when
        # it added a key): a RETURNING clause sees the database before the triggers of its own
        # statement.
        self.sql_bytes = total_sql(t, policy)
        removed = f"(SELECT bytes FROM \"{CACHES}\" WHERE name = '{t}')"
        self.sql_set_one = f"{self.sql_set} RETURNING {'rank - ' if self.ordered else ''}{removed}"
        # lru: a read row moves to the end, unless it is among the newest quarter of the bound
        # (fewer bytes than that written after it: the running totals say so), which is far from
        # being evicted; so a key read over and over moves once, not at every batch.
        self.sql_access = (
            f'UPDATE "{t}" SET rank = coalesce(rank, 0) + ?2 WHERE key = ?1'
            if policy == "lfu"
            else f'UPDATE "{t}" SET rank = {newest}{self.renew} '
            f"WHERE key = ? AND rank <= {newest} - {max_bytes // YOUNG}"
        )
        size = ROW_BYTES.format(r=f'"{t}"')
        self.sql_expired = (
            f'SELECT rowid, key, {size} FROM "{t}" WHERE expires <= ? ORDER BY expires LIMIT {EVICT_BATCH}'
        )
        order = "rowid" if self.ordered else "rank"
        self.sql_oldest = f'SELECT rowid, key, {size} FROM "{t}" ORDER BY {order} LIMIT {EVICT_BATCH}'
        self.sql_delete = f'DELETE FROM "{t}" WHERE rowid = ?'
        self.sql_newest = f"SELECT coalesce({newest}, 0)"

    def params(self, key: str, value: bytes, expires: float | None) -> tuple[object, ...]:
        """The parameters of :attr:`sql_set` and :attr:`sql_set_one`."""
        return (key, value, expires) if self.ordered else (key, value, expires, 1.0)

    def rank(self) -> float | None:
        """The rank parameter of a conditional write: lfu its first count; None in an ordered
        table, whose statements and triggers give the rank."""
        return None if self.ordered else 1.0

    def check_size(self, key: str, value: bytes) -> int:
        """The bytes ``key`` and ``value`` take; raise :class:`ValueTooLarge` above ``max_bytes``."""
        size = len(key.encode("utf-8", "surrogatepass")) + len(value)
        if size > self.max_bytes:
            raise ValueTooLarge(
                f"The key and value of {key!r:.80} take {size} bytes, more than max_bytes={self.max_bytes}."
            )
        return size

    def stats(self) -> SQLiteCacheStats:
        return SQLiteCacheStats(self.hits, self.misses, self.evictions)

    # -- reads -----------------------------------------------------------------------------------

    def hit(self, key: str) -> bool:
        """Count a hit and remember it for the policy; True when the reads should be written now."""
        self.hits += 1
        pending = self.pending
        if self.policy == "lru":
            pending[key] = self.clock()
        elif self.policy == "lfu":
            pending[key] = pending.get(key, 0.0) + 1.0
        else:
            return False  # fifo: reads do not change the order
        return len(pending) >= self.flush_at

    def keep(self) -> None:
        """The reads could not be written now (another connection holds the write lock): keep
        them for a try after :data:`ACCESS_BATCH` more, or drop them past :data:`PENDING_MAX`
        (they only order evictions)."""
        if len(self.pending) >= PENDING_MAX:
            self.pending, self.flush_at = {}, ACCESS_BATCH
        else:
            self.flush_at = len(self.pending) + ACCESS_BATCH

    def flush(self, cur: sqlite3.Cursor) -> None:
        """Write the reads remembered so far into the ranks (inside a write transaction)."""
        pending, self.pending = self.pending, {}
        self.flush_at = ACCESS_BATCH
        if not pending:
            return
        if self.ordered:  # lru: the rows move to the end, the last read last
            cur.executemany(self.sql_access, [(key,) for key in sorted(pending, key=pending.__getitem__)])
        else:
            cur.executemany(self.sql_access, list(pending.items()))

    # -- writes ----------------------------------------------------------------------------------

    def make_room(self, cur: sqlite3.Cursor, written: Collection[str]) -> int:
        """After a write: if the table holds more than ``max_bytes``, delete expired keys and then
        keys in the policy's order (not those just ``written``, unless nothing else is left)
        until it holds at most ``low``, reading at most :data:`EVICT_BATCH` candidates per round
        and going on past one round only while it is over ``max_bytes``. Return the keys evicted
        by the policy."""
        self.flush(cur)
        total = cur.execute(self.sql_bytes).fetchone()[0]
        if total <= self.max_bytes:
            return 0
        evicted = 0
        protected: Collection[str] = written
        while total > self.max_bytes:
            need = total - self.low
            victims: list[tuple[int]] = []
            freed = 0
            seen: set[int] = set()
            # Candidates are read one by one, only as many as needed (a round usually needs far
            # fewer than EVICT_BATCH); the deletes come after the reading, on the same cursor.
            for policy, sql, params in (
                (False, self.sql_expired, (self.clock(),)),
                (True, self.sql_oldest, ()),
            ):
                if freed >= need:
                    break
                for rowid, key, size in cur.execute(sql, params):
                    if freed >= need:
                        break
                    if rowid in seen or key in protected:
                        continue
                    seen.add(rowid)
                    victims.append((rowid,))
                    freed += size
                    evicted += policy
            if not victims:
                if not protected:
                    break  # nothing left to delete; the count says more than the table holds
                protected = ()
                continue
            cur.executemany(self.sql_delete, victims)
            total -= freed
        if self.ordered and cur.execute(self.sql_newest).fetchone()[0] > RENUMBER_AT:
            running_total(cur.connection, self.table, self.policy)
        return evicted
