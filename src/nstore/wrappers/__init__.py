"""Wrappers: stores over stores that add behaviour and forward everything else.

``LoggingStore`` logs every access, ``CacheStore`` puts caches in front of a primary store, and
``ReadOnlyStore`` refuses writes. Each keeps the key and value types of the store it wraps.
"""

from nstore.wrappers._cache import CacheStore
from nstore.wrappers._forwarding import ForwardingStore
from nstore.wrappers._logging import LoggingStore
from nstore.wrappers._readonly import ReadOnlyStore
from nstore.wrappers._stripes import CacheStats

__all__ = ["CacheStats", "CacheStore", "ForwardingStore", "LoggingStore", "ReadOnlyStore"]
