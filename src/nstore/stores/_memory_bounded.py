"""The bounded MemoryStore: least-recently-used eviction by count or bytes, and time-to-live.

``MemoryStore(maxsize=..., maxbytes=..., ttl=...)`` returns this class. Entries sit in an
``OrderedDict`` in least-recently-used order; deadlines (a store-wide ``ttl``, or one per key) in
an :class:`~nstore.stores._memory_expiry.Expiry`, purged in deadline order. A read takes no lock:
the lookup and the move to the recent end are each one atomic ``OrderedDict`` operation (a key
deleted between the two is simply not moved). Writes take the store's lock when they keep books
(bytes, deadlines); with ``maxsize`` alone and no key expiring, a plain write is, like the
unbounded store's, an insert and an eviction by ``popitem``, each atomic, while bulk and
conditional writes take the lock.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from nstore._expiry import check_ttl
from nstore.errors import ConfigurationError, MissingKey, ValueTooLarge
from nstore.store import KeyPage, Store, item_pairs
from nstore.stores._memory_expiry import Clock
from nstore.stores.memory import MemoryStore

__all__ = ["BoundedMemoryStore"]

K = TypeVar("K")
V = TypeVar("V")

_ABSENT: Any = object()


def _check_positive(name: str, value: float | None, *, integer: bool) -> None:
    if value is None:
        return
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        expected = "a positive integer" if integer else "a positive number of seconds"
        raise ConfigurationError(f"Expected {expected} or None for {name}. Got {value!r} instead.")


class BoundedMemoryStore(MemoryStore[K, V], Generic[K, V]):
    """A MemoryStore with a bound; built by ``MemoryStore(maxsize=..., maxbytes=..., ttl=...)``.

    The deadlines of :class:`~nstore.stores._memory_expiry.Expiry` hold, beside each deadline,
    the value it was set with: it applies while that object is the key's value.
    """

    __slots__ = ("_books", "_maxbytes", "_maxsize", "_nbytes", "_sizes", "_touch", "_ttl")

    def __init__(
        self,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        *,
        maxsize: int | None = None,
        maxbytes: int | None = None,
        ttl: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        _check_positive("maxsize", maxsize, integer=True)
        _check_positive("maxbytes", maxbytes, integer=True)
        _check_positive("ttl", ttl, integer=False)
        super().__init__(clock=clock)
        # Narrower than the base class's dict: this class's methods use the order, and close()
        # swaps in a stand-in that also answers move_to_end and popitem (stores/memory.py).
        self._data: OrderedDict[K, V] = OrderedDict()  # pyright: ignore[reportIncompatibleVariableOverride]
        self._maxsize = sys.maxsize if maxsize is None else maxsize
        self._maxbytes = maxbytes
        self._nbytes = 0
        self._sizes: dict[K, int] | None = None if maxbytes is None else {}
        self._ttl = None if ttl is None else check_ttl(ttl)
        self._books = maxbytes is not None or ttl is not None
        self._touch = self._data.move_to_end
        self.set_many(data)

    # -- bookkeeping (callers hold the lock) ----------------------------------------------------

    def _measure(self, value: V) -> int:
        try:
            size = len(value)  # type: ignore[arg-type]  # checked here: maxbytes needs sized values
        except TypeError:
            raise ConfigurationError(
                f"A MemoryStore with maxbytes needs values that support len(). Got "
                f"{type(value).__name__}; store bytes or use maxsize instead."
            ) from None
        if self._maxbytes is not None and size > self._maxbytes:
            raise ValueTooLarge(f"A value of {size} bytes is over this store's maxbytes={self._maxbytes}.")
        return size

    def _deadline(self, ttl: float | None) -> float | None:
        """The deadline of a write given ``ttl`` (None: the store-wide ttl, if any)."""
        seconds = self._ttl if ttl is None else ttl
        return None if seconds is None else self._expiry.deadline(seconds)

    def _put(self, key: K, value: V, size: int, when: float | None) -> None:
        data = self._data
        data[key] = value
        data.move_to_end(key)
        sizes = self._sizes
        if sizes is not None:
            self._nbytes += size - sizes.get(key, 0)
            sizes[key] = size
        if when is not None:
            self._expiry.put(key, value, when)
        elif self._timed:
            self._expiry.discard(key)

    def _drop(self, key: K) -> bool:
        # docstring inherited
        if self._data.pop(key, _ABSENT) is _ABSENT:
            return False
        self._forget(key)
        return True

    def _forget(self, key: K) -> None:
        if self._sizes is not None:
            self._nbytes -= self._sizes.pop(key)
        if self._timed:
            self._expiry.discard(key)

    def _evict(self) -> None:
        data, maxbytes = self._data, self._maxbytes
        while len(data) > self._maxsize or (maxbytes is not None and self._nbytes > maxbytes):
            self._forget(data.popitem(last=False)[0])
        if self._timed:
            self._purge()

    def _purge(self) -> int:
        data, purged = self._data, 0
        for key, value in self._expiry.due():
            if data.get(key, _ABSENT) is value:  # else a later write replaced it: it stays
                del data[key]
                if self._sizes is not None:
                    self._nbytes -= self._sizes.pop(key)
                purged += 1
        return purged

    def _live(self, key: K) -> bool:
        """Whether ``key`` is present and unexpired; an expired entry is dropped."""
        value = self._data.get(key, _ABSENT)
        if value is _ABSENT:
            return False
        entry = self._timed.get(key) if self._timed else None
        if entry is not None and entry[1] is value and entry[0] <= self._expiry.clock():
            self._drop(key)
            return False
        return True

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

    def __setitem__(self, key: K, value: V, /) -> None:
        if not self._books and not self._timed:
            data = self._data
            data[key] = value  # an expiring write racing this one set its deadline on its value
            self._touch(key)
            while len(data) > self._maxsize:
                try:
                    data.popitem(last=False)
                except KeyError:  # emptied by another thread
                    break
            return
        self._write(key, value, None)

    def _write(self, key: K, value: V, ttl: float | None) -> None:
        sizes = self._sizes
        size = 0
        if sizes is not None:
            try:
                size = len(value)  # type: ignore[arg-type]  # checked: _measure explains the TypeError
            except TypeError:
                self._measure(value)
            if size > self._maxbytes:  # type: ignore[operator]  # maxbytes is set with sizes
                self._measure(value)
        with self._lock:  # _put and _evict, inlined for bytes: this is the hot path of a cache
            self._put(key, value, 0, self._deadline(ttl))
            if sizes is not None:
                data = self._data
                nbytes = self._nbytes + size - sizes.get(key, 0)
                sizes[key] = size
                maxbytes: int = self._maxbytes  # type: ignore[assignment]  # set with sizes
                while nbytes > maxbytes:
                    oldest = data.popitem(last=False)[0]
                    nbytes -= sizes.pop(oldest)
                    if self._timed:
                        self._expiry.discard(oldest)
                self._nbytes = nbytes
            if len(self._data) > self._maxsize or self._timed:
                self._evict()

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
        else:
            self._write(key, value, check_ttl(ttl))

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

    @property
    def nbytes(self) -> int:
        """Total ``len()`` of the values held (0 unless ``maxbytes`` is set)."""
        return self._nbytes

    def _held(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        ttl = None if self._ttl is None else f"{self._ttl:g}"
        bounds = {"maxsize": self._maxsize, "maxbytes": self._maxbytes, "ttl": ttl}
        shown = ", ".join(f"{k}={v}" for k, v in bounds.items() if v is not None and v != sys.maxsize)
        return f"MemoryStore({shown}, {super().__repr__()[12:-1]})"
