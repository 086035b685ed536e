"""LoggingStore: an access log of every operation through the standard logging module.

What is logged and how is decided in ``_records.py``, shared with
:class:`~nstore.wrappers.AsyncLoggingStore`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from nstore.store import KeyPage, Store, item_pairs
from nstore.wrappers._forwarding import ForwardingStore
from nstore.wrappers._records import (
    FIELDS,
    Logs,
    counted,
    enabled,
    found,
    got,
    hit,
    size_of,
    target,
    total_size,
)

__all__ = ["FIELDS", "LoggingStore"]

K = TypeVar("K")
V = TypeVar("V")


class LoggingStore(Logs, ForwardingStore[K, V], Generic[K, V]):
    """Log one record per operation: get, set, delete, contains, len, bulk calls, listing, expiry.

    Records go to ``logger`` (default ``logging.getLogger("nstore.access")``) at ``level``
    (default ``DEBUG``), with the structured fields of :data:`FIELDS` in the record (usable in a
    format string as ``%(operation)s`` and read by structured handlers): ``operation``, ``key``
    (single-key calls), ``count`` (keys in a bulk call or listed), ``size`` (value size in bytes
    for bytes and text values), ``hit`` (found or not, stored or not for conditional writes),
    ``ttl`` (the ttl given to a set or touch, the time left answered by ``ttl()``), ``duration``
    (seconds) and ``error`` (the exception's class name, when the call failed). Values are never
    logged; keys are.

    ``level`` is a level number or name (``"INFO"``). While the level is disabled, an operation
    is one check and a call to the wrapped store (a read goes through its :meth:`~Store.reader`).
    The check is exact, so a level change takes effect on the next call, and cheapest when
    ``logger`` has a level of its own (``logger.setLevel(...)``): a level below it is disabled
    whatever its parents say, one comparison; otherwise :meth:`logging.Logger.isEnabledFor`
    decides, which costs about as much as a MemoryStore read.

    Examples
    --------
    >>> import logging
    >>> from nstore import MemoryStore
    >>> store = LoggingStore(MemoryStore[str, bytes](), logging.getLogger("doc.access"))
    >>> store["a"] = b"1"
    >>> store["a"]
    b'1'
    """

    __slots__ = ("__weakref__", "_level", "_logger", "_reader")

    def __init__(
        self, store: Store[K, V], logger: logging.Logger | None = None, level: int | str = logging.DEBUG
    ) -> None:
        super().__init__(store)
        self._logger, self._level = target(logger, level)
        self._reader = store.reader()

    # -- single keys: the quiet test inlined (one comparison when the logger has its own level) --

    def __getitem__(self, key: K, /) -> V:
        if self._level < self._logger.level or not enabled(self._logger, self._level):
            try:
                return self._reader[key]
            except KeyError:  # not final from a reader: the store's own answer
                return self._store[key]
        with self._access("get", key=key) as access:
            value = self._store[key]
            access.done(got(value))
        return value

    def __setitem__(self, key: K, value: V, /) -> None:
        if self._level < self._logger.level or not enabled(self._logger, self._level):
            self._store[key] = value
            return
        with self._access("set", key=key, size=size_of(value)):
            self._store[key] = value

    def __delitem__(self, key: K, /) -> None:
        if self._quiet():
            del self._store[key]
            return
        with self._access("delete", key=key) as access:
            del self._store[key]
            access.done(found(None))

    def __contains__(self, key: object, /) -> bool:
        if self._quiet():
            return key in self._store
        with self._access("contains", key=key) as access:
            answer = key in self._store
            access.done(hit(answer))
        return answer

    def __len__(self) -> int:
        if self._quiet():
            return len(self._store)
        with self._access("len") as access:
            count = len(self._store)
            access.done(counted(count))
        return count

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited; logged as "len", with the prefix as its key
        if self._quiet():
            return self._store.count_keys(prefix)
        with self._access("len", key=prefix) as access:
            count = self._store.count_keys(prefix)
            access.done(counted(count))
        return count

    # -- expiry ----------------------------------------------------------------------------------

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        if self._quiet():
            self._store.set(key, value, ttl=ttl)
            return
        with self._access("set", key=key, size=size_of(value), ttl=ttl):
            self._store.set(key, value, ttl=ttl)

    def ttl(self, key: K, /) -> float | None:
        if self._quiet():
            return self._store.ttl(key)
        with self._access("ttl", key=key) as access:
            left = self._store.ttl(key)
            access.done({"hit": True, "ttl": left})
        return left

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        if self._quiet():
            self._store.touch(key, ttl=ttl)
            return
        with self._access("touch", key=key, ttl=ttl) as access:
            self._store.touch(key, ttl=ttl)
            access.done(found(None))

    # -- bulk and conditional ----------------------------------------------------------------

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        if self._quiet():
            return self._store.get_many(keys)
        wanted = list(keys)
        with self._access("get_many", count=len(wanted)) as access:
            answer = self._store.get_many(wanted)
            access.done({"hit": len(answer) == len(set(wanted)), "size": total_size(answer.values())})
        return answer

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        if self._quiet():
            self._store.set_many(items, ttl=ttl)
            return
        pairs = list(item_pairs(items))
        size = total_size(v for _, v in pairs)
        with self._access("set_many", count=len(pairs), size=size, ttl=ttl):
            self._store.set_many(pairs, ttl=ttl)

    def delete_many(self, keys: Iterable[K], /) -> None:
        if self._quiet():
            self._store.delete_many(keys)
            return
        doomed = list(keys)
        with self._access("delete_many", count=len(doomed)):
            self._store.delete_many(doomed)

    def set_if_absent(self, key: K, value: V, /) -> bool:
        if self._quiet():
            return self._store.set_if_absent(key, value)
        with self._access("set_if_absent", key=key, size=size_of(value)) as access:
            stored = self._store.set_if_absent(key, value)
            access.done(hit(stored))
        return stored

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        if self._quiet():
            return self._store.compare_and_set(key, expected, value)
        with self._access("compare_and_set", key=key, size=size_of(value)) as access:
            stored = self._store.compare_and_set(key, expected, value)
            access.done(hit(stored))
        return stored

    # -- listing -------------------------------------------------------------------------------

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited
        keys = self._store.iter_keys(prefix)
        return keys if self._quiet() else self._logged_listing(keys, prefix)

    def keys_page(
        self, prefix: K | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[K]:
        # docstring inherited; logged as "list", with the keys of the page as its count
        if self._quiet():
            return self._store.keys_page(prefix, cursor=cursor, limit=limit)
        with self._access("list", key=prefix) as access:
            page = self._store.keys_page(prefix, cursor=cursor, limit=limit)
            access.done(counted(len(page.keys)))
        return page

    def _logged_listing(self, keys: Iterator[K], prefix: K | None) -> Iterator[K]:
        # One record when the listing ends (exhausted, closed or failed), with the count seen.
        with self._access("list", key=prefix, count=0) as access:
            for key in keys:
                access.listed()
                yield key
