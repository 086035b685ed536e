"""The decisions of a cache store, written once for :class:`CacheStore` and :class:`AsyncCacheStore`.

Nothing here does I/O: the two stores call these rules around their own (blocking or awaited)
calls to the primary and the caches.

- *Pending entries*: a write that the primary has and the caches may not have yet; reads consult
  them before any cache (:func:`served`).
- *Settling a write*: a write that raised, was cancelled, or a conditional write that did not
  happen invalidates its keys (:func:`settled`).
- *Fills*: a value read from below is put into the caches only if no write touched its stripe
  since the read began, and no write of it is pending (``CacheState.fresh``, ``_cache_state.py``,
  which keeps this bookkeeping).
- *Deadlines*: a cache entry of a key that expires in the primary is given a deadline no later
  than the primary's, :data:`MARGIN` early (:func:`deadline_of`, :func:`learned`, :func:`steps`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nstore._expiry import check_ttl
from nstore.errors import ConfigurationError

__all__ = [
    "ASK",
    "ATTENTION",
    "CACHED",
    "DELETE",
    "GONE",
    "HIT",
    "INVALIDATE",
    "MARGIN",
    "MARK",
    "PAST",
    "SET",
    "STRIPES",
    "TOUCH",
    "Pending",
    "Step",
    "check_parts",
    "clock",
    "deadline_of",
    "fills",
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
#: A cache counts its ttl from when it receives the write, so the time a call to it takes (a thread
#: switch, a thread hop, a network trip) beyond this margin is how much later its entry can expire.
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
MARK = Pending(0, -1, None)

# The answers of :func:`served` and ``CacheState.lookup``.
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
    """One call to one cache: ``set_many(pairs, ttl=)``, ``delete_many(keys)`` or ``touch(key, ttl=)``.

    ``deadline`` is a :func:`clock` time, or None (no expiry); the call's ``ttl`` is taken from it
    at the moment of the call (:attr:`ttl`), so the time the call waited does not lengthen it.
    """

    name: str  # "set" (set_many), "delete" (delete_many) or "touch"
    keys: list[Any]
    pairs: list[tuple[Any, Any]] = field(default_factory=list)
    deadline: float | None = None

    @property
    def ttl(self) -> float | None:
        """Seconds left now (at least a microsecond: a value due meanwhile expires at once)."""
        return None if self.deadline is None else max(self.deadline - clock(), 1e-6)

    def one_by_one(self) -> list[Step]:
        """The same call, one key at a time."""
        if self.pairs:
            return [Step(self.name, [k], [(k, v)], self.deadline) for k, v in self.pairs]
        return [Step(self.name, [k], deadline=self.deadline) for k in self.keys]


def steps(entries: Sequence[tuple[K, Pending]], timed: bool, now: float) -> list[Step]:
    """The calls that give one cache the entries' state; ``timed``: the cache has per-key expiry.

    A value that expires goes to a timed cache with the time it has left, and to any other cache
    not at all (it is deleted there); one past its deadline is deleted everywhere.
    """
    sets: dict[float | None, list[tuple[Any, Any]]] = {}
    doomed: list[Any] = []
    touches: list[Step] = []
    for key, entry in entries:
        deadline = entry.deadline
        keeps = deadline is None or (timed and deadline > now)
        if entry.op == SET and keeps:
            sets.setdefault(deadline, []).append((key, entry.value))
        elif entry.op == TOUCH and keeps and timed:
            touches.append(Step("touch", [key], deadline=deadline))
        elif entry.op != TOUCH or not keeps:  # a touch to "never" leaves an untimed cache as it is
            doomed.append(key)
    calls = [Step("set", [k for k, _ in pairs], pairs, when) for when, pairs in sets.items()]
    if doomed:
        calls.append(Step("delete", doomed))
    return calls + touches


def fills(pairs: Iterable[tuple[K, Any]], deadlines: Iterable[float | None]) -> list[tuple[K, Pending]]:
    """Values read from below, with their learned deadlines, as entries to fill the caches with."""
    return [(k, Pending(0, SET, v, d)) for (k, v), d in zip(pairs, deadlines, strict=True)]
