"""The books of the bounded MemoryStore: its bounds, least-recently-used order, sizes, deadlines.

Entries sit in an ``OrderedDict`` in least-recently-used order; the bytes of each value (with
``maxbytes``) in a dict beside it; deadlines (a store-wide ``ttl``, or one per key) in an
:class:`~nstore.stores._memory_expiry.Expiry`, purged in deadline order. The methods here keep them
in step, with the store's lock held; ``_memory_bounded`` serves the store's operations over them.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from nstore._expiry import check_ttl
from nstore.errors import ConfigurationError, ValueTooLarge
from nstore.stores._memory_expiry import Clock
from nstore.stores.memory import MemoryStore

__all__ = ["LRUBooks"]

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


class LRUBooks(MemoryStore[K, V], Generic[K, V]):
    """The state of a bounded MemoryStore and its bookkeeping; the operations are
    :class:`~nstore.stores._memory_bounded.BoundedMemoryStore`'s.

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
        """Remove ``key`` and its books; whether it was there (expired or not)."""
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
        if self._timed:
            self._purge()  # expired entries go first: no live one is evicted for their room
        data, maxbytes = self._data, self._maxbytes
        while len(data) > self._maxsize or (maxbytes is not None and self._nbytes > maxbytes):
            self._forget(data.popitem(last=False)[0])

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
