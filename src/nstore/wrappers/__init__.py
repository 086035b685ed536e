"""Wrappers: stores over stores that add behaviour and forward everything else.

``LoggingStore`` logs every access, ``CacheStore`` puts caches in front of a primary store, and
``ReadOnlyStore`` refuses writes. Each keeps the key and value types of the store it wraps. The
async wrappers (``AsyncLoggingStore``, ``AsyncCacheStore``, ``AsyncReadOnlyStore``, over
``AsyncForwardingStore``) take the same decisions over an :class:`~nstore.AsyncStore`; they are
imported on first use, so the sync wrappers do not load asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from nstore.wrappers._cache import CacheStore
from nstore.wrappers._forwarding import ForwardingStore
from nstore.wrappers._logging import LoggingStore
from nstore.wrappers._readonly import ReadOnlyStore
from nstore.wrappers._stripes import CacheStats

if TYPE_CHECKING:
    from nstore.wrappers._acache import AsyncCacheStore
    from nstore.wrappers._aforwarding import AsyncForwardingStore
    from nstore.wrappers._alogging import AsyncLoggingStore
    from nstore.wrappers._areadonly import AsyncReadOnlyStore

__all__ = [
    "AsyncCacheStore",
    "AsyncForwardingStore",
    "AsyncLoggingStore",
    "AsyncReadOnlyStore",
    "CacheStats",
    "CacheStore",
    "ForwardingStore",
    "LoggingStore",
    "ReadOnlyStore",
]

if not TYPE_CHECKING:  # hidden from type checkers, which then still flag a misspelt name

    def __getattr__(name: str) -> object:
        # The async wrappers load asyncio, which the sync ones do not need: imported on first use.
        modules = ("_acache", "_aforwarding", "_alogging", "_areadonly") if name.startswith("Async") else ()
        for module in modules:
            found = importlib.import_module(f"{__name__}.{module}")
            if name in found.__all__:
                return getattr(found, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
