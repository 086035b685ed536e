"""Per-key expiry for MemoryStore, plain and bounded: the deadlines and a heap to purge them in order.

:class:`Expiry` maps each key that expires to ``(deadline, value)``. The plain MemoryStore keeps its
expiring entries there, beside the dict of those that never expire (so a read of a key without
expiry stays one dict lookup); the bounded store keeps every value in its ordered dict, and the
value here is the one the deadline was set with: a deadline holds only while that same object is
the key's value (a write racing the first expiring one, on the lock-free path, keeps its own value
without the other's deadline).

Purging is lazy and amortised: a key's deadline is pushed on a heap when the key gets its first
one or an earlier one; a deadline moved later keeps the key's heap entry, and :meth:`Expiry.due`,
popping the entries that have passed, pushes such a key again at its current deadline (so a key
rewritten with the same ttl costs one push per ttl, not one per write). A heap entry whose key
has gone is skipped, and the heap is rebuilt from the live deadlines if stale entries ever
outnumber them four to one. So every entry has a heap entry at or before its deadline, and
:meth:`Expiry.due` finds every entry that has expired. Every method but the reads of
:attr:`Expiry.entries` is called with the store's lock held.
"""

from __future__ import annotations

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
        return self.clock() + ttl

    def put(self, key: K, value: V, when: float) -> None:
        """Make ``key`` (holding ``value``) expire at clock time ``when``."""
        entries = self.entries
        old = entries.get(key)
        entries[key] = (when, value)
        if old is None or when < old[0]:  # a later deadline keeps the heap entry (see due)
            self._push(when, key)

    def set(self, key: K, value: V, ttl: float) -> bool:
        """:meth:`put` ``ttl`` seconds from now (one clock read); whether some entry is due."""
        now = self.clock()
        when = now + ttl
        entries = self.entries
        old = entries.get(key)
        entries[key] = (when, value)
        if old is None or when < old[0]:
            self._push(when, key)
        return self._heap[0][0] <= now

    def _push(self, when: float, key: K) -> None:
        heap = self._heap
        heappush(heap, (when, next(self._seq), key))
        if len(heap) > 4 * len(self.entries) + _SLACK:  # mostly stale: rebuilt from the live ones
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
            _, _, key = heappop(heap)
            entry = entries.get(key)
            if entry is None:
                continue  # deleted, or purged through another heap entry
            if entry[0] <= now:
                del entries[key]
                gone.append((key, entry[1]))
            else:  # its deadline moved later since this was pushed: it waits for that one
                heappush(heap, (entry[0], next(self._seq), key))
        self.index.deleted += len(gone)
        return gone

    def clear(self) -> None:
        self.entries.clear()
        self._heap.clear()
        self.index.reset()
