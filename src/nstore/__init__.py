"""nstore: a typed, serialization-centric object store.

Stores are typed mappings (``Store[K, V]``); codecs transform keys and values and compose into
pipelines that mypy checks; wrappers add behaviour to any store.

>>> from nstore import MemoryStore
>>> from nstore.codecs import Prefix, Utf8
>>> users = MemoryStore[str, bytes]().with_keys(Prefix("users/")).with_values(Utf8())
>>> users["ada"] = "Lovelace"
>>> users["ada"]
'Lovelace'

Optional dependencies (redis, the fast HTTP server) are imported only when the store or server
that needs them is created, so ``import nstore`` stays light.
"""

from nstore import errors
from nstore._aurls import aopen
from nstore.astore import AsyncStore
from nstore.aview import AsyncView
from nstore.namespaces import Namespaces
from nstore.server import make_app, serve, serve_in_thread
from nstore.store import Store
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
from nstore.wrappers import CacheStats, CacheStore, ForwardingStore, LoggingStore, ReadOnlyStore

__all__ = [
    "AsyncAdapter",
    "AsyncHTTPStore",
    "AsyncMemoryStore",
    "AsyncRedisStore",
    "AsyncStore",
    "AsyncView",
    "CacheStats",
    "CacheStore",
    "FileStore",
    "ForwardingStore",
    "HTTPStore",
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
