"""One computation per key in a process: the flights in progress, and the statistics.

Shared by the sync and async memoized functions. A flight is a :class:`concurrent.futures.Future`,
so threads wait on it with ``result()`` and tasks (of any event loop) with ``asyncio.wrap_future``.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Abandoned", "Counters", "Flights", "MemoizeStats"]

K = TypeVar("K")


class Abandoned(Exception):  # control flow: never raised to callers
    """The flight's caller was interrupted (KeyboardInterrupt, a cancelled task): its waiters
    try again, and one of them computes."""


@dataclass(frozen=True, slots=True)
class MemoizeStats:
    """Counts of a memoized function's calls in this process, since it was made or cleared.

    Every call is a hit or a miss. A miss is then answered by a computation here, or by waiting
    for another thread's, task's or process's computation (``waits``), or by a cached error.

    >>> from nstore import MemoryStore, memoize
    >>> double = memoize(MemoryStore[str, int]())(lambda x: 2 * x)
    >>> double(1), double(1), double(2)
    (2, 2, 4)
    >>> double.cache_info()
    MemoizeStats(hits=1, misses=2, computations=2, waits=0, errors=0, takeovers=0)
    """

    #: Calls answered from the store at once.
    hits: int
    #: Calls that did not find a value at first.
    misses: int
    #: Calls of the function made here (``errors`` of them raised).
    computations: int
    #: Misses answered by another thread's, task's or process's computation (or its exception).
    waits: int
    #: Computations that raised.
    errors: int
    #: Leases of another process taken over after their deadline.
    takeovers: int


class Counters:
    """The mutable counts behind :class:`MemoizeStats`.

    ``hits`` is incremented without a lock, to keep the hit path cheap (under many threads an
    increment can occasionally be lost); the rest are counted under a lock, on the miss path.
    """

    __slots__ = ("_lock", "computations", "errors", "hits", "misses", "takeovers", "waits")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.hits = self.misses = self.computations = self.waits = self.errors = self.takeovers = 0

    def count(
        self, *, misses: int = 0, computations: int = 0, waits: int = 0, errors: int = 0, takeovers: int = 0
    ) -> None:
        with self._lock:
            self.misses += misses
            self.computations += computations
            self.waits += waits
            self.errors += errors
            self.takeovers += takeovers

    def snapshot(self) -> MemoizeStats:
        with self._lock:
            return MemoizeStats(
                self.hits, self.misses, self.computations, self.waits, self.errors, self.takeovers
            )


class Flights(Generic[K]):
    """The keys being computed in this process, each with the future its waiters wait on."""

    __slots__ = ("_lock", "_running")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[K, Future[Any]] = {}

    def join(self, key: K) -> tuple[Future[Any], bool]:
        """The flight of ``key`` and whether the caller leads it (computes) or waits for it."""
        with self._lock:
            flight = self._running.get(key)
            if flight is not None:
                return flight, False
            flight = self._running[key] = Future()
            return flight, True

    def land(
        self, key: K, flight: Future[Any], value: Any = None, error: BaseException | None = None
    ) -> None:
        """End the flight of ``key``: later callers read the store; waiters get the outcome.

        An interruption that is not an :class:`Exception` (KeyboardInterrupt, a cancelled task)
        is not the function's outcome: the waiters get :class:`Abandoned` and try again.
        """
        with self._lock:
            if self._running.get(key) is flight:
                del self._running[key]
        if error is None:
            flight.set_result(value)
        elif isinstance(error, Exception):
            flight.set_exception(error)
        else:
            flight.set_exception(Abandoned())
