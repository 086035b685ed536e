"""nstore: a typed, serialization-centric object store.

Stores are typed mappings (``Store[K, V]``); codecs transform keys and values and compose into
pipelines that mypy checks; wrappers add behaviour to any store.

>>> from nstore import MemoryStore
>>> from nstore.codecs import Prefix, Utf8
>>> users = MemoryStore[str, bytes]().with_keys(Prefix("users/")).with_values(Utf8())
>>> users["ada"] = "Lovelace"
>>> users["ada"]
'Lovelace'
"""

from nstore import errors
from nstore.store import Store
from nstore.stores.memory import MemoryStore
from nstore.view import View

__all__ = [
    "MemoryStore",
    "Store",
    "View",
    "errors",
]
