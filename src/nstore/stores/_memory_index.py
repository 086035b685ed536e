"""The sorted key index of the unbounded MemoryStore: listing by prefix in time proportional to the result.

A set adds no work to keep the index: a dict keeps insertion order, so the keys added since the
index was last brought up to date are the last ones of the dict. A delete (under the store's
lock) only counts itself. Listing by prefix, under the store's lock:

1. brings the index up to date: takes the new keys from the end of the dict (``reversed``), drops
   those already indexed (a key deleted and set again), sorts them and merges them in;
2. finds the prefix's range by bisection and returns the keys in it that are still in the dict
   (a deleted key stays in the index until more than half of it is stale; then it is rebuilt).

Deletes are excluded by the lock while the index is brought up to date, so the keys of the dict
only grow at its end meanwhile; when a set lands between counting and taking the new keys, they
are taken from one snapshot of the whole dict instead (one C-level copy, atomic). Keys that
cannot be sorted together (an int beside a str) make the store list by scanning instead, as it
did before the index.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from heapq import merge
from itertools import islice
from typing import Any, TypeVar

__all__ = ["KeyIndex", "merge_pages"]

T = TypeVar("T")

#: New keys up to this many are inserted one by one; more are merged by one sort of two runs.
_INSERT_MAX = 16


class KeyIndex:
    """Sorted keys of one dict; every method is called with the store's lock held."""

    __slots__ = ("_covered", "_keys", "_unsortable", "deleted")

    def __init__(self) -> None:
        self._keys: list[Any] | None = None
        self._covered = 0  # len(data) when the index was last brought up to date
        self._unsortable = False
        #: Deletes since the index was last brought up to date (an upper bound is fine).
        self.deleted = 0

    def reset(self) -> None:
        self._keys, self._covered, self.deleted = None, 0, 0

    def matching(self, data: dict[Any, Any], prefix: Any) -> list[Any] | None:
        """The keys of ``data`` that start with ``prefix``, sorted; None if the keys do not sort."""
        return self.page(data, prefix, prefix, None)

    def page(self, data: dict[Any, Any], prefix: Any, low: Any, limit: int | None) -> list[Any] | None:
        """Up to ``limit`` (None: all) keys of ``data`` from ``low`` on that start with ``prefix``,
        sorted; None if the keys do not sort."""
        if not isinstance(prefix, str | bytes):
            return None
        keys = self._current(data)
        if keys is None:
            return None
        try:
            start = bisect_left(keys, low)
        except TypeError:  # a prefix of another type than the keys
            return None
        upper = _successor(prefix)
        end = len(keys) if upper is None else bisect_left(keys, upper)
        if len(keys) == self._covered:  # up to date and nothing stale: the slice is the answer
            return keys[start : end if limit is None else min(end, start + limit)]
        found = []
        for i in range(start, end):  # stale entries (deleted keys) are skipped
            if keys[i] in data:
                found.append(keys[i])
                if len(found) == limit:
                    break
        return found

    def _current(self, data: dict[Any, Any]) -> list[Any] | None:
        if self._unsortable:
            return None
        keys = self._keys
        # At most this many indexed keys are gone from the dict.
        stale = self.deleted + (0 if keys is None else len(keys) - self._covered)
        if keys is None or stale > len(keys) // 2:
            return self._rebuild(data)
        base = self._covered - self.deleted  # the new keys are at this position or after it
        size = len(data)
        if size == self._covered and not self.deleted:
            return keys  # nothing set or deleted since
        new = list(islice(reversed(data), size - base))
        if len(data) != size:  # a set landed between counting and taking: take a whole snapshot
            snapshot = list(data)
            size, new = len(snapshot), snapshot[base:]
        fresh = [k for k in new if not _holds(keys, k)]
        try:
            fresh.sort()
            if len(fresh) <= _INSERT_MAX:
                for key in fresh:
                    insort(keys, key)
            else:
                keys.extend(fresh)
                keys.sort()  # two sorted runs: one linear merge
        except TypeError:
            self._unsortable = True
            return None
        # Every key of the dict is indexed once now; len(keys) - size entries are stale.
        self._covered, self.deleted = size, 0
        return keys

    def _rebuild(self, data: dict[Any, Any]) -> list[Any] | None:
        keys = list(data)
        try:
            keys.sort()
        except TypeError:
            self._unsortable = True
            return None
        self._keys, self._covered, self.deleted = keys, len(keys), 0
        return keys


def merge_pages(first: list[T], second: list[T], limit: int | None) -> list[T]:
    """The first ``limit`` (None: all) keys of two sorted pages, in order, each key once."""
    if not second:
        return first
    found: list[T] = []
    for key in merge(first, second):  # type: ignore[type-var]  # the keys sort: both pages are sorted
        if not found or found[-1] != key:
            found.append(key)
            if len(found) == limit:
                break
    return found


def _successor(prefix: str | bytes) -> str | bytes | None:
    """The smallest str or bytes after every one that starts with ``prefix``; None if none is."""
    if isinstance(prefix, str):
        for i in range(len(prefix) - 1, -1, -1):
            if ord(prefix[i]) < 0x10FFFF:
                return prefix[:i] + chr(ord(prefix[i]) + 1)
        return None
    for i in range(len(prefix) - 1, -1, -1):
        if prefix[i] < 0xFF:
            return prefix[:i] + bytes([prefix[i] + 1])
    return None


def _holds(keys: list[Any], key: Any) -> bool:
    i = bisect_left(keys, key)
    return i < len(keys) and keys[i] == key
