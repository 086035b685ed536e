"""The decisions of a cache store, written once for :class:`CacheStore` and :class:`AsyncCacheStore`.

Nothing here does I/O: the two stores call these rules around their own (blocking or awaited)
calls to the primary and the caches.

- *Pending entries*: a write that the primary has and the caches may not have yet; reads consult
  them before any cache (:func:`served`).
- *Settling a write*: a write that raised, was cancelled, or a conditional write that did not
  happen invalidates its keys (:func:`settled`).
- *Fills*: a value read from below is put into the caches only if no write touched its stripe
  since the read began, and no write of it is pending (:meth:`CacheState.fresh`).
- *Deadlines*: a cache entry of a key that expires in the primary is given a deadline no later
  than the primary's, :data:`MARGIN` early (:func:`deadline_of`, :func:`learned`, :func:`steps`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nstore._expiry import check_ttl
from nstore.errors import ConfigurationError, StoreClosed
from nstore.wrappers._stripes import CacheStats

if TYPE_CHECKING:
    from nstore.wrappers._tier_books import TierBooks

__all__ = [
    "ASK",
    "ATTENTION",
    "CACHED",
    "DELETE",
    "GONE",
    "HIT",
    "INVALIDATE",
    "MARGIN",
    "PAST",
    "SET",
    "STRIPES",
    "TOUCH",
    "CacheState",
    "Look",
    "Pending",
    "Step",
    "check_parts",
    "clock",
    "deadline_of",
    "fills",
    "found_only",
    "learned",
    "served",
    "settled",
    "steps",
]

K = TypeVar("K")
V = TypeVar("V")

#: Keys are spread over this many locks (and version counters) by their hash.
STRIPES = 64

# What a pending entry (or a write being settled) does to the caches.
SET = 0
DELETE = 1
#: The primary may hold anything for the key (a failed or cancelled write, a conditional write that
#: did not happen): reads ask the primary, and the caches forget the key.
INVALIDATE = 2
#: The key's expiry changed in the primary; its value did not. Reads ask the primary until every
#: cache has the new deadline (or has forgotten the key).
TOUCH = 3

#: A cache entry expires this many seconds before the primary's value (clock and rounding slack).
MARGIN = 0.001

#: A deadline already past: what a fill learns of a key that expired meanwhile (caches delete it).
PAST = float("-inf")

clock = time.monotonic


def check_parts(kind: type, primary: object, caches: Sequence[object], queue_size: object) -> None:
    """Refuse a primary or cache that is not a ``kind`` store, and a queue size that is not positive."""
    for role, given in [("primary", primary), *(("cache", c) for c in caches)]:
        if not isinstance(given, kind):
            raise ConfigurationError(
                f"Expected a {kind.__name__} for the {role}. Got {type(given).__name__}."
            )
    if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
        raise ConfigurationError(f"Expected a positive integer for queue_size. Got {queue_size!r}.")


@dataclass(slots=True)
class Pending:
    """A write the primary has and the caches may not: ``deadline`` is a :func:`clock` time, or None."""

    seq: int
    op: int
    value: Any
    deadline: float | None = None


#: A pending-dict key that no user key equals: while present, reads take the slow path, which
#: reports worker errors and refuses use after close.
ATTENTION: Any = object()
_MARK = Pending(0, -1, None)

# The answers of :func:`served` and :meth:`CacheState.lookup`.
HIT = 0
GONE = 1
ASK = 2
#: No pending entry: the caches know.
CACHED = 3


def served(entry: Pending, now: float) -> int:
    """What a read of a key with a pending ``entry`` answers: its value, absent, or the primary's."""
    if entry.op == SET:
        return HIT if entry.deadline is None or entry.deadline > now else GONE
    return GONE if entry.op == DELETE else ASK


def settled(op: int, failure: BaseException | None, result: object) -> int:
    """The cache operation of a write once the primary answered (``failure``: what it raised)."""
    return INVALIDATE if failure is not None or result is False else op


def deadline_of(ttl: float | None, start: float) -> float | None:
    """The cache deadline of a value written with ``ttl`` by a call that began at ``start``."""
    return None if ttl is None else start + check_ttl(ttl) - MARGIN


def learned(left: float | None, start: float) -> float | None:
    """The cache deadline of a value whose primary ``ttl()`` (asked after ``start``) was ``left``."""
    return None if left is None else start + left - MARGIN


@dataclass(frozen=True, slots=True)
class Step:
    """One call to one cache: ``set_many(pairs, ttl=ttl)``, ``delete_many(keys)`` or ``touch``."""

    name: str  # "set" (set_many), "delete" (delete_many) or "touch"
    keys: list[Any]
    pairs: list[tuple[Any, Any]] = field(default_factory=list)
    ttl: float | None = None


def steps(entries: Sequence[tuple[K, Pending]], timed: bool, now: float) -> list[Step]:
    """The calls that give one cache the entries' state; ``timed``: the cache has per-key expiry.

    A value that expires goes to a timed cache with the time it has left, and to any other cache
    not at all (it is deleted there); one past its deadline is deleted everywhere.
    """
    sets: dict[float | None, list[tuple[Any, Any]]] = {}
    doomed: list[Any] = []
    touches: list[Step] = []
    for key, entry in entries:
        left = None if entry.deadline is None else entry.deadline - now
        keeps = left is None or (timed and left > 0)
        if entry.op == SET and keeps:
            sets.setdefault(left, []).append((key, entry.value))
        elif entry.op == TOUCH and keeps and timed:
            touches.append(Step("touch", [key], ttl=left))
        elif entry.op != TOUCH or not keeps:  # a touch to "never" leaves an untimed cache as it is
            doomed.append(key)
    calls = [Step("set", [k for k, _ in pairs], pairs, left) for left, pairs in sets.items()]
    if doomed:
        calls.append(Step("delete", doomed))
    return calls + touches


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
        self._seq = itertools.count(1)  # next() is atomic: no lock needed for sequence numbers

    def check(self, name: str) -> None:
        """Refuse use after close; raise the oldest error of the cache writer not yet reported."""
        if self.closed:
            raise StoreClosed(f"This {name} is closed; open a new one.")
        if self.errors:
            exc = self.errors.popleft()
            if not self.errors:
                self.pending.pop(ATTENTION, None)
            raise exc

    def failed(self, exc: BaseException) -> None:
        """Keep an error of the cache writer for the next caller."""
        self.errors.append(exc)
        self.pending[ATTENTION] = _MARK

    def close(self) -> None:
        self.closed = True
        self.pending[ATTENTION] = _MARK

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


def fills(pairs: Iterable[tuple[K, Any]], deadlines: Iterable[float | None]) -> list[tuple[K, Pending]]:
    """Values read from below, with their learned deadlines, as entries to fill the caches with."""
    return [(k, Pending(0, SET, v, d)) for (k, v), d in zip(pairs, deadlines, strict=True)]
