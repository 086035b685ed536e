"""The bounded MemoryStore: least-recently-used eviction by count or bytes, and time-to-live.

``MemoryStore(maxsize=..., maxbytes=..., ttl=...)`` returns this class; its books (order, sizes,
deadlines) are kept by :class:`~nstore.stores._memory_books.LRUBooks`. A read takes no lock:
the lookup and the move to the recent end are each one atomic ``OrderedDict`` operation (a key
deleted between the two is simply not moved). Writes take the store's lock when they keep books
(bytes, deadlines); with ``maxsize`` alone and no key expiring, a plain write is, like the
unbounded store's, an insert and an eviction by ``popitem``, each atomic, while bulk and
conditional writes take the lock.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from nstore._expiry import check_ttl
from nstore.errors import MissingKey
from nstore.store import KeyPage, Store, item_pairs
from nstore.stores._memory_books import LRUBooks

__all__ = ["BoundedMemoryStore"]

K = TypeVar("K")
V = TypeVar("V")

_FOREVER = sys.float_info.max  # finite: an int beyond any float is not a ttl (check_ttl says so)


class BoundedMemoryStore(LRUBooks[K, V], Generic[K, V]):
    """A MemoryStore with a bound; built by ``MemoryStore(maxsize=..., maxbytes=..., ttl=...)``."""

    __slots__ = ()

    # -- the store -----------------------------------------------------------------------------

    def __getitem__(self, key: K, /) -> V:
        try:
            value = self._data[key]
        except KeyError:
            raise MissingKey(key) from None
        if self._timed:
            entry = self._timed.get(key)
            if entry is not None and entry[1] is value and entry[0] <= self._expiry.clock():
                with self._lock:
                    self._live(key)  # drops it, unless rewritten meanwhile
                raise MissingKey(key)
        try:  # noqa: SIM105  # contextlib.suppress costs more than this whole read
            self._touch(key)
        except KeyError:  # deleted since the lookup: the value read was current when read
            pass
        return value

    def _write(self, key: K, value: V, /, ttl: float | None = None) -> None:
        """``store[key] = value`` and ``set(key, value, ttl=)``: write ``key`` expiring in ``ttl``
        seconds (None: the store-wide ttl, if any). One method for both saves a call on the
        hot path of a cache."""
        if not self._books and ttl is None and not self._timed:
            data = self._data
            data[key] = value  # an expiring write racing this one set its deadline on its value
            self._touch(key)
            while len(data) > self._maxsize:
                try:
                    data.popitem(last=False)
                except KeyError:  # emptied by another thread
                    break
            return
        sizes = self._sizes
        size = 0
        if sizes is not None:
            try:
                size = len(value)  # type: ignore[arg-type]  # checked: _measure explains the TypeError
            except TypeError:
                self._measure(value)
            if size > self._maxbytes:  # type: ignore[operator]  # maxbytes is set with sizes
                self._measure(value)
        seconds = self._ttl if ttl is None else ttl
        with self._lock:  # _put and _evict, inlined: this is the hot path of a cache
            data = self._data
            data[key] = value
            self._touch(key)
            due = False
            if seconds is not None:
                due = self._expiry.set(key, value, seconds)
            elif self._timed:
                self._expiry.discard(key)
            if sizes is not None:
                nbytes = self._nbytes + size - sizes.get(key, 0)
                sizes[key] = size
                maxbytes: int = self._maxbytes  # type: ignore[assignment]  # set with sizes
                if nbytes > maxbytes and self._timed:
                    self._nbytes = nbytes
                    self._purge()  # expired entries go before any live one is evicted
                    nbytes, due = self._nbytes, False
                while nbytes > maxbytes:
                    oldest = data.popitem(last=False)[0]
                    nbytes -= sizes.pop(oldest)
                    if self._timed:
                        self._expiry.discard(oldest)
                self._nbytes = nbytes
            if len(data) > self._maxsize:
                self._evict()
            elif due:
                self._purge()

    __setitem__ = _write

    def __delitem__(self, key: K, /) -> None:
        with self._lock:
            if not self._live(key) or not self._drop(key):
                raise MissingKey(key)

    def __contains__(self, key: object, /) -> bool:
        with self._lock:
            try:
                return self._live(key)  # type: ignore[arg-type]  # any object may be asked for
            except TypeError:  # unhashable: never a key
                return False

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._data)

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited
        with self._lock:
            self._purge()
            keys = list(self._data)  # a snapshot, in least-recently-used order
        if prefix is None:
            return iter(keys)
        return (k for k in keys if k.startswith(prefix))  # type: ignore[attr-defined]  # str/bytes keys

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited: least-recently-used order reorders the dict, so no key index here
        if prefix is None:
            return len(self)
        return len(list(self.iter_keys(prefix)))

    def keys_page(
        self, prefix: K | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[K]:
        # docstring inherited: recency reorders the dict, so no key index here (one pass a page)
        return Store.keys_page(self, prefix, cursor=cursor, limit=limit)

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        found: dict[K, V] = {}
        with self._lock:
            data = self._data
            for key in keys:
                if self._live(key):
                    found[key] = data[key]
                    data.move_to_end(key)
        return found

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        seconds = None if ttl is None else check_ttl(ttl)
        pairs = list(item_pairs(items))
        sizes = [0] * len(pairs) if self._sizes is None else [self._measure(v) for _, v in pairs]
        with self._lock:
            when = self._deadline(seconds)
            for (key, value), size in zip(pairs, sizes, strict=True):
                self._put(key, value, size, when)
            self._evict()

    def delete_many(self, keys: Iterable[K], /) -> None:
        with self._lock:
            for key in keys:
                self._drop(key)

    # -- expiry ----------------------------------------------------------------------------------

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        # docstring inherited
        if ttl is None:
            self[key] = value
        else:  # the common ttl checked inline: this is the hot path of a cache
            ok = (ttl.__class__ is float or ttl.__class__ is int) and 0 < ttl < _FOREVER
            self._write(key, value, ttl if ok else check_ttl(ttl))

    def ttl(self, key: K, /) -> float | None:
        # docstring inherited
        with self._lock:
            if not self._live(key):
                raise MissingKey(key)
            entry = self._timed.get(key)
            if entry is None or entry[1] is not self._data[key]:
                return None
            return self._expiry.left(entry)

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        # docstring inherited
        seconds = None if ttl is None else check_ttl(ttl)
        with self._lock:
            if not self._live(key):
                raise MissingKey(key)
            if seconds is None:
                self._expiry.discard(key)
            else:
                self._expiry.put(key, self._data[key], self._expiry.deadline(seconds))

    def purge_expired(self) -> int:
        # docstring inherited
        with self._lock:
            return self._purge()

    # -- conditional writes ----------------------------------------------------------------------

    def set_if_absent(self, key: K, value: V, /) -> bool:
        size = 0 if self._sizes is None else self._measure(value)
        with self._lock:
            if self._live(key):
                return False
            self._put(key, value, size, self._deadline(None))
            self._evict()
            return True

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        size = 0 if self._sizes is None else self._measure(value)
        with self._lock:
            if not self._live(key) or self._data[key] != expected:
                return False
            self._put(key, value, size, self._deadline(None))
            self._evict()
            return True
