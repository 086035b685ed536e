"""Stripe locks and the statistics record of the cache stores."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CacheStats", "Locked"]


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of a cache store, read from :attr:`CacheStore.stats`.

    ``hits`` and ``misses`` count keys read (a hit: served by a cache or a pending write).
    ``hits`` is None unless the store was made with ``count_hits=True``: counting costs about a
    third of a MemoryStore read on every hit. The counters are not locked, to keep the hit path
    cheap: under many threads an increment can be lost.
    """

    hits: int | None
    misses: int
    write_failures: int
    read_failures: int
    pending: int


class Locked:
    """Hold the locks of some stripes, taken in index order so that no two holders deadlock."""

    __slots__ = ("_held", "_locks")

    def __init__(self, locks: Sequence[threading.Lock], stripes: list[int]) -> None:
        self._locks = locks
        self._held = sorted(set(stripes))

    def __enter__(self) -> None:
        for s in self._held:
            self._locks[s].acquire()

    def __exit__(self, *exc: object) -> None:
        for s in reversed(self._held):
            self._locks[s].release()
