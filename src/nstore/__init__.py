"""nstore: a typed, serialization-centric object store.

Stores are typed mappings (``Store[K, V]``); codecs transform keys and values and compose into
pipelines that mypy checks; wrappers add behaviour to any store.

>>> from nstore import MemoryStore
>>> from nstore.codecs import Prefix, Utf8
>>> users = MemoryStore[str, bytes]().with_keys(Prefix("users/")).with_values(Utf8())
>>> users["ada"] = "Lovelace"
>>> users["ada"]
'Lovelace'

``import nstore`` loads only the error tree and the ``Store`` base class. Every other name is
imported from its module on first use (``from nstore import SQLiteStore`` loads the SQLite
backend and nothing of the server, the HTTP client, namespaces or Redis), and optional
dependencies (redis, the fast HTTP server) only when the store or server that needs them is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from nstore import errors
from nstore.store import KeyPage, Store

if TYPE_CHECKING:
    from nstore._aurls import aopen
    from nstore.anamespaces import AsyncNamespaces
    from nstore.astore import AsyncStore
    from nstore.aview import AsyncView
    from nstore.namespaces import Namespaces
    from nstore.server import make_app, serve, serve_in_thread
    from nstore.stores._adapter import AsyncAdapter
    from nstore.stores.ahttp import AsyncHTTPStore
    from nstore.stores.amemory import AsyncMemoryStore
    from nstore.stores.aredis import AsyncRedisStore
    from nstore.stores.file import FileStore
    from nstore.stores.http import HTTPStore
    from nstore.stores.memory import MemoryStore
    from nstore.stores.redis import RedisStore
    from nstore.stores.sqlite import SQLiteStore
    from nstore.urls import open
    from nstore.view import View
    from nstore.wrappers import (
        AsyncCacheStore,
        AsyncForwardingStore,
        AsyncLoggingStore,
        AsyncReadOnlyStore,
        CacheStats,
        CacheStore,
        ForwardingStore,
        LoggingStore,
        ReadOnlyStore,
    )

__all__ = [
    "AsyncAdapter",
    "AsyncCacheStore",
    "AsyncForwardingStore",
    "AsyncHTTPStore",
    "AsyncLoggingStore",
    "AsyncMemoryStore",
    "AsyncNamespaces",
    "AsyncReadOnlyStore",
    "AsyncRedisStore",
    "AsyncStore",
    "AsyncView",
    "CacheStats",
    "CacheStore",
    "FileStore",
    "ForwardingStore",
    "HTTPStore",
    "KeyPage",
    "LoggingStore",
    "MemoryStore",
    "Namespaces",
    "ReadOnlyStore",
    "RedisStore",
    "SQLiteStore",
    "Store",
    "View",
    "aopen",
    "errors",
    "make_app",
    "open",
    "serve",
    "serve_in_thread",
]

# Where each lazily imported name lives (the TYPE_CHECKING imports above say the same to checkers).
_LAZY = {
    "AsyncAdapter": "nstore.stores._adapter",
    "AsyncCacheStore": "nstore.wrappers",
    "AsyncForwardingStore": "nstore.wrappers",
    "AsyncHTTPStore": "nstore.stores.ahttp",
    "AsyncLoggingStore": "nstore.wrappers",
    "AsyncMemoryStore": "nstore.stores.amemory",
    "AsyncNamespaces": "nstore.anamespaces",
    "AsyncReadOnlyStore": "nstore.wrappers",
    "AsyncRedisStore": "nstore.stores.aredis",
    "AsyncStore": "nstore.astore",
    "AsyncView": "nstore.aview",
    "CacheStats": "nstore.wrappers",
    "CacheStore": "nstore.wrappers",
    "FileStore": "nstore.stores.file",
    "ForwardingStore": "nstore.wrappers",
    "HTTPStore": "nstore.stores.http",
    "LoggingStore": "nstore.wrappers",
    "MemoryStore": "nstore.stores.memory",
    "Namespaces": "nstore.namespaces",
    "ReadOnlyStore": "nstore.wrappers",
    "RedisStore": "nstore.stores.redis",
    "SQLiteStore": "nstore.stores.sqlite",
    "View": "nstore.view",
    "aopen": "nstore._aurls",
    "make_app": "nstore.server",
    "open": "nstore.urls",
    "serve": "nstore.server",
    "serve_in_thread": "nstore.server",
}


if not TYPE_CHECKING:  # hidden from type checkers, which then still flag a misspelt name

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'nstore' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups find it without coming here
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
