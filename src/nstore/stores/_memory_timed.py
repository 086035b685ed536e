"""The expiring entries of the plain MemoryStore: reading them, writing them, their ttl.

The plain store keeps the entries that never expire in ``self._data`` and those that expire in an
:class:`~nstore.stores._memory_expiry.Expiry` (``self._timed`` is its dict, key -> (deadline,
value)). A write with a ttl, under the store's lock, puts the key there before it removes it from
``self._data``, so a reader finds it in one or the other. A plain write, which takes no lock,
only sets the key in ``self._data``: a key in both holds the value of ``self._data``, the newer
one, and every read looks there first; counts and listings drop such a shadowed entry first (see
``_memory_listing``), and it goes anyway when its deadline passes.
"""

from __future__ import annotations

import sys
from typing import Any, Generic, TypeVar

from nstore._expiry import check_ttl
from nstore.errors import MissingKey
from nstore.stores._memory_listing import IndexedListing

__all__ = ["TimedEntries"]

K = TypeVar("K")
V = TypeVar("V")

_ABSENT: Any = object()
_FOREVER = sys.float_info.max  # finite: an int beyond any float is not a ttl (check_ttl says so)


class TimedEntries(IndexedListing[K, V], Generic[K, V]):
    """Per-key expiry of the plain :class:`~nstore.MemoryStore` (which sets the attributes)."""

    __slots__ = ()

    def _timed_value(self, key: K) -> V:
        """``key``'s value among the expiring entries; raise MissingKey if absent or expired."""
        entry = self._timed.get(key)
        if entry is not None:
            if entry[0] > self._expiry.clock():
                return entry[1]
        else:  # moved to the entries that never expire since the first lookup?
            value = self._data.get(key, _ABSENT)
            if value is not _ABSENT:
                return value  # type: ignore[no-any-return]  # a V, told apart from the sentinel
        raise MissingKey(key)

    def _has_timed(self, key: object) -> bool:
        try:
            self._timed_value(key)  # type: ignore[arg-type]  # any object may be asked for
        except KeyError:
            return False
        return True

    def _put_timed(self, key: K, value: V, when: float) -> None:
        """Give ``key`` ``value`` until clock time ``when`` (the lock held)."""
        self._expiry.put(key, value, when)  # first: a reader never finds the key in neither dict
        if self._data.pop(key, _ABSENT) is not _ABSENT:  # a closed store's raises StoreClosed
            self._index.deleted += 1
            self._dropped += 1

    # -- expiry ----------------------------------------------------------------------------------

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        # docstring inherited
        if ttl is None:
            self[key] = value
            return
        # the common ttl checked inline: this is the hot path of a cache
        seconds = (
            ttl if (ttl.__class__ is float or ttl.__class__ is int) and 0 < ttl < _FOREVER else check_ttl(ttl)
        )
        with self._lock:
            if self._expiry.set(key, value, seconds):  # first: a reader never finds the key in neither dict
                self._expiry.due()
            if self._data.pop(key, _ABSENT) is not _ABSENT:  # a closed store's raises StoreClosed
                self._index.deleted += 1
                self._dropped += 1

    def ttl(self, key: K, /) -> float | None:
        # docstring inherited
        with self._lock:
            if key in self._data:
                return None
            entry = self._expiry.live(key)
            if entry is None:
                raise MissingKey(key)
            return self._expiry.left(entry)

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        # docstring inherited
        seconds = None if ttl is None else check_ttl(ttl)
        with self._lock:
            value: Any = self._data.get(key, _ABSENT)
            if value is _ABSENT:
                entry = self._expiry.live(key)
                if entry is None:
                    raise MissingKey(key)
                value = entry[1]
            if seconds is None:
                self._data[key] = value
                self._expiry.discard(key)
            else:
                self._put_timed(key, value, self._expiry.deadline(seconds))

    def purge_expired(self) -> int:
        """Drop every expired entry now; return how many were dropped.

        Expired entries are absent whether or not they were purged; this frees their memory
        without waiting for later writes and listings to do it.
        """
        with self._lock:
            return len(self._expiry.due())
