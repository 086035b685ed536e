"""One cache store over given sync stores, in either API: the sync CacheStore, or an AsyncCacheStore
over async adapters of the same stores behind the blocking facade. Cases written once run for both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nstore import AsyncAdapter, Store
from nstore.wrappers import AsyncCacheStore, CacheStats, CacheStore
from tests.astores.facade import Blocking, LoopThread

APIS = ["sync", "async"]


@dataclass
class Cached:
    """The cache store under test, through the sync API, with what its own API adds."""

    store: Store[str, bytes]
    flush: Callable[[], None]
    stats: Callable[[], CacheStats]


def cached(
    api: str, loop: LoopThread, primary: Store[str, bytes], *caches: Store[str, bytes], **options: bool | int
) -> Cached:
    if api == "sync":
        sync = CacheStore(primary, *caches, **options)  # type: ignore[arg-type]  # the options of both
        return Cached(sync, sync.flush, lambda: sync.stats)
    over = AsyncCacheStore(AsyncAdapter(primary), *(AsyncAdapter(c) for c in caches), **options)  # type: ignore[arg-type]
    return Cached(Blocking(over, loop), lambda: loop.run(over.flush()), lambda: over.stats)
