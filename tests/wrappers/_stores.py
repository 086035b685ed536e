"""Real stores with a twist, for cache tests: slow writes, and an outage that can be switched."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from nstore import MemoryStore, Store
from nstore.errors import StoreUnavailable
from nstore.wrappers import ForwardingStore

K = TypeVar("K")
V = TypeVar("V")


class SlowWrites(ForwardingStore[K, V], Generic[K, V]):
    """Forwards to a store, sleeping ``delay`` seconds before each write (a distant cache)."""

    def __init__(self, store: Store[K, V], delay: float) -> None:
        super().__init__(store)
        self.delay = delay

    def __setitem__(self, key: K, value: V, /) -> None:
        time.sleep(self.delay)
        super().__setitem__(key, value)

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        time.sleep(self.delay)
        super().set_many(items, ttl=ttl)

    def delete_many(self, keys: Iterable[K], /) -> None:
        time.sleep(self.delay)
        super().delete_many(keys)


class WritesChecked(MemoryStore[str, V]):
    """A memory store whose bulk writes and deletes call ``_check`` first (a subclass raises there)."""

    def _check(self) -> None:
        pass

    def set_many(
        self, items: Mapping[str, V] | Iterable[tuple[str, V]], /, *, ttl: float | None = None
    ) -> None:
        self._check()
        super().set_many(items, ttl=ttl)

    def delete_many(self, keys: Iterable[str], /) -> None:
        self._check()
        super().delete_many(keys)


class Outage(WritesChecked[bytes]):
    """A memory store that raises StoreUnavailable on every operation while ``down`` is true."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("cache is down (outage switched on)")

    def __getitem__(self, key: str, /) -> bytes:
        self._check()
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self._check()
        super().__setitem__(key, value)

    def __contains__(self, key: object, /) -> bool:
        self._check()
        return super().__contains__(key)

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        self._check()
        return super().get_many(keys)
