"""How the plain MemoryStore counts and lists: from the sorted key indexes of its two dicts.

The plain store keeps the entries that never expire in one dict and those that expire in another
(see ``memory.py``); each has a :class:`~nstore.stores._memory_index.KeyIndex`. A listing by prefix
takes a page of each index under the store's lock, after purging what has expired, and merges the
two.

A plain write sets its key in the first dict without a lock or a look at the second, so a key may
have an expiring entry too, shadowed: reads find the newer value first. Before a count or a
listing, :meth:`IndexedListing._unshadow` drops the shadowed entries. It looks only at the keys
added to the first dict since it last ran: a dict keeps insertion order, and a write that shadows
an entry always adds its key there (a write with a ttl removes the key from the first dict), so
they are the last ones, from position ``scanned - dropped`` on, where ``dropped`` counts the keys
that dict lost since (deletes happen under the lock; a write landing while the keys are taken
makes it take one snapshot of the whole dict, as :class:`KeyIndex` does). Each key added is looked
at once, and only while some key expires. A listing still lists a key once if a write shadows an
entry while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import islice
from typing import Any, Generic, TypeVar

from nstore.store import KeyPage, Store, check_limit, cursor_after
from nstore.stores._memory_expiry import Expiry
from nstore.stores._memory_index import KeyIndex, merge_pages

__all__ = ["IndexedListing"]

K = TypeVar("K")
V = TypeVar("V")


class IndexedListing(Store[K, V], Generic[K, V]):
    """The counting and listing of :class:`~nstore.MemoryStore`; it sets these attributes."""

    __slots__ = ()

    _data: dict[K, V]
    _lock: threading.Lock
    _index: KeyIndex
    _expiry: Expiry[K, V]
    _timed: dict[K, tuple[float, V]]
    _scanned: int
    _dropped: int

    def _unshadow(self) -> None:
        """Drop the expiring entries of keys set since without expiry (the lock held)."""
        data, timed = self._data, self._timed
        size = len(data)
        if timed:
            start = max(0, self._scanned - self._dropped)
            new = list(islice(reversed(data), size - start))
            if len(data) != size:  # a set landed between counting and taking: take a snapshot
                snapshot = list(data)
                size, new = len(snapshot), snapshot[start:]
            for key in new:
                if key in timed:
                    self._expiry.discard(key)
        self._scanned, self._dropped = size, 0

    def __len__(self) -> int:
        if not self._timed:
            return len(self._data)
        with self._lock:
            self._expiry.due()
            self._unshadow()
            return len(self._data) + len(self._timed)

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited
        if prefix is None:
            return iter(self._snapshot())  # a snapshot: writes during the iteration never break it
        return iter(self._matching(prefix))

    def _snapshot(self) -> list[K]:
        if not self._timed:
            return list(self._data)
        with self._lock:
            self._expiry.due()
            data = self._data
            return list(data) + [k for k in self._timed if k not in data]

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited
        if prefix is None:
            return len(self)
        return len(self._matching(prefix))

    def _matching(self, prefix: K) -> list[K]:
        """The keys that start with ``prefix``, sorted when they sort (a snapshot)."""
        found = self._sorted_page(prefix, prefix, None)
        if found is not None:
            return found
        return [k for k in self._snapshot() if k.startswith(prefix)]  # type: ignore[attr-defined]  # str/bytes keys

    def _sorted_page(self, prefix: Any, low: Any, limit: int | None) -> list[Any] | None:
        """Up to ``limit`` keys from ``low`` on that start with ``prefix``, from the key indexes;
        None if the keys do not sort."""
        with self._lock:
            plain = self._index.page(self._data, prefix, low, limit)
            if not self._timed or plain is None:
                return plain
            expiry = self._expiry
            expiry.due()
            self._unshadow()
            timed = expiry.index.page(self._timed, prefix, low, limit)
        return None if timed is None else merge_pages(plain, timed, limit)

    def keys_page(
        self, prefix: K | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[K]:
        # docstring inherited; a page is a range of the sorted key indexes, so it costs one page
        check_limit(limit)
        text = "" if prefix is None else prefix
        if isinstance(text, str):
            page = self._sorted_page(text, cursor_after(cursor, text), limit + 1)
            if page is not None:
                return KeyPage(page[:limit], page[limit - 1] if len(page) > limit else None)
        return super().keys_page(prefix, cursor=cursor, limit=limit)  # keys that are not str
