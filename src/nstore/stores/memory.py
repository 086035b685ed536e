"""MemoryStore: a thread-safe, non-persistent store of any key and value types, for caching.

``MemoryStore()`` is a plain dict behind the Store API, with per-key expiry (``set(key, value,
ttl=)``): the entries that expire sit in a second dict (``_memory_timed`` reads and writes them,
``_memory_expiry`` keeps their deadlines, ``_memory_listing`` lists both dicts), so reading a key
that never expires stays one dictionary lookup. Given a bound (``maxsize``, ``maxbytes`` or a
store-wide ``ttl``) the constructor returns a subclass that keeps least-recently-used order and
expiry times under a lock, so the unbounded store pays nothing for what it does not use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Generic, NoReturn, Self, TypeVar, cast

from nstore._expiry import check_ttl
from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.store import item_pairs
from nstore.stores._memory_expiry import Clock, Expiry, check_clock
from nstore.stores._memory_index import KeyIndex
from nstore.stores._memory_timed import TimedEntries

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
_ABSENT: Any = object()


class MemoryStore(TimedEntries[K, V], Generic[K, V]):
    """A dict-backed store, generic in its key and value types, with per-key expiry.

    Reads and plain writes are single dictionary operations (atomic under the interpreter lock);
    conditional writes and writes with a ttl take a lock, so they are atomic with respect to
    each other and to bulk writes.

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
        The default ttl of every write: seconds an entry lives after it was last written, unless
        the write gives its own ``ttl=``; an expired entry is absent.
    clock
        The time, in seconds, that expiry is measured on (default :func:`time.monotonic`); tests
        pass a clock they move by hand.

    Any key can be given its own expiry with ``set(key, value, ttl=...)``, ``set_many(...,
    ttl=...)`` or ``touch(key, ttl=...)``; an expired key is absent everywhere (reads, ``in``,
    counts, listing, conditional writes) and its entry is dropped lazily, in deadline order, by
    later writes and listings, or at once by :meth:`purge_expired`.

    A bounded store (any of the three bounds given) serves every operation under one lock; the
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
    >>> store.set("session", 7, ttl=30)
    >>> 29 < store.ttl("session") <= 30
    True
    >>> lru = MemoryStore[str, bytes](maxsize=2)
    >>> lru["a"], lru["b"], lru["c"] = b"1", b"2", b"3"
    >>> sorted(lru)
    ['b', 'c']
    """

    __slots__ = ("_data", "_dropped", "_expiry", "_index", "_lock", "_scanned", "_timed")

    def __new__(
        cls,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        *,
        maxsize: int | None = None,
        maxbytes: int | None = None,
        ttl: float | None = None,
        clock: Clock = time.monotonic,
    ) -> Self:
        # The variant is chosen once, here, from the bounds; an instance never changes class.
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
        clock: Clock = time.monotonic,
    ) -> None:
        if maxsize is not None or maxbytes is not None or ttl is not None:
            raise ConfigurationError(f"{type(self).__name__} takes no bounds; construct MemoryStore(...).")
        #: The entries that never expire.
        self._data: dict[K, V] = dict(data)
        self._lock = threading.Lock()
        self._index = KeyIndex()  # sorted keys for listing by prefix, built on first use
        #: The entries that expire (key -> (deadline, value)); no key is in both for longer than
        #: a write takes.
        self._expiry: Expiry[K, V] = Expiry(check_clock(clock))
        self._timed = self._expiry.entries
        # How many keys of self._data were looked at for shadowed entries, and how many keys it
        # lost since (see _memory_listing).
        self._scanned = self._dropped = 0

    def __getitem__(self, key: K, /) -> V:
        try:
            return self._data[key]
        except KeyError:
            return self._timed_value(key)

    def __setitem__(self, key: K, value: V, /) -> None:
        self._data[key] = value  # over an expiring entry of the key, which it shadows from now

    def __delitem__(self, key: K, /) -> None:
        with self._lock:
            if not self._remove(key):
                raise MissingKey(key)

    def _remove(self, key: K) -> bool:
        """Remove ``key`` (the lock held); whether it was present (an expired entry goes too,
        but was absent)."""
        found = self._data.pop(key, _ABSENT) is not _ABSENT
        if found:
            self._index.deleted += 1  # the key indexes count deletes (see _memory_index)
            self._dropped += 1
        if self._timed:
            entry = self._expiry.discard(key)
            found = found or (entry is not None and entry[0] > self._expiry.clock())
        return found

    def __contains__(self, key: object, /) -> bool:
        return key in self._data or (bool(self._timed) and self._has_timed(key))

    def reader(self) -> Mapping[K, V]:
        # docstring inherited: the dictionary of the entries that never expire, read-only (empty
        # once the store is closed); an expiring entry answers KeyError there, so ask store[key]
        if type(self).__getitem__ is not MemoryStore.__getitem__:
            return self  # a subclass with its own read, such as the bounded store
        return MappingProxyType(self._data)

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    @property
    def supports_ttl(self) -> bool:
        return True

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        data = self._data
        if not self._timed:
            return {k: data[k] for k in keys if k in data}
        return super().get_many(keys)  # one read per key, each of them expiry-aware

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        if ttl is not None:
            pairs = list(item_pairs(items))
            seconds = check_ttl(ttl)
            with self._lock:
                when = self._expiry.deadline(seconds)
                for key, value in pairs:
                    self._put_timed(key, value, when)
                self._expiry.due()
            return
        with self._lock:
            if not self._timed:
                self._data.update(items)
                return
            pairs = list(item_pairs(items))
            self._data.update(pairs)
            for key, _ in pairs:
                self._expiry.discard(key)
            self._expiry.due()

    def delete_many(self, keys: Iterable[K], /) -> None:
        with self._lock:
            for key in keys:
                self._remove(key)

    # -- conditional writes ----------------------------------------------------------------------

    def set_if_absent(self, key: K, value: V, /) -> bool:
        with self._lock:
            if key in self._data or self._expiry.live(key) is not None:
                return False
            self._data[key] = value
            self._expiry.discard(key)  # an expired entry
            return True

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        with self._lock:
            current = self._data.get(key, _ABSENT)
            if current is _ABSENT:
                entry = self._expiry.live(key)
                if entry is None:
                    return False
                current = entry[1]
            if current != expected:
                return False
            self._data[key] = value
            self._expiry.discard(key)
            return True

    def close(self) -> None:
        with self._lock:
            data, self._data = self._data, _CLOSED
            data.clear()  # a reader() handed out finds nothing from now on
            self._index.reset()
            self._expiry.clear()
            self._scanned = self._dropped = 0

    def __repr__(self) -> str:
        if self._data is _CLOSED:
            return "MemoryStore(<closed>)"
        return f"MemoryStore(<{self._held()} keys>)"

    def _held(self) -> int:
        """How many entries are held, expired or not (for the repr)."""
        return len(self._data) + len(self._timed)
