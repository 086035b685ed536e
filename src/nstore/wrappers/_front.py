"""The hit path of CacheStore: what it subscripts to read the first cache."""

from __future__ import annotations

from typing import Any

from nstore.store import Store
from nstore.stores.memory import MemoryStore
from nstore.wrappers._tier import Tier

__all__ = ["Front", "TierRead", "front_of", "reads_its_dict"]


class Front:
    """The first cache's read in the shape of MemoryStore's own: ``front._data[key]``."""

    __slots__ = ("_data",)

    def __init__(self, data: Any) -> None:
        self._data = data


class TierRead:
    """Subscripting reads cache 0 through the tier, which skips tainted keys."""

    __slots__ = ("_tier",)

    def __init__(self, tier: Tier[Any, Any]) -> None:
        self._tier = tier

    def __getitem__(self, key: Any) -> Any:
        return self._tier.get(0, key)


def front_of(cache: Store[Any, Any]) -> Any:
    """What the hit path subscripts as ``front._data``.

    A MemoryStore whose read is MemoryStore's own is its own front: its ``_data`` is the dict it
    reads (a miss raises KeyError, and once closed the dict is swapped for one that raises
    StoreClosed), so a hit costs one dictionary lookup and no call. Any other cache is
    subscripted itself.
    """
    if reads_its_dict(cache):
        return cache
    return Front(cache)


def reads_its_dict(store: object) -> bool:
    """Whether ``store[key]`` is MemoryStore's own read: ``store._data[key]``, MissingKey on a miss.

    Wrappers then read ``_data`` themselves and save a call per read; a subclass with its own
    read (the bounded store, or any user subclass) is read through it.
    """
    return isinstance(store, MemoryStore) and type(store).__getitem__ is MemoryStore.__getitem__
