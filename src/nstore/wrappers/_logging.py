"""LoggingStore: an access log of every operation through the standard logging module."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from time import perf_counter
from typing import Any, Generic, TypeVar

from nstore.errors import ConfigurationError
from nstore.store import Store, item_pairs
from nstore.wrappers._forwarding import ForwardingStore

__all__ = ["LoggingStore"]

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

#: Record fields that every access record carries (None where they do not apply).
FIELDS = ("operation", "key", "count", "size", "hit", "duration", "error")

# The user's frame, seen from _emit: user -> public method -> _logged -> _emit.
_STACKLEVEL = 4


def _size(value: object) -> int | None:
    """Size in bytes of a bytes-like or text value; None for other values (never logged)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    return None


class LoggingStore(ForwardingStore[K, V], Generic[K, V]):
    """Log one record per operation: get, set, delete, contains, len, bulk calls and listing.

    Records go to ``logger`` (default ``logging.getLogger("nstore.access")``) at ``level``
    (default ``DEBUG``), with the structured fields of :data:`FIELDS` in the record (usable in a
    format string as ``%(operation)s`` and read by structured handlers): ``operation``, ``key``
    (single-key calls), ``count`` (keys in a bulk call or listed), ``size`` (value size in bytes
    for bytes and text values), ``hit`` (found or not, stored or not for conditional writes),
    ``duration`` (seconds) and ``error`` (the exception's class name, when the call failed).
    Values are never logged; keys are.

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
        self._logger = logger if logger is not None else logging.getLogger("nstore.access")
        self._level = _check_level(level)
        self._reader = store.reader()

    @property
    def logger(self) -> logging.Logger:
        """The logger records go to."""
        return self._logger

    # -- the record --------------------------------------------------------------------------

    def _emit(self, operation: str, start: float, **fields: Any) -> None:
        duration = perf_counter() - start
        extra: dict[str, Any] = dict.fromkeys(FIELDS)
        extra.update(fields, operation=operation, duration=duration)
        parts = [operation]
        if extra["key"] is not None:
            parts.append(repr(extra["key"]))
        if extra["count"] is not None:
            parts.append(f"{extra['count']} keys")
        if extra["hit"] is not None:
            parts.append("hit" if extra["hit"] else "miss")
        if extra["size"] is not None:
            parts.append(f"{extra['size']} B")
        if extra["error"] is not None:
            parts.append(f"failed: {extra['error']}")
        self._logger.log(
            self._level, "%s in %.1f µs", " ".join(parts), duration * 1e6, extra=extra, stacklevel=_STACKLEVEL
        )

    def _logged(
        self, operation: str, call: Callable[[], R], outcome: Callable[[R], dict[str, Any]], **fields: Any
    ) -> R:
        start = perf_counter()
        try:
            result = call()
        except KeyError:
            self._emit(operation, start, hit=False, **fields)
            raise
        except Exception as exc:
            self._emit(operation, start, error=type(exc).__name__, **fields)
            raise
        self._emit(operation, start, **fields, **outcome(result))
        return result

    def _enabled(self) -> bool:
        """Whether to log now (the condition is inlined in the hot single-key methods)."""
        level, logger = self._level, self._logger
        # A logger's own level, when set, is its effective level (Logger.getEffectiveLevel): a
        # level below it is disabled whatever the parents and logging.disable() say.
        return level >= logger.level and logger.isEnabledFor(level)

    def __repr__(self) -> str:
        return f"LoggingStore({self._store!r})"

    # -- single keys -------------------------------------------------------------------------

    def __getitem__(self, key: K, /) -> V:
        level, logger = self._level, self._logger
        if level < logger.level or not logger.isEnabledFor(level):  # _enabled(), inlined
            try:
                return self._reader[key]
            except KeyError:  # not final from a reader: the store's own answer
                return self._store[key]
        return self._logged("get", partial(self._store.__getitem__, key), _got, key=key)

    def __setitem__(self, key: K, value: V, /) -> None:
        level, logger = self._level, self._logger
        if level < logger.level or not logger.isEnabledFor(level):  # _enabled(), inlined
            self._store[key] = value
            return
        self._logged(
            "set", partial(self._store.__setitem__, key, value), _nothing, key=key, size=_size(value)
        )

    def __delitem__(self, key: K, /) -> None:
        if not self._enabled():
            del self._store[key]
            return
        self._logged("delete", partial(self._store.__delitem__, key), _found, key=key)

    def __contains__(self, key: object, /) -> bool:
        if not self._enabled():
            return key in self._store
        return self._logged("contains", partial(self._store.__contains__, key), _hit, key=key)

    def __len__(self) -> int:
        if not self._enabled():
            return len(self._store)
        return self._logged("len", self._store.__len__, _counted)

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited; logged as "len", with the prefix as its key
        if not self._enabled():
            return self._store.count_keys(prefix)
        return self._logged("len", partial(self._store.count_keys, prefix), _counted, key=prefix)

    # -- bulk and conditional ----------------------------------------------------------------

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        if not self._enabled():
            return self._store.get_many(keys)
        wanted = list(keys)
        return self._logged(
            "get_many",
            lambda: self._store.get_many(wanted),
            lambda found: {"hit": len(found) == len(wanted), "size": _total(found.values())},
            count=len(wanted),
        )

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        if not self._enabled():
            self._store.set_many(items, ttl=ttl)
            return
        pairs = list(item_pairs(items))
        size = _total(v for _, v in pairs)
        self._logged(
            "set_many", lambda: self._store.set_many(pairs, ttl=ttl), _nothing, count=len(pairs), size=size
        )

    def delete_many(self, keys: Iterable[K], /) -> None:
        if not self._enabled():
            self._store.delete_many(keys)
            return
        doomed = list(keys)
        self._logged("delete_many", lambda: self._store.delete_many(doomed), _nothing, count=len(doomed))

    def set_if_absent(self, key: K, value: V, /) -> bool:
        if not self._enabled():
            return self._store.set_if_absent(key, value)
        return self._logged(
            "set_if_absent",
            partial(self._store.set_if_absent, key, value),
            _hit,
            key=key,
            size=_size(value),
        )

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        if not self._enabled():
            return self._store.compare_and_set(key, expected, value)
        return self._logged(
            "compare_and_set",
            partial(self._store.compare_and_set, key, expected, value),
            _hit,
            key=key,
            size=_size(value),
        )

    # -- listing -------------------------------------------------------------------------------

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited
        keys = self._store.iter_keys(prefix)
        if not self._enabled():
            return keys
        return self._logged_listing(keys, prefix)

    def _logged_listing(self, keys: Iterator[K], prefix: K | None) -> Iterator[K]:
        # One record when the listing ends (exhausted, closed or failed), with the count seen.
        start = perf_counter()
        count = 0
        error: str | None = None
        try:
            for key in keys:
                count += 1
                yield key
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            self._emit("list", start, key=prefix, count=count, error=error)


def _check_level(level: object) -> int:
    """A logging level number from a number or a name; ConfigurationError for anything else."""
    if isinstance(level, str):
        names = logging.getLevelNamesMapping()
        number = names.get(level, names.get(level.upper()))
        if number is not None:
            return number
    elif isinstance(level, int) and not isinstance(level, bool) and level >= 0:
        return level
    known = ", ".join(repr(n) for n in sorted(logging.getLevelNamesMapping(), key=logging.getLevelName))
    raise ConfigurationError(
        f"Expected a logging level for level: a number >= 0 or one of {known}. Got {level!r} instead."
    )


# Outcomes as record fields. Module functions, not lambdas: a lambda over ``key`` would turn the
# arguments of the quiet path into closure cells, which costs about a third of a MemoryStore read.
def _nothing(_: object) -> dict[str, Any]:
    return {}


def _got(value: object) -> dict[str, Any]:
    return {"hit": True, "size": _size(value)}


def _found(_: object) -> dict[str, Any]:
    return {"hit": True}


def _counted(count: int) -> dict[str, Any]:
    return {"count": count}


def _hit(answer: object) -> dict[str, Any]:
    return {"hit": answer}


def _total(values: Iterable[object]) -> int | None:
    sizes = [_size(v) for v in values]
    return None if None in sizes else sum(s for s in sizes if s is not None)
