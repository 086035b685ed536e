"""CacheStore: reads served by caches in front of a primary store; writes always reach the primary.

Consistency rules (one CacheStore object, any number of threads):

1. A write (set, delete, bulk or conditional) reaches the primary before it returns, under the
   lock of the key's stripe (one of 64), so writes to one key are applied in one order everywhere.
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
   Writes made to the primary or the caches directly, or through another CacheStore, are not seen
   by these rules: caches are then as stale as their own expiry (``ttl``) allows.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from nstore._expiry import unsupported_ttl
from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.store import Store, item_pairs
from nstore.wrappers._behind import ATTENTION, DELETE, INVALIDATE, MARK, SET, Pending, WriteBehind
from nstore.wrappers._forwarding import ForwardingStore
from nstore.wrappers._stripes import STRIPES, CacheStats, Locked
from nstore.wrappers._tier import DEGRADED, Tier

__all__ = ["CacheStats", "CacheStore"]

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

#: The first cache's reader while it has tainted keys: every read falls through to the tier.
_NOTHING: Mapping[Any, Any] = MappingProxyType({})


class CacheStore(ForwardingStore[K, V], Generic[K, V]):
    """A primary store with one or more caches in front of it.

    Reads go to the first cache that has the key, else to the primary, and then fill the caches
    in front of the one that answered. Sets and deletes go to the primary synchronously, always;
    the caches are written synchronously, or with ``write_behind=True`` by a background thread fed
    by a bounded queue of ``queue_size`` batches. When that queue is full, writers block until the
    worker catches up (backpressure; the primary write is already done). Fills are dropped instead.

    ``flush()`` waits until the queue is drained; ``close()`` and interpreter exit drain it too.
    An unexpected error in the worker is raised to the caller of the next operation or of
    ``flush()``/``close()``. A cache that fails with a :class:`~nstore.errors.StoreError` or
    :class:`OSError` is not an error: reads fall through to the primary, the key is invalidated in
    that cache (or skipped there until rewritten), and a warning goes to the ``nstore.cache``
    logger. See the module documentation for the exact consistency rules.

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

    __slots__ = (
        "__weakref__",
        "_after_first",
        "_behind",
        "_closed",
        "_count_hits",
        "_finalizer",
        "_first",
        "_hits",
        "_locks",
        "_misses",
        "_pending",
        "_tier",
        "_versions",
    )

    def __init__(
        self,
        primary: Store[K, V],
        cache: Store[K, V],
        *more_caches: Store[K, V],
        write_behind: bool = False,
        queue_size: int = 1024,
        count_hits: bool = False,
        logger: logging.Logger | None = None,
    ) -> None:
        for role, given in [("primary", primary), ("cache", cache), *(("cache", c) for c in more_caches)]:
            if not isinstance(given, Store):
                raise ConfigurationError(f"Expected a Store for the {role}. Got {type(given).__name__}.")
        size: object = queue_size  # checked at run time: callers may be untyped
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(f"Expected a positive integer for queue_size. Got {queue_size!r}.")
        super().__init__(primary)
        self._tier = Tier((cache, *more_caches), logger or logging.getLogger("nstore.cache"))
        # A weak reference: the worker thread holds the tier, and must not keep the store alive.
        choose = weakref.WeakMethod(self._choose_first)
        self._tier.on_taint_change = lambda index: (method := choose()) and method(index)
        self._locks = tuple(threading.Lock() for _ in range(STRIPES))
        self._versions = [0] * STRIPES
        self._pending: dict[Any, Pending] = {}
        self._hits = 0
        self._misses = 0
        self._count_hits = bool(count_hits)
        self._closed = False
        self._first: Mapping[K, V] = cache.reader()
        self._after_first = 1
        self._behind: WriteBehind[K, V] | None = None
        self._finalizer: Callable[[], None] | None = None
        if write_behind:
            self._behind = WriteBehind(self._tier, self._pending, self._locks, self._versions, queue_size)
            # Drains the queue when the store is collected or at interpreter exit; holds no
            # reference to the store itself.
            self._finalizer = weakref.finalize(self, self._behind.stop)

    def _choose_first(self, index: int) -> None:
        # The hit path reads the first cache through its reader, unless some of its keys are
        # tainted: then every read of it goes through the tier, which skips those keys.
        if index == 0:
            tainted = bool(self._tier.tainted[0])
            self._first = _NOTHING if tainted else self._tier.caches[0].reader()
            self._after_first = 0 if tainted else 1

    # -- introspection ---------------------------------------------------------------------------

    @property
    def caches(self) -> tuple[Store[K, V], ...]:
        """The caches, in lookup order."""
        return self._tier.caches

    @property
    def stats(self) -> CacheStats:
        """Hits (None unless ``count_hits=True``), misses, cache failures, writes not yet in the caches."""
        pending = len(self._pending) - (ATTENTION in self._pending)
        tier = self._tier
        hits = self._hits if self._count_hits else None
        return CacheStats(hits, self._misses, tier.write_failures, tier.read_failures, pending)

    def _check(self) -> None:
        if self._closed:
            raise StoreClosed("This CacheStore is closed; open a new one.")
        behind = self._behind
        if behind is not None and behind.errors:
            exc = behind.errors.popleft()
            if not behind.errors:
                self._pending.pop(ATTENTION, None)
            raise exc

    # -- reads -----------------------------------------------------------------------------------

    def __getitem__(self, key: K, /) -> V:
        # The hit path: one look at the pending entries (write-behind writes, a worker error to
        # report, a closed store), then the first cache's reader (see Store.reader).
        if self._pending:
            return self._get_slow(key)
        try:
            value = self._first[key]
        except KeyError:
            return self._get_from(key, self._after_first)
        except StoreClosed:
            raise
        except DEGRADED as exc:
            self._tier.failed(0, "get", key, exc, write=False)
            return self._get_from(key, 1)
        if self._count_hits:
            self._hits += 1
        return value

    def _get_slow(self, key: K) -> V:
        self._check()
        entry = self._pending.get(key)
        if entry is None:
            return self._get_from(key, 0)
        if entry.op == INVALIDATE:
            return self._get_from(key, len(self._tier.caches))  # only the primary knows
        self._hits += 1
        if entry.op == DELETE:
            raise MissingKey(key)
        return entry.value  # type: ignore[no-any-return]  # staged by __setitem__ as a V

    def _get_from(self, key: K, start: int) -> V:
        tier = self._tier
        for index in range(start, len(tier.caches)):
            stripes, seen = self._versions_of((key,))
            try:
                value = tier.get(index, key)
            except KeyError:
                continue
            self._hits += 1
            if index:
                self._fill([(key, value)], index, stripes, seen)
            return value
        self._misses += 1
        stripes, seen = self._versions_of((key,))
        value = self._store[key]
        self._fill([(key, value)], None, stripes, seen)
        return value

    def _fill(self, pairs: list[tuple[K, V]], upto: int | None, stripes: list[int], seen: list[int]) -> None:
        """Put values read below into the caches before ``upto``, unless written meanwhile.

        ``seen`` holds the version of each key's stripe from before the values were read.
        """
        if self._behind is not None:
            self._behind.offer_fill(pairs, stripes, seen, upto)
            return
        with Locked(self._locks, stripes):
            versions = self._versions
            fresh = [p for p, s, before in zip(pairs, stripes, seen, strict=True) if versions[s] == before]
            self._tier.set_many(fresh, upto)

    def _versions_of(self, keys: Iterable[K]) -> tuple[list[int], list[int]]:
        stripes = [hash(k) % STRIPES for k in keys]
        versions = self._versions
        return stripes, [versions[s] for s in stripes]

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        wanted = list(dict.fromkeys(keys))
        found: dict[K, V] = {}
        pending = self._pending
        unknown: list[K] = []  # invalidated: only the primary knows
        if pending:
            self._check()
            rest = []
            for key in wanted:
                entry = pending.get(key)
                if entry is None:
                    rest.append(key)
                elif entry.op == SET:
                    found[key] = entry.value
                elif entry.op == INVALIDATE:
                    unknown.append(key)
            self._hits += len(wanted) - len(rest) - len(unknown)
            wanted = rest
        tier = self._tier
        for index in range(len(tier.caches)):
            if not wanted:
                break
            stripes, seen = self._versions_of(wanted) if index else ([], [])
            got = tier.get_many(index, wanted)
            if got:
                found.update(got)
                self._hits += len(got)
                if index:
                    self._fill_found(wanted, got, index, stripes, seen)
                wanted = [k for k in wanted if k not in got]
        wanted += unknown
        if wanted:
            self._misses += len(wanted)
            stripes, seen = self._versions_of(wanted)
            got = self._store.get_many(wanted)
            found.update(got)
            self._fill_found(wanted, got, None, stripes, seen)
        return found

    def _fill_found(
        self, asked: list[K], got: dict[K, V], upto: int | None, stripes: list[int], seen: list[int]
    ) -> None:
        kept = [i for i, k in enumerate(asked) if k in got]
        pairs = [(asked[i], got[asked[i]]) for i in kept]
        self._fill(pairs, upto, [stripes[i] for i in kept], [seen[i] for i in kept])

    def __contains__(self, key: object, /) -> bool:
        if self._pending:
            self._check()
            entry = self._pending.get(key)
            if entry is not None and entry.op != INVALIDATE:
                return entry.op == SET
            if entry is not None:
                return key in self._store
        tier = self._tier
        if any(tier.contains(i, key) for i in range(len(tier.caches))):  # type: ignore[arg-type]  # any object
            return True
        return key in self._store

    def __len__(self) -> int:
        self._check()
        return len(self._store)

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited: the primary's count
        self._check()
        return self._store.count_keys(prefix)

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited: the primary is the ground truth for listing
        self._check()
        return self._store.iter_keys(prefix)

    # -- writes ----------------------------------------------------------------------------------

    def _write(self, keys: list[K], op: int, values: list[Any], call: Callable[[], R]) -> R:
        """Run ``call`` on the primary, then update the caches, under the keys' stripe locks.

        A write that raised (it may have reached the primary in part) or a conditional write that
        did not happen (the primary holds something else, perhaps written by another process)
        invalidates its keys instead: the caches forget them, and reads ask the primary.
        """
        self._check()
        stripes = [hash(k) % STRIPES for k in keys]
        behind = self._behind
        batch: list[tuple[K, int]] = []
        failure: BaseException | None = None
        result: R | None = None
        with Locked(self._locks, stripes):
            try:
                result = call()
            except BaseException as exc:  # re-raised below, once the caches forgot the keys
                failure = exc
            if failure is not None or result is False:
                op, values = INVALIDATE, [None] * len(keys)
            for s in set(stripes):
                self._versions[s] += 1
            if behind is not None:
                stage = behind.stage
                batch = [(k, stage(k, op, v)) for k, v in zip(keys, values, strict=True)]
            elif op == SET:
                self._tier.set_many(list(zip(keys, values, strict=True)))
            else:
                self._tier.delete(keys)
        if behind is not None and batch:
            behind.enqueue(batch)
        if failure is not None:
            raise failure
        return cast("R", result)  # call() returned it

    def __setitem__(self, key: K, value: V, /) -> None:
        self._write([key], SET, [value], partial(self._store.__setitem__, key, value))

    def __delitem__(self, key: K, /) -> None:
        self._write([key], DELETE, [None], partial(self._store.__delitem__, key))

    def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        if ttl is not None:
            raise unsupported_ttl(self)
        pairs = list(item_pairs(items))
        if pairs:
            keys = [k for k, _ in pairs]
            self._write(keys, SET, [v for _, v in pairs], partial(self._store.set_many, pairs))

    def delete_many(self, keys: Iterable[K], /) -> None:
        doomed = list(keys)
        if doomed:
            self._write(doomed, DELETE, [None] * len(doomed), partial(self._store.delete_many, doomed))

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        # docstring inherited; a cached copy cannot expire with the primary's value yet
        if ttl is not None:
            raise unsupported_ttl(self)
        self[key] = value

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        raise unsupported_ttl(self)

    @property
    def supports_ttl(self) -> bool:
        return False

    def set_if_absent(self, key: K, value: V, /) -> bool:
        return self._write([key], SET, [value], partial(self._store.set_if_absent, key, value))

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        return self._write([key], SET, [value], partial(self._store.compare_and_set, key, expected, value))

    # -- life cycle ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until every background cache write is applied; raise a worker error, if any."""
        if self._behind is not None:
            self._behind.drain()
        self._check()

    def close(self) -> None:
        """Drain the queue, stop the worker, close the caches and the primary.

        Idempotent. A worker error not yet reported is raised after everything is closed.
        """
        if self._closed:
            return
        if self._finalizer is not None:
            self._finalizer()
        self._closed = True
        self._pending[ATTENTION] = MARK
        for cache in self._tier.caches:
            cache.close()
        self._store.close()
        behind = self._behind
        if behind is not None and behind.errors:
            raise behind.errors.popleft()

    def __repr__(self) -> str:
        mode = ", write_behind=True" if self._behind is not None else ""
        caches = ", ".join(repr(c) for c in self._tier.caches)
        return f"CacheStore({self._store!r}, {caches}{mode})"
