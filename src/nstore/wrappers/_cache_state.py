"""The bookkeeping of a cache store, sync or async: pending entries, stripe versions, counters and
the errors of the cache writer, kept by the rules of ``_cache_rules.py``. No I/O."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nstore.errors import StoreClosed, StoreError
from nstore.wrappers._cache_rules import (
    ASK,
    ATTENTION,
    CACHED,
    HIT,
    INVALIDATE,
    MARK,
    STRIPES,
    Pending,
    clock,
    served,
)
from nstore.wrappers._stripes import CacheStats

if TYPE_CHECKING:
    from nstore.wrappers._tier_books import TierBooks

__all__ = ["CacheState", "Look", "found_only"]

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Look(Generic[K]):
    """A read from below about to begin: its keys, their stripes and versions, and the time."""

    keys: list[K]
    stripes: list[int]
    seen: list[int]
    began: float


def found_only(look: Look[K], got: dict[K, V]) -> tuple[list[K], list[tuple[K, V]], list[int], list[int]]:
    """Of the keys looked up below, those ``got``: (keys, pairs, their stripes, their versions)."""
    kept = [i for i, k in enumerate(look.keys) if k in got]
    keys = [look.keys[i] for i in kept]
    pairs = [(k, got[k]) for k in keys]
    return keys, pairs, [look.stripes[i] for i in kept], [look.seen[i] for i in kept]


class CacheState(Generic[K]):
    """The bookkeeping of one cache store: pending entries, stripe versions, counters, errors.

    ``locks`` guard the pending entries of a stripe: the sync store holds them around a write to
    the primary; the async store takes them only around changes of the pending entries (which
    do not await), so they are never contended there.
    """

    def __init__(self, count_hits: bool) -> None:
        self.pending: dict[Any, Pending] = {}
        self.versions = [0] * STRIPES
        self.locks = tuple(threading.Lock() for _ in range(STRIPES))
        self.errors: deque[BaseException] = deque()
        self.count_hits = count_hits
        self.hits = 0
        self.misses = 0
        self.closed = False
        #: Why every use is refused, when not empty (a write-behind store in a forked child).
        self.refusal = ""
        self._seq = itertools.count(1)  # next() is atomic: no lock needed for sequence numbers

    def check(self, name: str) -> None:
        """Refuse use after close; raise the oldest error of the cache writer not yet reported."""
        if self.closed:
            raise StoreClosed(f"This {name} is closed; open a new one.")
        if self.refusal:
            raise StoreError(self.refusal)
        if self.errors:
            exc = self.errors.popleft()
            if not self.errors:
                self.pending.pop(ATTENTION, None)
            raise exc

    def failed(self, exc: BaseException) -> None:
        """Keep an error of the cache writer for the next caller."""
        self.errors.append(exc)
        self.pending[ATTENTION] = MARK

    def refuse(self, message: str) -> None:
        """Refuse every later use with ``message``; the errors not yet reported are dropped."""
        self.refusal = message
        self.errors.clear()
        self.pending[ATTENTION] = MARK

    def close(self) -> None:
        self.closed = True
        self.pending[ATTENTION] = MARK

    def stats(self, books: TierBooks[K]) -> CacheStats:
        waiting = len(self.pending) - (ATTENTION in self.pending)
        hits = self.hits if self.count_hits else None
        return CacheStats(hits, self.misses, books.write_failures, books.read_failures, waiting)

    # -- writes ------------------------------------------------------------------------------------

    def stripes(self, keys: Iterable[object]) -> list[int]:
        return [hash(k) % STRIPES for k in keys]

    def look(self, keys: list[K]) -> Look[K]:
        """A read of ``keys`` from below begins now: their stripes' versions, to check fills by."""
        stripes = self.stripes(keys)
        versions = self.versions
        return Look(keys, stripes, [versions[s] for s in stripes], clock())

    def wrote(self, stripes: Iterable[int]) -> None:
        """A write reached (or may have reached) the primary: reads begun before it fill nothing."""
        for s in set(stripes):
            self.versions[s] += 1

    def entries(
        self, keys: Sequence[K], op: int, values: Sequence[Any], deadlines: Sequence[float | None]
    ) -> list[tuple[K, Pending]]:
        """The settled write as cache entries (``op`` from :func:`settled`)."""
        if op == INVALIDATE:
            return [(k, Pending(0, INVALIDATE, None)) for k in keys]
        return [(k, Pending(0, op, v, d)) for k, v, d in zip(keys, values, deadlines, strict=True)]

    def stage(self, entries: list[tuple[K, Pending]]) -> list[tuple[K, int]]:
        """Record entries as pending (under their stripe locks) and return them as a queued batch."""
        pending, batch = self.pending, []
        for key, entry in entries:
            entry.seq = next(self._seq)
            pending[key] = entry
            batch.append((key, entry.seq))
        return batch

    def current(self, batch: Iterable[tuple[K, int]]) -> list[tuple[K, Pending]]:
        """The entries of a queued batch that no later write replaced."""
        pending, found = self.pending, []
        for key, seq in batch:
            entry = pending.get(key)
            if entry is not None and entry.seq == seq:
                found.append((key, entry))
        return found

    def forget(self, applied: Iterable[tuple[K, Pending]]) -> None:
        """Drop pending entries that every cache now has, unless a newer write replaced them."""
        pending, locks = self.pending, self.locks
        for key, entry in applied:
            with locks[hash(key) % STRIPES]:
                if pending.get(key) is entry:
                    del pending[key]

    def fresh(
        self, entries: Sequence[tuple[K, Pending]], stripes: Sequence[int], seen: Sequence[int]
    ) -> list[tuple[K, Pending]]:
        """The fills whose stripe no write touched since they were read, and no write is pending."""
        versions, pending = self.versions, self.pending
        return [
            e
            for e, s, before in zip(entries, stripes, seen, strict=True)
            if versions[s] == before and e[0] not in pending
        ]

    # -- reads -----------------------------------------------------------------------------------

    def lookup(self, key: object, name: str, *, count: bool = True) -> tuple[int, Any]:
        """A read's answer from the pending entries (checked first): (answer, value if HIT)."""
        self.check(name)
        entry = self.pending.get(key)
        if entry is None:
            return CACHED, None
        answer = served(entry, clock())
        if count and answer != ASK:
            self.hits += 1
        return answer, entry.value

    def missed(self, keys: list[K]) -> Look[K]:
        """Count ``keys`` as misses, about to be read from the primary."""
        self.misses += len(keys)
        return self.look(keys)

    def sort_many(self, keys: Iterable[K], name: str) -> tuple[dict[K, Any], list[K], list[K]]:
        """Split a ``get_many`` by pending entries: (answered, for the caches, for the primary)."""
        wanted = list(dict.fromkeys(keys))
        if not self.pending:
            return {}, wanted, []
        self.check(name)
        now = clock()
        found: dict[K, Any] = {}
        rest: list[K] = []
        unknown: list[K] = []
        pending = self.pending
        for key in wanted:
            entry = pending.get(key)
            if entry is None:
                rest.append(key)
                continue
            answer = served(entry, now)
            if answer == HIT:
                found[key] = entry.value
            elif answer == ASK:
                unknown.append(key)
        self.hits += len(wanted) - len(rest) - len(unknown)
        return found, rest, unknown
