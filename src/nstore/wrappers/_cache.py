"""CacheStore: reads served by caches in front of a primary store; writes always reach the primary.

Consistency rules (one CacheStore object, any number of threads; the decisions are in
``_cache_rules.py``, shared with :class:`~nstore.wrappers.AsyncCacheStore`):

1. A write (set, delete, touch, bulk or conditional) reaches the primary before it returns, under
   the lock of the key's stripe (one of 64), so writes to one key are applied in one order.
2. Synchronous caches are written under the same lock before the write returns. With
   ``write_behind=True`` the write is *staged* as a pending entry under that lock, and reads consult
   the pending entries before any cache; the worker forgets an entry only after every cache has it.
3. A read that misses fills the caches only if no write touched the key's stripe between the
   moment it looked and the fill (a version counter per stripe), so a slow reader never puts an
   older value over a newer one.
4. Hence: once ``store[k] = v`` returned, every read of ``k`` through this CacheStore returns ``v``
   or a later value; once ``del store[k]`` returned, reads raise ``KeyError`` until a later set.
5. A write that raised, or a conditional write that did not happen, invalidates its keys: the
   caches forget them (with write-behind: a pending INVALIDATE entry sends reads to the primary
   until the worker has removed them), so the next read returns what the primary holds.
6. Over a primary with expiry (``supports_ttl``), a cache entry never outlives the primary's value:
   it gets the deadline the write gave (or the primary's ``ttl()`` tells, for a fill or a write
   with the primary's default), :data:`~nstore.wrappers._cache_rules.MARGIN` early; a cache without
   expiry does not keep such a value. Writes made to the primary or the caches directly, or through
   another CacheStore, are outside these rules: caches are then as stale as their own expiry allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from nstore.errors import KeyEncodingError, MissingKey, StoreClosed
from nstore.wrappers import _cache_rules as rules
from nstore.wrappers._cache_rules import ASK, CACHED, GONE, HIT
from nstore.wrappers._cache_state import Look, found_only
from nstore.wrappers._cache_writes import CacheWrites
from nstore.wrappers._stripes import CacheStats, Locked
from nstore.wrappers._tier import DEGRADED

__all__ = ["CacheStats", "CacheStore"]

K = TypeVar("K")
V = TypeVar("V")
NAME = "CacheStore"


class CacheStore(CacheWrites[K, V], Generic[K, V]):
    """A primary store with one or more caches in front of it.

    Reads go to the first cache that has the key, else to the primary, and then fill the caches
    in front of the one that answered. Sets and deletes go to the primary synchronously, always;
    the caches are written synchronously, or with ``write_behind=True`` by a background thread fed
    by a bounded queue of ``queue_size`` batches. When that queue is full, writers block until the
    worker catches up (backpressure; the primary write is already done). Fills are dropped instead.

    ``flush()`` waits until the queue is drained; ``close()`` and interpreter exit drain it too.
    A write-behind store does not survive ``os.fork()``: its worker thread stays in the parent,
    so in the child every use raises :class:`~nstore.errors.StoreError` (``close()`` only closes
    the caches and the primary); create the CacheStore in the child after the fork.
    An unexpected error in the worker is raised to the caller of the next operation or of
    ``flush()``/``close()``. A cache that fails with a :class:`~nstore.errors.StoreError` or
    :class:`OSError` is not an error: reads fall through to the primary, the key is invalidated in
    that cache (or skipped there until rewritten), and a warning goes to the ``nstore.cache``
    logger. Any other error of a cache write is raised, once every cache has had the write (the
    failing cache forgets the key). A cache that refuses a key
    (:class:`~nstore.errors.KeyEncodingError`, as a FileStore does for ``"a//b"``) cannot hold it:
    reads of that key skip that cache, and writes succeed without it. :attr:`supports_ttl` is the
    primary's; see the module documentation for the exact consistency rules, expiry included.

    :attr:`stats` counts misses and cache failures always, and hits with ``count_hits=True``
    (like the ``recordStats`` option of Java's Guava and Caffeine caches: counting is paid on every
    hit, about a third of the cost of a MemoryStore read).

    Examples
    --------
    >>> from nstore import MemoryStore
    >>> primary = MemoryStore[str, bytes]()
    >>> cached = CacheStore(primary, MemoryStore[str, bytes](maxsize=1000), count_hits=True)
    >>> cached["a"] = b"1"
    >>> cached["a"], primary["a"]
    (b'1', b'1')
    >>> cached.stats.hits
    1
    """

    __slots__ = ()

    # -- reads -----------------------------------------------------------------------------------

    def __getitem__(self, key: K, /) -> V:
        # The hit path: one look at the pending entries (write-behind writes, a worker error to
        # report, a closed store), then the first cache's reader (see Store.reader).
        if self._pending:
            return self._get_slow(key)
        try:
            value = self._first[key]
        except KeyError:
            return self._get_from(key, 0)  # not final from a reader (an expiring entry, say)
        except StoreClosed:
            raise
        except KeyEncodingError:  # a key the first cache cannot hold
            return self._get_from(key, 1)
        except DEGRADED as exc:
            self._tier.failed(0, "get", key, exc, write=False)
            return self._get_from(key, 1)
        if self._count_hits:
            self._state.hits += 1
        return value

    def _get_slow(self, key: K) -> V:
        answer, value = self._state.lookup(key, NAME)
        if answer == HIT:
            return value  # type: ignore[no-any-return]  # staged by a set as a V
        if answer == GONE:
            raise MissingKey(key)
        return self._get_from(key, len(self._tier.caches) if answer == ASK else 0)  # ASK: the primary

    def _get_from(self, key: K, start: int) -> V:
        tier, state = self._tier, self._state
        for index in range(start, len(tier.caches)):
            look = state.look([key]) if index else None  # a hit in the first cache fills nothing
            try:
                value = tier.get(index, key)
            except KeyError:
                continue
            state.hits += 1
            if look is not None:
                self._fill_found(look, {key: value}, index)
            return value
        look = state.missed([key])
        value = self._store[key]
        self._fill_found(look, {key: value}, None)
        return value

    def _fill_found(self, look: Look[K], got: dict[K, V], upto: int | None) -> None:
        """Put values read below (from cache ``upto``; None: the primary) into the caches before it."""
        keys, pairs, stripes, seen = found_only(look, got)
        deadlines = [self._learn(k, upto, look.began) for k in keys] if self._timed else [None] * len(keys)
        entries = rules.fills(pairs, deadlines)
        if self._behind is not None:
            self._behind.offer_fill(entries, stripes, seen, upto)
            return
        with Locked(self._state.locks, stripes):
            self._tier.apply(self._state.fresh(entries, stripes, seen), upto)

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        found, wanted, unknown = self._state.sort_many(keys, NAME)
        tier = self._tier
        for index in range(len(tier.caches)):
            look = self._state.look(wanted)
            got = tier.get_many(index, wanted) if wanted else {}
            found.update(got)
            self._state.hits += len(got)
            if got and index:
                self._fill_found(look, got, index)
            wanted = [k for k in wanted if k not in got]
        wanted += unknown
        if wanted:
            look = self._state.missed(wanted)
            got = self._store.get_many(wanted)
            found.update(got)
            self._fill_found(look, got, None)
        return found

    def __contains__(self, key: object, /) -> bool:
        if self._pending:
            answer, _ = self._state.lookup(key, NAME, count=False)
            if answer == ASK:
                return key in self._store
            if answer != CACHED:
                return answer == HIT
        tier = self._tier
        if any(tier.contains(i, key) for i in range(len(tier.caches))):  # type: ignore[arg-type]  # any object
            return True
        return key in self._store

    def __len__(self) -> int:
        self._state.check(NAME)
        return len(self._store)

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited: the primary's count
        self._state.check(NAME)
        return self._store.count_keys(prefix)

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited: the primary is the ground truth for listing
        self._state.check(NAME)
        return self._store.iter_keys(prefix)

    def ttl(self, key: K, /) -> float | None:
        # docstring inherited: the primary's
        self._state.check(NAME)
        return self._store.ttl(key)

    def __repr__(self) -> str:
        mode = ", write_behind=True" if self._behind is not None else ""
        caches = ", ".join(repr(c) for c in self._tier.caches)
        return f"CacheStore({self._store!r}, {caches}{mode})"
