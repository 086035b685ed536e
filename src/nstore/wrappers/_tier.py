"""The cache tier of a CacheStore: the calls to its caches, with :class:`TierBooks` deciding what
a failure means (see ``_tier_books.py``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Generic, TypeVar

from nstore.errors import MissingKey
from nstore.store import Store
from nstore.wrappers._cache_rules import Pending, Step
from nstore.wrappers._tier_books import DEGRADED, TierBooks

__all__ = ["DEGRADED", "Tier"]

K = TypeVar("K")
V = TypeVar("V")


def _call(cache: Store[K, V], step: Step) -> None:
    if step.name == "set":
        cache.set_many(step.pairs, ttl=step.ttl)
    elif step.name == "delete":
        cache.delete_many(step.keys)
    else:
        with contextlib.suppress(KeyError):  # not in this cache: nothing to change
            cache.touch(step.keys[0], ttl=step.ttl)


class Tier(TierBooks[K], Generic[K, V]):
    """The caches of a CacheStore, in lookup order, with their failure bookkeeping."""

    def __init__(self, caches: Sequence[Store[K, V]], logger: logging.Logger) -> None:
        super().__init__(caches, logger)
        self.caches = tuple(caches)

    def apply(self, entries: Sequence[tuple[K, Pending]], upto: int | None = None) -> None:
        """Give the caches before index ``upto`` (every cache if None) the entries' state."""
        for index, step in self.plan(entries, upto):
            try:
                _call(self.caches[index], step)
            except BaseException as exc:
                self._invalidate(index, step.keys)
                self.failed(index, step.name, step.keys, exc, write=True)
            else:
                self.succeeded(index, step.keys)

    def _invalidate(self, index: int, keys: list[K]) -> None:
        """Remove ``keys`` from one cache; taint them there when that fails."""
        try:
            self.caches[index].delete_many(keys)
        except BaseException as exc:
            self.taint(index, keys, exc)
        else:
            self.succeeded(index, keys)

    # -- reads ------------------------------------------------------------------------------------

    def get(self, index: int, key: K) -> V:
        """Read ``key`` from one cache; raise MissingKey when absent, tainted or failing."""
        if not self.readable(index, key):
            raise MissingKey(key)
        try:
            return self.caches[index][key]
        except KeyError:
            raise
        except BaseException as exc:
            self.failed(index, "get", key, exc, write=False)
        raise MissingKey(key)

    def get_many(self, index: int, keys: list[K]) -> dict[K, V]:
        wanted = self.readable_keys(index, keys)
        if not wanted:
            return {}
        try:
            return self.caches[index].get_many(wanted)
        except BaseException as exc:
            self.failed(index, "get", wanted, exc, write=False)
        return {}

    def contains(self, index: int, key: K) -> bool:
        if not self.readable(index, key):
            return False
        try:
            return key in self.caches[index]
        except BaseException as exc:
            self.failed(index, "contains", key, exc, write=False)
        return False
