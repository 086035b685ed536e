"""Noticing logging level changes without asking on every call, for LoggingStore.

:mod:`logging` caches ``isEnabledFor`` answers per logger and clears every logger's cache
(``logger._cache.clear()``) whenever a level changes (``setLevel``, ``logging.disable``). A
:class:`LevelWatch` puts a marker object in that cache and keeps only a weak reference to it; when
the cache is cleared, the marker is freed at once (reference counting) and the weak reference's
callback wakes every quiet LoggingStore of that logger.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
import weakref
from collections.abc import Callable
from types import FunctionType
from typing import Any

from nstore.errors import MissingKey
from nstore.stores.memory import MemoryStore

__all__ = ["FORWARDED", "LevelWatch", "quiet_class", "watch_levels"]

#: The operations a quiet LoggingStore hands straight to the wrapped store.
FORWARDED = (
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__contains__",
    "__len__",
    "iter_keys",
    "get_many",
    "set_many",
    "delete_many",
    "set_if_absent",
    "compare_and_set",
)

_MARKER_KEY = object()  # logging looks its cache up by integer level only
_CALLBACKS_ARE_IMMEDIATE = sys.implementation.name == "cpython"
_lock = threading.Lock()
_watches: weakref.WeakKeyDictionary[logging.Logger, LevelWatch] = weakref.WeakKeyDictionary()


class _Marker:
    __slots__ = ("__weakref__",)


class LevelWatch:
    """Wakes the quiet stores of one logger when logging clears its level cache."""

    def __init__(self, logger: logging.Logger, cache: dict[Any, Any]) -> None:
        self.stores: weakref.WeakSet[Any] = weakref.WeakSet()
        self._logger = weakref.ref(logger)
        marker = _Marker()
        self._marker = weakref.ref(marker, self._fired)
        cache[_MARKER_KEY] = marker  # the only strong reference

    @property
    def armed(self) -> bool:
        return self._marker() is not None

    def _fired(self, _: object) -> None:
        logger = self._logger()
        with _lock:
            if logger is not None and _watches.get(logger) is self:
                del _watches[logger]
        for store in list(self.stores):
            store.wake()


def watch_levels(logger: logging.Logger) -> LevelWatch | None:
    """The armed watch of ``logger``, or None when level changes cannot be noticed this way."""
    cache = getattr(logger, "_cache", None)
    if not _CALLBACKS_ARE_IMMEDIATE or not isinstance(cache, dict):
        return None
    with _lock:
        watch = _watches.get(logger)
        if watch is None or not watch.armed:
            watch = _watches[logger] = LevelWatch(logger, cache)
        return watch


def quiet_class(checking: type[Any], store: Any) -> type[Any]:
    """A subclass of ``checking`` whose operations are ``store``'s own bound methods.

    One per LoggingStore: a bound method in the class dictionary is called without a wrapper
    frame, so a quiet store costs about what the wrapped store costs. Only methods that are plain
    functions of the store's class are bound once; any other attribute (a property that hands
    out the current implementation, say) is looked up per call, so that closing the store is seen.
    A MemoryStore's read is done in the quiet class itself (``_get_memory``), which is cheaper
    still than its bound method.
    """
    namespace: dict[str, Any] = {}
    for name in FORWARDED:
        if name == "__getitem__" and reads_its_dict(store):
            namespace[name] = _get_memory
        elif isinstance(inspect.getattr_static(type(store), name, None), FunctionType):
            namespace[name] = getattr(store, name)
        else:
            namespace[name] = _forwarder(name)
    namespace["__slots__"] = ()
    namespace["__module__"] = checking.__module__
    namespace["__qualname__"] = checking.__qualname__
    return type(checking.__name__, (checking,), namespace)


def _forwarder(name: str) -> Callable[..., Any]:
    dunder = _DUNDERS.get(name)
    if dunder is not None:
        return dunder

    def forward(self: Any, /, *args: Any) -> Any:
        return getattr(self._store, name)(*args)

    forward.__name__ = name
    return forward


def _set(self: Any, key: Any, value: Any, /) -> None:
    self._store[key] = value


def _get(self: Any, key: Any, /) -> Any:
    return self._store[key]


def _get_memory(self: Any, key: Any, /) -> Any:
    # MemoryStore's own read, done here: a Python function in the class is entered without the
    # call overhead of a bound method, so a quiet read costs about a bare MemoryStore read.
    try:
        return self._store._data[key]
    except KeyError:
        raise MissingKey(key) from None


def _delete(self: Any, key: Any, /) -> None:
    del self._store[key]


def _contains(self: Any, key: object, /) -> bool:
    return key in self._store


def _len(self: Any) -> int:
    return len(self._store)


_DUNDERS: dict[str, Callable[..., Any]] = {
    "__getitem__": _get,
    "__setitem__": _set,
    "__delitem__": _delete,
    "__contains__": _contains,
    "__len__": _len,
}


def reads_its_dict(store: object) -> bool:
    """Whether ``store[key]`` is MemoryStore's own read: ``store._data[key]``, MissingKey on a miss.

    The quiet class then reads ``_data`` itself and saves a call per read; a subclass with its own
    read (the bounded store, or any user subclass) is read through it.
    """
    return isinstance(store, MemoryStore) and type(store).__getitem__ is MemoryStore.__getitem__
