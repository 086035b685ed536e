"""The bounded MemoryStore: least-recently-used eviction by count or bytes, and time-to-live.

``MemoryStore(maxsize=..., maxbytes=..., ttl=...)`` returns this class. Entries sit in an
``OrderedDict`` in least-recently-used order. A read takes no lock: the lookup and the move to the
recent end are each one atomic ``OrderedDict`` operation (a key deleted between the two is simply
not moved). Writes take the store's lock when they keep books (bytes, expiry times); with
``maxsize`` alone a plain write is, like the unbounded store's, an insert and an eviction by
``popitem``, each atomic, while bulk and conditional writes take the lock.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from time import monotonic
from typing import Generic, TypeVar

from nstore._expiry import unsupported_ttl
from nstore.errors import ConfigurationError, MissingKey, ValueTooLarge
from nstore.store import KeyPage, Store, item_pairs
from nstore.stores.memory import MemoryStore

__all__ = ["BoundedMemoryStore"]

K = TypeVar("K")
V = TypeVar("V")


def _check_positive(name: str, value: float | None, *, integer: bool) -> None:
    if value is None:
        return
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        expected = "a positive integer" if integer else "a positive number of seconds"
        raise ConfigurationError(f"Expected {expected} or None for {name}. Got {value!r} instead.")


class BoundedMemoryStore(MemoryStore[K, V], Generic[K, V]):
    """A MemoryStore with a bound; built by ``MemoryStore(maxsize=..., maxbytes=..., ttl=...)``."""

    __slots__ = ("_books", "_expires", "_maxbytes", "_maxsize", "_nbytes", "_sizes", "_touch", "_ttl")

    def __init__(
        self,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        *,
        maxsize: int | None = None,
        maxbytes: int | None = None,
        ttl: float | None = None,
    ) -> None:
        _check_positive("maxsize", maxsize, integer=True)
        _check_positive("maxbytes", maxbytes, integer=True)
        _check_positive("ttl", ttl, integer=False)
        super().__init__()
        # Narrower than the base class's dict: this class's methods use the order, and close()
        # swaps in a stand-in that also answers move_to_end and popitem (stores/memory.py).
        self._data: OrderedDict[K, V] = OrderedDict()  # pyright: ignore[reportIncompatibleVariableOverride]
        self._maxsize = sys.maxsize if maxsize is None else maxsize
        self._maxbytes = maxbytes
        self._nbytes = 0
        self._sizes: dict[K, int] | None = None if maxbytes is None else {}
        self._ttl = ttl
        # Write order, oldest first: expiry times only grow along it, so purging pops the front.
        self._expires: OrderedDict[K, float] | None = None if ttl is None else OrderedDict()
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

    def _put(self, key: K, value: V, size: int) -> None:
        data = self._data
        data[key] = value
        data.move_to_end(key)
        sizes = self._sizes
        if sizes is not None:
            self._nbytes += size - sizes.get(key, 0)
            sizes[key] = size
        expires = self._expires
        if expires is not None:
            expires[key] = monotonic() + self._ttl  # type: ignore[operator]  # ttl is set with expires
            expires.move_to_end(key)

    def _drop(self, key: K) -> bool:
        if self._data.pop(key, _ABSENT) is _ABSENT:
            return False
        self._forget(key)
        return True

    def _forget(self, key: K) -> None:
        if self._sizes is not None:
            self._nbytes -= self._sizes.pop(key)
        if self._expires is not None:
            del self._expires[key]

    def _evict(self) -> None:
        data, maxbytes, sizes, expires = self._data, self._maxbytes, self._sizes, self._expires
        while len(data) > self._maxsize or (maxbytes is not None and self._nbytes > maxbytes):
            key = data.popitem(last=False)[0]
            if sizes is not None:
                self._nbytes -= sizes.pop(key)
            if expires is not None:
                del expires[key]
        if self._expires:
            self._purge()

    def _purge(self) -> None:
        expires = self._expires
        if expires:
            now = monotonic()
            while expires and next(iter(expires.values())) <= now:
                self._drop(next(iter(expires)))

    def _live(self, key: K) -> bool:
        """Whether ``key`` is present and unexpired; an expired entry is dropped."""
        if key not in self._data:
            return False
        expires = self._expires
        if expires is not None and expires[key] <= monotonic():
            self._drop(key)
            return False
        return True

    # -- the store -----------------------------------------------------------------------------

    def __getitem__(self, key: K, /) -> V:
        try:
            value = self._data[key]
        except KeyError:
            raise MissingKey(key) from None
        expires = self._expires
        if expires is not None and expires.get(key, _NEVER) <= monotonic():
            with self._lock:
                self._live(key)  # drops it, unless rewritten meanwhile
            raise MissingKey(key)
        try:  # noqa: SIM105  # contextlib.suppress costs more than this whole read
            self._touch(key)
        except KeyError:  # deleted since the lookup: the value read was current when read
            pass
        return value

    def __setitem__(self, key: K, value: V, /) -> None:
        if not self._books:
            data = self._data
            data[key] = value
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
        with self._lock:  # _put and _evict, inlined: this is the hot path of a cache
            data = self._data
            data[key] = value
            self._touch(key)
            expires = self._expires
            if expires is not None:
                expires[key] = monotonic() + self._ttl  # type: ignore[operator]  # set with expires
                expires.move_to_end(key)
            if sizes is not None:
                nbytes = self._nbytes + size - sizes.get(key, 0)
                sizes[key] = size
                maxbytes: int = self._maxbytes  # type: ignore[assignment]  # set with sizes
                while nbytes > maxbytes:
                    oldest = data.popitem(last=False)[0]
                    nbytes -= sizes.pop(oldest)
                    if expires is not None:
                        del expires[oldest]
                self._nbytes = nbytes
            if len(data) > self._maxsize or expires:
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

    def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        if ttl is not None:
            raise unsupported_ttl(self)
        pairs = list(item_pairs(items))
        sizes = [0] * len(pairs) if self._sizes is None else [self._measure(v) for _, v in pairs]
        with self._lock:
            for (key, value), size in zip(pairs, sizes, strict=True):
                self._put(key, value, size)
            self._evict()

    def delete_many(self, keys: Iterable[K], /) -> None:
        with self._lock:
            for key in keys:
                self._drop(key)

    def set_if_absent(self, key: K, value: V, /) -> bool:
        size = 0 if self._sizes is None else self._measure(value)
        with self._lock:
            if self._live(key):
                return False
            self._put(key, value, size)
            self._evict()
            return True

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        size = 0 if self._sizes is None else self._measure(value)
        with self._lock:
            if not self._live(key) or self._data[key] != expected:
                return False
            self._put(key, value, size)
            self._evict()
            return True

    @property
    def nbytes(self) -> int:
        """Total ``len()`` of the values held (0 unless ``maxbytes`` is set)."""
        return self._nbytes

    def __repr__(self) -> str:
        bounds = {"maxsize": self._maxsize, "maxbytes": self._maxbytes, "ttl": self._ttl}
        shown = ", ".join(f"{k}={v}" for k, v in bounds.items() if v is not None and v != sys.maxsize)
        return f"MemoryStore({shown}, {super().__repr__()[12:-1]})"


_ABSENT = object()
_NEVER = float("inf")
