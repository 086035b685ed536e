"""MemoryStore: a thread-safe, non-persistent store of any key and value types, for caching.

``MemoryStore()`` is a plain dict behind the Store API. Given a bound (``maxsize``, ``maxbytes``
or ``ttl``) the constructor returns a private subclass that keeps least-recently-used order and
expiry times under a lock, so the unbounded store pays nothing for what it does not use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, NoReturn, Self, TypeVar, cast

from nstore._expiry import unsupported_ttl
from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.store import KeyPage, Store, check_limit, cursor_after
from nstore.stores._memory_index import KeyIndex

__all__ = ["MemoryStore"]

K = TypeVar("K")
V = TypeVar("V")


class _Closed(dict[Any, Any]):
    """Stands in for the data of a closed store: every access raises StoreClosed.

    Swapping it in on close keeps the open store's hot path free of a closed check.
    """

    def _closed(self, *args: object) -> NoReturn:
        raise StoreClosed("This MemoryStore is closed; open a new one.")

    __getitem__ = __setitem__ = __delitem__ = __contains__ = __iter__ = __len__ = _closed
    get = pop = setdefault = update = _closed  # type: ignore[assignment]  # every signature raises
    move_to_end = popitem = _closed  # the bounded store's OrderedDict methods


_CLOSED = _Closed()


class MemoryStore(Store[K, V], Generic[K, V]):
    """A dict-backed store, generic in its key and value types.

    Reads and plain writes are single dictionary operations (atomic under the interpreter lock);
    conditional writes take a lock, so they are atomic with respect to each other and to bulk
    writes.

    Parameters
    ----------
    data
        Initial contents.
    maxsize
        Keep at most this many entries, evicting the least recently used (read or written).
    maxbytes
        Keep at most this many bytes of values, evicting the least recently used; values must
        support ``len()`` (bytes, str: its length in characters), and a single value over
        ``maxbytes`` raises :class:`~nstore.errors.ValueTooLarge`, leaving the store unchanged.
    ttl
        Seconds an entry lives after it was last written; an expired entry is absent.

    A bounded store (any of the three given) serves every operation under one lock; the
    unbounded store is a plain dict. Both are safe to share between threads.

    Examples
    --------
    >>> store = MemoryStore[str, int]()
    >>> store["a"] = 1
    >>> store.set_if_absent("a", 2)
    False
    >>> store.compare_and_set("a", 1, 3)
    True
    >>> dict(store)
    {'a': 3}
    >>> lru = MemoryStore[str, bytes](maxsize=2)
    >>> lru["a"], lru["b"], lru["c"] = b"1", b"2", b"3"
    >>> sorted(lru)
    ['b', 'c']
    """

    __slots__ = ("_data", "_index", "_lock")

    def __new__(
        cls,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        *,
        maxsize: int | None = None,
        maxbytes: int | None = None,
        ttl: float | None = None,
    ) -> Self:
        target: type[Any] = cls
        if cls is MemoryStore and (maxsize is not None or maxbytes is not None or ttl is not None):
            from nstore.stores._memory_bounded import BoundedMemoryStore

            target = BoundedMemoryStore
        return cast("Self", object.__new__(target))

    def __init__(
        self,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        *,
        maxsize: int | None = None,
        maxbytes: int | None = None,
        ttl: float | None = None,
    ) -> None:
        if maxsize is not None or maxbytes is not None or ttl is not None:
            raise ConfigurationError(f"{type(self).__name__} takes no bounds; construct MemoryStore(...).")
        self._data: dict[K, V] = dict(data)
        self._lock = threading.Lock()
        self._index = KeyIndex()  # sorted keys for listing by prefix, built on first use

    def __getitem__(self, key: K, /) -> V:
        try:
            return self._data[key]
        except KeyError:
            raise MissingKey(key) from None

    def __setitem__(self, key: K, value: V, /) -> None:
        self._data[key] = value

    def __delitem__(self, key: K, /) -> None:
        with self._lock:  # the key index counts deletes (see _memory_index)
            try:
                del self._data[key]
            except KeyError:
                raise MissingKey(key) from None
            self._index.deleted += 1

    def __contains__(self, key: object, /) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def reader(self) -> Mapping[K, V]:
        # docstring inherited: the dictionary itself, read-only (empty once the store is closed)
        if type(self).__getitem__ is not MemoryStore.__getitem__:
            return self  # a subclass with its own read, such as the bounded store
        return MappingProxyType(self._data)

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited
        if prefix is None:
            return iter(list(self._data))  # a snapshot: writes during the iteration never break it
        return iter(self._matching(prefix))

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited
        if prefix is None:
            return len(self._data)
        return len(self._matching(prefix))

    def _matching(self, prefix: K) -> list[K]:
        """The keys that start with ``prefix``, sorted when they sort (a snapshot)."""
        with self._lock:
            found = self._index.matching(self._data, prefix)
        if found is not None:
            return found
        return [k for k in list(self._data) if k.startswith(prefix)]  # type: ignore[attr-defined]  # str/bytes keys

    def keys_page(
        self, prefix: K | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[K]:
        # docstring inherited; a page is a range of the sorted key index, so it costs one page
        check_limit(limit)
        text = "" if prefix is None else prefix
        if isinstance(text, str):
            low = cursor_after(cursor, text)
            with self._lock:
                page = self._index.page(self._data, text, low, limit + 1)
            if page is not None:
                return KeyPage(page[:limit], page[limit - 1] if len(page) > limit else None)
        return super().keys_page(prefix, cursor=cursor, limit=limit)  # keys that are not str

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        data = self._data
        return {k: data[k] for k in keys if k in data}

    def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        if ttl is not None:
            raise unsupported_ttl(self)
        with self._lock:
            self._data.update(items)

    def delete_many(self, keys: Iterable[K], /) -> None:
        pop = self._data.pop
        with self._lock:
            for key in keys:
                pop(key, None)
                self._index.deleted += 1

    def set_if_absent(self, key: K, value: V, /) -> bool:
        with self._lock:
            if key in self._data:
                return False
            self._data[key] = value
            return True

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        with self._lock:
            if key not in self._data or self._data[key] != expected:
                return False
            self._data[key] = value
            return True

    def close(self) -> None:
        with self._lock:
            data, self._data = self._data, _CLOSED
            data.clear()  # a reader() handed out finds nothing from now on
            self._index.reset()

    def __repr__(self) -> str:
        if self._data is _CLOSED:
            return "MemoryStore(<closed>)"
        return f"MemoryStore(<{len(self._data)} keys>)"
