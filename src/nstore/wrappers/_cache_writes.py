"""The writing half of CacheStore: construction, writes to the primary and the caches, life cycle.

:class:`~nstore.wrappers.CacheStore` adds the reads (``_cache.py``); the decisions of both are
in ``_cache_rules.py``, shared with the async cache store.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from nstore._expiry import unsupported_ttl
from nstore.store import Store, item_pairs
from nstore.wrappers import _cache_rules as rules
from nstore.wrappers._behind import WriteBehind
from nstore.wrappers._cache_rules import DELETE, SET, TOUCH, clock
from nstore.wrappers._cache_state import CacheState
from nstore.wrappers._forwarding import ForwardingStore
from nstore.wrappers._stripes import CacheStats, Locked
from nstore.wrappers._tier import Tier

__all__ = ["CacheWrites"]

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

#: The first cache's reader while it has tainted keys: every read falls through to the tier.
NOTHING: Mapping[Any, Any] = MappingProxyType({})


class CacheWrites(ForwardingStore[K, V], Generic[K, V]):
    """A primary store and its caches, written together; the base of :class:`CacheStore`."""

    __slots__ = (
        "__weakref__",
        "_behind",
        "_count_hits",
        "_finalizer",
        "_first",
        "_pending",
        "_state",
        "_tier",
        "_timed",
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
        rules.check_parts(Store, primary, (cache, *more_caches), queue_size)
        super().__init__(primary)
        self._tier = Tier((cache, *more_caches), logger or logging.getLogger("nstore.cache"))
        # A weak reference: the worker thread holds the tier, and must not keep the store alive.
        choose = weakref.WeakMethod(self._choose_first)
        self._tier.on_taint_change = lambda index: (method := choose()) and method(index)
        self._state: CacheState[K] = CacheState(bool(count_hits))
        self._pending = self._state.pending
        self._count_hits = bool(count_hits)
        self._timed = bool(primary.supports_ttl)
        self._first: Mapping[K, V] = cache.reader()
        self._behind: WriteBehind[K, V] | None = None
        self._finalizer: Callable[[], None] | None = None
        if write_behind:
            self._behind = WriteBehind(self._tier, self._state, queue_size)
            # Drains the queue when the store is collected or at interpreter exit; holds no
            # reference to the store itself.
            self._finalizer = weakref.finalize(self, self._behind.stop)

    def _choose_first(self, index: int) -> None:
        # The hit path reads the first cache through its reader, unless some of its keys are
        # tainted: then every read of it goes through the tier, which skips those keys.
        if index == 0:
            tainted = bool(self._tier.tainted[0])
            self._first = NOTHING if tainted else self._tier.caches[0].reader()

    @property
    def caches(self) -> tuple[Store[K, V], ...]:
        """The caches, in lookup order."""
        return self._tier.caches

    @property
    def stats(self) -> CacheStats:
        """Hits (None unless ``count_hits=True``), misses, cache failures, writes not yet in the caches."""
        return self._state.stats(self._tier)

    def _learn(self, key: K, source: int | None, began: float) -> float | None:
        """The deadline of a value read from ``source`` (a cache's index; None: the primary)."""
        if source is not None and not self._tier.timed[source]:
            return None  # an untimed cache holds only values that never expire
        store = self._store if source is None else self._tier.caches[source]
        try:
            return rules.learned(store.ttl(key), began)
        except KeyError:
            return rules.PAST  # expired meanwhile

    # -- writes ----------------------------------------------------------------------------------

    def _write(
        self, keys: list[K], op: int, values: list[Any], call: Callable[[], R], deadline: float | None = None
    ) -> R:
        """Run ``call`` on the primary, then update the caches, under the keys' stripe locks.

        A write that raised (it may have reached the primary in part) or a conditional write that
        did not happen (the primary holds something else, perhaps written by another process)
        invalidates its keys instead: the caches forget them, and reads ask the primary.
        A set with the primary's default expiry learns each key's deadline from the primary.
        """
        state = self._state
        state.check("CacheStore")
        stripes = state.stripes(keys)
        failure: BaseException | None = None
        result: R | None = None
        deadlines = [deadline] * len(keys)
        batch: list[tuple[K, int]] = []
        began = clock()
        with Locked(state.locks, stripes):
            try:
                result = call()
                if op == SET and deadline is None and self._timed:
                    deadlines = [self._learn(k, None, began) for k in keys]
            except BaseException as exc:  # re-raised below, once the caches forgot the keys
                failure = exc
            entries = state.entries(keys, rules.settled(op, failure, result), values, deadlines)
            state.wrote(stripes)
            if self._behind is None:
                self._tier.apply(entries)
            else:
                batch = state.stage(entries)
        if self._behind is not None:
            self._behind.enqueue(batch)
        if failure is not None:
            raise failure
        return cast("R", result)  # call() returned it

    def _deadline(self, ttl: float | None) -> float | None:
        if ttl is not None and not self._timed:
            raise unsupported_ttl(self)
        return rules.deadline_of(ttl, clock())

    def __setitem__(self, key: K, value: V, /) -> None:
        self._write([key], SET, [value], partial(self._store.__setitem__, key, value))

    def __delitem__(self, key: K, /) -> None:
        self._write([key], DELETE, [None], partial(self._store.__delitem__, key))

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        # docstring inherited; the cached copy expires with the primary's value
        deadline = self._deadline(ttl)
        self._write([key], SET, [value], partial(self._store.set, key, value, ttl=ttl), deadline)

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        deadline = self._deadline(ttl)
        pairs = list(item_pairs(items))
        if pairs:
            call = partial(self._store.set_many, pairs, ttl=ttl)
            self._write([k for k, _ in pairs], SET, [v for _, v in pairs], call, deadline)

    def delete_many(self, keys: Iterable[K], /) -> None:
        doomed = list(keys)
        if doomed:
            self._write(doomed, DELETE, [None] * len(doomed), partial(self._store.delete_many, doomed))

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        # docstring inherited; the caches get the new deadline, or forget the key
        if not self._timed:
            raise unsupported_ttl(self)
        deadline = self._deadline(ttl)
        self._write([key], TOUCH, [None], partial(self._store.touch, key, ttl=ttl), deadline)

    def set_if_absent(self, key: K, value: V, /) -> bool:
        return self._write([key], SET, [value], partial(self._store.set_if_absent, key, value))

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        return self._write([key], SET, [value], partial(self._store.compare_and_set, key, expected, value))

    # -- life cycle ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until every background cache write is applied; raise a worker error, if any."""
        if self._behind is not None:
            self._behind.drain()
        self._state.check("CacheStore")

    def close(self) -> None:
        """Drain the queue, stop the worker, close the caches and the primary.

        Idempotent. A worker error not yet reported is raised after everything is closed.
        """
        state = self._state
        if state.closed:
            return
        if self._finalizer is not None:
            self._finalizer()
        state.close()
        for cache in self._tier.caches:
            cache.close()
        self._store.close()
        if state.errors:
            raise state.errors.popleft()
