"""The cache tier of a CacheStore: writes to every cache, and degrades when a cache fails.

A cache that raises :class:`~nstore.errors.StoreError` or :class:`OSError` (a remote cache that is
down, a value over a bounded cache's limit) is a degraded cache, not an error: the operation goes on
without it, the failure is counted and logged as a warning (once per failing episode), and the key
is invalidated in that cache. When even the invalidation fails, the key is *tainted* for that
cache: reads skip the cache for it until a later write, delete or fill of the key there succeeds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from nstore.errors import MissingKey, StoreClosed, StoreError
from nstore.store import Store

__all__ = ["DEGRADED", "Tier"]

K = TypeVar("K")
V = TypeVar("V")

#: Errors that mean "this cache cannot serve now", never "the caller did something wrong".
DEGRADED: tuple[type[BaseException], ...] = (StoreError, OSError)


def is_degraded(exc: BaseException) -> bool:
    return isinstance(exc, DEGRADED) and not isinstance(exc, StoreClosed)


class Tier(Generic[K, V]):
    """The caches of a CacheStore, in lookup order, with their failure bookkeeping."""

    def __init__(self, caches: Sequence[Store[K, V]], logger: logging.Logger) -> None:
        self.caches = tuple(caches)
        self.logger = logger
        self.tainted: list[set[K]] = [set() for _ in self.caches]
        self._failing = [False] * len(self.caches)
        self._lock = threading.Lock()
        self.write_failures = 0
        self.read_failures = 0
        #: Called with a cache's index when its taint set becomes empty or non-empty.
        self.on_taint_change: Callable[[int], None] = lambda _: None

    # -- failure bookkeeping -------------------------------------------------------------------

    def failed(self, index: int, operation: str, keys: object, exc: BaseException, *, write: bool) -> None:
        """Count and log a failure of cache ``index``; ``keys`` is one key, or a list of them."""
        what = (
            f"{len(keys)} keys"
            if isinstance(keys, list) and len(keys) != 1
            else repr(keys[0] if isinstance(keys, list) else keys)
        )
        with self._lock:
            if write:
                self.write_failures += 1
            else:
                self.read_failures += 1
            first = not self._failing[index]
            self._failing[index] = True
        if first:
            self.logger.warning(
                "Cache %d (%s) failed on %s %s: %s: %s; serving from the primary store until it recovers.",
                index,
                type(self.caches[index]).__name__,  # not its repr: that may hold a URL
                operation,
                what,
                type(exc).__name__,
                exc,
            )
        else:
            self.logger.debug("Cache %d failed again on %s %s: %s", index, operation, what, exc)

    def _succeeded(self, index: int, keys: Iterable[K]) -> None:
        if self._failing[index]:
            with self._lock:
                was, self._failing[index] = self._failing[index], False
            if was:
                self.logger.warning("Cache %d (%s) works again.", index, type(self.caches[index]).__name__)
        taint = self.tainted[index]
        if taint:
            before = len(taint)
            taint.difference_update(keys)
            if before and not taint:
                self.on_taint_change(index)

    def _invalidate(self, index: int, keys: list[K]) -> BaseException | None:
        """Remove ``keys`` from one cache; taint them there when that fails. Return the failure."""
        try:
            self.caches[index].delete_many(keys)
        except BaseException as exc:
            if not is_degraded(exc):
                raise
            taint = self.tainted[index]
            was_empty = not taint
            taint.update(keys)
            if was_empty:
                self.on_taint_change(index)
            return exc
        self._succeeded(index, keys)
        return None

    # -- writes ---------------------------------------------------------------------------------

    def set(self, key: K, value: V, upto: int | None = None) -> None:
        """Write ``key`` to the caches before index ``upto`` (every cache if None)."""
        for index, cache in enumerate(self.caches[:upto]):
            try:
                cache[key] = value
            except BaseException as exc:
                self._invalidate(index, [key])
                if not is_degraded(exc):
                    raise
                self.failed(index, "set", key, exc, write=True)
            else:
                self._succeeded(index, (key,))

    def set_many(self, pairs: list[tuple[K, V]], upto: int | None = None) -> None:
        if not pairs:
            return
        for index, cache in enumerate(self.caches[:upto]):
            try:
                cache.set_many(pairs)
            except BaseException as exc:
                self._invalidate(index, [k for k, _ in pairs])
                if not is_degraded(exc):
                    raise
                self.failed(index, "set", [k for k, _ in pairs], exc, write=True)
            else:
                self._succeeded(index, (k for k, _ in pairs))

    def delete(self, keys: list[K]) -> None:
        """Remove ``keys`` from every cache (absent keys are fine)."""
        if not keys:
            return
        for index in range(len(self.caches)):
            exc = self._invalidate(index, keys)
            if exc is not None:
                self.failed(index, "delete", keys, exc, write=True)

    # -- reads ------------------------------------------------------------------------------------

    def get(self, index: int, key: K) -> V:
        """Read ``key`` from one cache; raise MissingKey when absent, tainted or failing."""
        taint = self.tainted[index]
        if taint and key in taint:
            raise MissingKey(key)
        try:
            return self.caches[index][key]
        except KeyError:
            raise
        except BaseException as exc:
            if not is_degraded(exc):
                raise
            self.failed(index, "get", key, exc, write=False)
            raise MissingKey(key) from None

    def get_many(self, index: int, keys: list[K]) -> dict[K, V]:
        taint = self.tainted[index]
        wanted = [k for k in keys if k not in taint] if taint else keys
        if not wanted:
            return {}
        try:
            return self.caches[index].get_many(wanted)
        except BaseException as exc:
            if not is_degraded(exc):
                raise
            self.failed(index, "get", wanted, exc, write=False)
            return {}

    def contains(self, index: int, key: K) -> bool:
        taint = self.tainted[index]
        if taint and key in taint:
            return False
        try:
            return key in self.caches[index]
        except BaseException as exc:
            if not is_degraded(exc):
                raise
            self.failed(index, "contains", key, exc, write=False)
            return False
