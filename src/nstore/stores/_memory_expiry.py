"""Per-key expiry for MemoryStore, plain and bounded: the deadlines and a heap to purge them in order.

:class:`Expiry` maps each key that expires to ``(deadline, value)``. The plain MemoryStore keeps its
expiring entries there, beside the dict of those that never expire (so a read of a key without
expiry stays one dict lookup); the bounded store keeps every value in its ordered dict, and the
value here is the one the deadline was set with: a deadline holds only while that same object is
the key's value (a write racing the first expiring one, on the lock-free path, keeps its own value
without the other's deadline).

Purging is lazy and amortised: every deadline set is pushed on a heap; :meth:`Expiry.due` pops the
deadlines that have passed (each pushed entry is popped once), skipping those made stale by a later
write, and the heap is rebuilt from the live deadlines when stale entries outnumber them. Every
method but the reads of :attr:`Expiry.entries` is called with the store's lock held.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from itertools import count
from typing import Any, Generic, TypeVar

from nstore.errors import ConfigurationError
from nstore.stores._memory_index import KeyIndex

__all__ = ["Clock", "Expiry", "check_clock"]

K = TypeVar("K")
V = TypeVar("V")

#: Seconds as a float, never going backwards: ``time.monotonic`` or a test's own clock.
Clock = Callable[[], float]

#: Stale heap entries tolerated beyond the live ones before the heap is rebuilt.
_SLACK = 64


def check_clock(clock: Clock) -> Clock:
    """``clock`` if it can be called; a :class:`~nstore.errors.ConfigurationError` otherwise."""
    given: object = clock  # checked at run time: callers may be untyped
    if not callable(given):
        raise ConfigurationError(
            f"Expected a callable returning seconds (such as time.monotonic) for clock. Got {clock!r}."
        )
    return clock


class Expiry(Generic[K, V]):
    """The deadlines of one store's expiring keys, with a heap of them and a sorted key index."""

    __slots__ = ("_heap", "_seq", "clock", "entries", "index")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        #: key -> (deadline, value); read without the lock, written under it.
        self.entries: dict[K, tuple[float, V]] = {}
        #: The sorted keys of :attr:`entries` (the plain MemoryStore lists by prefix through it).
        self.index = KeyIndex()
        self._heap: list[tuple[float, int, Any]] = []
        self._seq = count()  # breaks ties between equal deadlines: keys need not be ordered

    def deadline(self, ttl: float) -> float:
        """The clock time ``ttl`` seconds from now."""
        when = self.clock() + ttl
        if not math.isfinite(when):
            raise ConfigurationError(f"The clock answered {when!r}; expected a finite number of seconds.")
        return when

    def put(self, key: K, value: V, when: float) -> None:
        """Make ``key`` (holding ``value``) expire at clock time ``when``."""
        self.entries[key] = (when, value)
        heap = self._heap
        heappush(heap, (when, next(self._seq), key))
        if len(heap) > 2 * len(self.entries) + _SLACK:
            self._heap = [(w, next(self._seq), k) for k, (w, _) in self.entries.items()]
            heapify(self._heap)

    def live(self, key: K) -> tuple[float, V] | None:
        """``key``'s entry if it has one that has not expired; an expired one is left to :meth:`due`."""
        entry = self.entries.get(key)
        if entry is not None and entry[0] <= self.clock():
            return None
        return entry

    def discard(self, key: K) -> tuple[float, V] | None:
        """Remove ``key``'s entry (expired or not) and return it; None if it had none."""
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.index.deleted += 1
        return entry

    def left(self, entry: tuple[float, V]) -> float:
        """Seconds left before ``entry`` expires (0.0 once it has)."""
        return max(0.0, entry[0] - self.clock())

    def due(self) -> list[tuple[K, V]]:
        """Remove the entries whose deadline has passed and return their ``(key, value)`` pairs."""
        heap = self._heap
        if not heap:
            return []
        now = self.clock()
        if heap[0][0] > now:
            return []
        entries = self.entries
        gone: list[tuple[K, V]] = []
        while heap and heap[0][0] <= now:
            when, _, key = heappop(heap)
            entry = entries.get(key)
            if entry is not None and entry[0] == when:  # not replaced by a later write
                del entries[key]
                gone.append((key, entry[1]))
        self.index.deleted += len(gone)
        return gone

    def clear(self) -> None:
        self.entries.clear()
        self._heap.clear()
        self.index.reset()
