"""The failure bookkeeping of a cache tier, shared by the sync and async cache stores.

A cache that raises :class:`~nstore.errors.StoreError` or :class:`OSError` (a remote cache that is
down, a value over a bounded cache's limit) is a degraded cache, not an error: the operation goes on
without it, the failure is counted and logged as a warning (once per failing episode), and the key
is invalidated in that cache. When even the invalidation fails, the key is *tainted* for that
cache: reads skip the cache for it until a later write, delete or fill of the key there succeeds.

Any other error of a cache write (a value it refuses, a bug) is raised to the caller, but only once
every cache has had the write: the caches after the failing one are still written, and the
failing one forgets (or skips) the keys, so no read serves an older value afterwards. A cache that
refuses a *key* (:class:`~nstore.errors.KeyEncodingError`, such as a FileStore's
:class:`~nstore.errors.InvalidKey`) cannot hold it: reads and writes skip that cache for the key,
and this is no error (the store's keys are its primary's).
The tiers (``_tier.py``, ``_atier.py``) make the calls; this decides what their outcomes mean.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from nstore.errors import KeyEncodingError, StoreClosed, StoreError
from nstore.wrappers._cache_rules import Pending, Step, clock, steps

__all__ = ["DEGRADED", "TierBooks", "is_degraded", "refuses_key"]

K = TypeVar("K")

#: Errors that mean "this cache cannot serve now", never "the caller did something wrong".
DEGRADED: tuple[type[BaseException], ...] = (StoreError, OSError)


def is_degraded(exc: BaseException) -> bool:
    return isinstance(exc, DEGRADED) and not isinstance(exc, StoreClosed)


def refuses_key(exc: BaseException) -> bool:
    """Whether a cache raised because it cannot address a key at all (it then does not hold it)."""
    return isinstance(exc, KeyEncodingError)


class TierBooks(Generic[K]):
    """Which caches fail, which keys each must skip, and the failure counters."""

    def __init__(self, caches: Sequence[Any], logger: logging.Logger) -> None:
        self.names = tuple(type(c).__name__ for c in caches)  # not their repr: that may hold a URL
        #: Whether each cache has per-key expiry (it then receives deadlines).
        self.timed = tuple(bool(c.supports_ttl) for c in caches)
        self.logger = logger
        self.tainted: list[set[K]] = [set() for _ in caches]
        self._failing = [False] * len(caches)
        self._lock = threading.Lock()
        self.write_failures = 0
        self.read_failures = 0
        #: Called with a cache's index when its taint set becomes empty or non-empty.
        self.on_taint_change: Callable[[int], None] = lambda _: None

    def failed(self, index: int, operation: str, keys: object, exc: BaseException, *, write: bool) -> None:
        """Re-raise ``exc`` unless it degrades cache ``index``; else count and log it.

        ``keys`` is one key, or a list of them.
        """
        if not is_degraded(exc):
            raise exc
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
                self.names[index],
                operation,
                what,
                type(exc).__name__,
                exc,
            )
        else:
            self.logger.debug("Cache %d failed again on %s %s: %s", index, operation, what, exc)

    def succeeded(self, index: int, keys: Iterable[K]) -> None:
        """Cache ``index`` took a write of ``keys``: it works, and need not skip them any more."""
        if self._failing[index]:
            with self._lock:
                was, self._failing[index] = self._failing[index], False
            if was:
                self.logger.warning("Cache %d (%s) works again.", index, self.names[index])
        taint = self.tainted[index]
        if taint:
            before = len(taint)
            taint.difference_update(keys)
            if before and not taint:
                self.on_taint_change(index)

    def taint(self, index: int, keys: list[K], exc: BaseException, errors: list[BaseException]) -> None:
        """An invalidation of ``keys`` in cache ``index`` failed: skip them there from now on.

        A single key the cache cannot address is not tainted: the cache cannot hold it. An error
        that does not degrade the cache goes to ``errors``, after the keys are tainted.
        """
        if len(keys) == 1 and refuses_key(exc):
            return
        if not is_degraded(exc):
            errors.append(exc)
        taint = self.tainted[index]
        was_empty = not taint
        taint.update(keys)
        if was_empty:
            self.on_taint_change(index)

    def split(self, step: Step, exc: BaseException) -> list[Step]:
        """The step again key by key, when the cache refused some key of several; else nothing."""
        return step.one_by_one() if len(step.keys) > 1 and refuses_key(exc) else []

    def write_failed(self, index: int, step: Step, exc: BaseException, errors: list[BaseException]) -> None:
        """A write step failed (its keys are invalidated next): count and log it, keep an error for
        the caller, or, for a key the cache cannot address, note it only."""
        if refuses_key(exc):
            name = self.names[index]
            self.logger.debug("Cache %d (%s) cannot hold the key %r: %s", index, name, step.keys[0], exc)
        elif is_degraded(exc):
            self.failed(index, step.name, step.keys, exc, write=True)
        else:
            errors.append(exc)

    def raise_first(self, errors: list[BaseException]) -> None:
        """Raise the errors of one apply: an interruption (not an Exception) first, else the first
        one; the others are logged."""
        if not errors:
            return
        chosen = next((e for e in errors if not isinstance(e, Exception)), errors[0])
        for other in errors:
            if other is not chosen:
                self.logger.error("Another cache write failed too: %s: %s", type(other).__name__, other)
        raise chosen

    def plan(self, entries: Sequence[tuple[K, Pending]], upto: int | None) -> list[tuple[int, Step]]:
        """The calls, cache by cache, that give the caches before ``upto`` the entries' state."""
        if not entries:
            return []
        now = clock()
        count = len(self.timed) if upto is None else upto
        return [(i, step) for i in range(count) for step in steps(entries, self.timed[i], now)]

    def readable(self, index: int, key: K) -> bool:
        taint = self.tainted[index]
        return not taint or key not in taint

    def readable_keys(self, index: int, keys: list[K]) -> list[K]:
        taint = self.tainted[index]
        return [k for k in keys if k not in taint] if taint else keys
