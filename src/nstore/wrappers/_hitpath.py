"""The hit path of CacheStore: one read method per state, chosen by switching the store's class.

A cache hit through a CacheStore should cost about what a read of the cache itself costs. Every
test on that path is paid on every hit, so instead of testing the store's state on each read, the
store switches (``object.__setattr__(store, "__class__", ...)``) between subclasses whose
``__getitem__`` does only what the current state needs:

- ``read``: how the first cache is read. ``"dict"``: a plain MemoryStore, read as
  ``cache._data[key]`` here (one Python frame instead of two); ``"lru"``: a MemoryStore bounded by
  size or bytes without a time-to-live, read and marked recent here as its own ``__getitem__``
  does; ``"call"``: any other store, through its own ``__getitem__``, and a failing cache degrades;
- ``behind``: with write-behind, pending writes are consulted first (``if self._pending``);
- ``count``: hits are counted (``count_hits=True``); an integer increment allocates, and costs about
  a third of a MemoryStore read.

A closed store, or one whose first cache has tainted keys, uses CacheStore's own ``__getitem__``,
the general state (``"call"``, pending writes consulted, hits counted), which tests everything.
The variants have no slots of their own, so switching is always allowed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from nstore.errors import StoreClosed
from nstore.stores._memory_bounded import reads_as_lru
from nstore.wrappers._quiet import reads_its_dict
from nstore.wrappers._tier import DEGRADED

__all__ = ["hit_class", "hit_read", "read_kind"]

_PENDING = """
    if self._pending:
        return self._get_slow(key)"""
_DICT = """
    try:
        value = self._first._data[key]
    except KeyError:
        return self._get_from(key, 1)"""
_LRU = """
    first = self._first
    try:
        value = first._data[key]
    except KeyError:
        return self._get_from(key, 1)
    try:
        first._touch(key)
    except KeyError:
        pass"""
_CALLED = """
    try:
        value = self._first_get(key)
    except KeyError:
        return self._get_from(key, 1)
    except StoreClosed:
        raise
    except DEGRADED as exc:
        self._tier.failed(0, "get", key, exc, write=False)
        return self._get_from(key, 1)"""
_COUNT = """
    self._hits += 1"""


_READS = {"dict": _DICT, "lru": _LRU, "call": _CALLED}


def read_kind(cache: object) -> str:
    """How the hit path reads ``cache``: "dict", "lru" or "call" (see the module documentation)."""
    if reads_its_dict(cache):
        return "dict"
    if reads_as_lru(cache):
        return "lru"
    return "call"


def hit_read(*, read: str, behind: bool, count: bool) -> Callable[..., Any]:
    """The ``__getitem__`` of one state, compiled from the snippets above."""
    source = "".join(
        [
            "def __getitem__(self, key, /):",
            _PENDING if behind else "",
            _READS[read],
            _COUNT if count else "",
            "\n    return value\n",
        ]
    )
    namespace: dict[str, Any] = {"StoreClosed": StoreClosed, "DEGRADED": DEGRADED}
    exec(source, namespace)  # the source is one of twelve fixed texts above
    method: Callable[..., Any] = namespace["__getitem__"]
    return method


@functools.cache
def hit_class(base: type[Any], *, read: str, behind: bool, count: bool) -> type[Any]:
    """The subclass of ``base`` (CacheStore) whose reads fit this state; one per state."""
    namespace = {
        "__getitem__": hit_read(read=read, behind=behind, count=count),
        "__slots__": (),
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
        "__doc__": base.__doc__,
    }
    return type(base.__name__, (base,), namespace)
