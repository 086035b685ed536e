"""The cache tier of a CacheStore: the calls to its caches, with :class:`TierBooks` deciding what
a failure means (see ``_tier_books.py``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Generic, TypeVar

from nstore.errors import KeyEncodingError, MissingKey
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
        """Give the caches before index ``upto`` (every cache if None) the entries' state.

        Every cache gets its call even when one before it fails; an error that does not degrade
        a cache is raised once they all had theirs.
        """
        errors: list[BaseException] = []
        for index, step in self.plan(entries, upto):
            self._give(index, step, errors)
        self.raise_first(errors)

    def _give(self, index: int, step: Step, errors: list[BaseException]) -> None:
        try:
            _call(self.caches[index], step)
        except BaseException as exc:
            if retries := self.split(step, exc):
                for one in retries:
                    self._give(index, one, errors)
                return
            self.write_failed(index, step, exc, errors)  # the step's error first, then the invalidation's
            self._invalidate(index, step.keys, errors)
        else:
            self.succeeded(index, step.keys)

    def _invalidate(self, index: int, keys: list[K], errors: list[BaseException]) -> None:
        """Remove ``keys`` from one cache; taint them there when that fails."""
        try:
            self.caches[index].delete_many(keys)
        except BaseException as exc:
            self.taint(index, keys, exc, errors)
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
        except KeyEncodingError:  # a key this cache cannot hold
            pass
        except BaseException as exc:
            self.failed(index, "get", key, exc, write=False)
        raise MissingKey(key)

    def get_many(self, index: int, keys: list[K]) -> dict[K, V]:
        wanted = self.readable_keys(index, keys)
        if not wanted:
            return {}
        try:
            return self.caches[index].get_many(wanted)
        except KeyEncodingError:  # some key this cache cannot hold: ask for each one
            return self._one_by_one(index, wanted) if len(wanted) > 1 else {}
        except BaseException as exc:
            self.failed(index, "get", wanted, exc, write=False)
        return {}

    def _one_by_one(self, index: int, keys: list[K]) -> dict[K, V]:
        found: dict[K, V] = {}
        for key in keys:
            with contextlib.suppress(KeyError):
                found[key] = self.get(index, key)
        return found

    def contains(self, index: int, key: K) -> bool:
        if not self.readable(index, key):
            return False
        try:
            return key in self.caches[index]
        except KeyEncodingError:
            return False
        except BaseException as exc:
            self.failed(index, "contains", key, exc, write=False)
        return False
