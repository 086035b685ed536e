"""Async wrappers keep the key and value types of the async store they wrap, as the sync ones do."""

from __future__ import annotations

from typing import assert_type

from _models import Account, User
from nstore import AsyncMemoryStore, AsyncStore, MemoryStore
from nstore.codecs import Msgspec
from nstore.wrappers import AsyncCacheStore, AsyncLoggingStore, AsyncReadOnlyStore, CacheStats, CacheStore

backend = AsyncMemoryStore[str, bytes]()
users = backend.with_values(Msgspec(User))
cached = AsyncCacheStore(users, AsyncMemoryStore[str, User](maxsize=100), write_behind=True)
assert_type(cached, AsyncCacheStore[str, User])
stats: CacheStats = cached.stats
logged: AsyncStore[str, User] = AsyncLoggingStore(cached, level="INFO")
read_only: AsyncStore[str, User] = AsyncReadOnlyStore(logged)


async def use() -> None:
    assert_type(await read_only.get("a"), User)
    assert_type(await cached.ttl("a"), float | None)
    await cached.set("a", User(1, "ada"), ttl=60)
    await cached.flush()
    await cached.aclose()
    # P: Argument of type "Literal[3]" cannot be assigned to parameter "value" of type "User" in function "set"  [reportArgumentType]
    await logged.set("a", 3)  # E: Argument 2 to "set" of "AsyncStore" has incompatible type "int"; expected "User"  [arg-type]


# Caches of another value type. As with the sync CacheStore, mypy solves V from both stores at once
# and can only say it found none; pyright names the cache argument.
# P: Argument of type "AsyncMemoryStore[str, Account]" cannot be assigned to parameter "cache" of type "AsyncStore[K@AsyncCacheStore, V@AsyncCacheStore]" in function "__init__"  [reportArgumentType]
AsyncCacheStore(users, AsyncMemoryStore[str, Account]())  # E: Cannot infer value of type parameter "V" of "AsyncCacheStore"  [misc]
# Spelling the types out makes both checkers name the two value types.
# P: Argument of type "AsyncMemoryStore[str, Account]" cannot be assigned to parameter "cache" of type "AsyncStore[str, User]" in function "__init__"  [reportArgumentType]
AsyncCacheStore[str, User](users, AsyncMemoryStore[str, Account]())  # E: Argument 2 to "AsyncCacheStore" has incompatible type "AsyncMemoryStore[str, Account]"; expected "AsyncStore[str, User]"  [arg-type]
# P: Argument of type "MemoryStore[str, Account]" cannot be assigned to parameter "cache" of type "Store[str, User]" in function "__init__"  [reportArgumentType]
CacheStore[str, User](MemoryStore[str, User](), MemoryStore[str, Account]())  # E: Argument 2 to "CacheStore" has incompatible type "MemoryStore[str, Account]"; expected "Store[str, User]"  [arg-type]
# A sync store is not an async cache (wrap it in an AsyncAdapter).
# P: Argument of type "MemoryStore[str, User]" cannot be assigned to parameter "cache" of type "AsyncStore[K@AsyncCacheStore, V@AsyncCacheStore]" in function "__init__"  [reportArgumentType]
AsyncCacheStore(users, MemoryStore[str, User]())  # E: Argument 2 to "AsyncCacheStore" has incompatible type "MemoryStore[str, User]"; expected "AsyncStore[str, User]"  [arg-type]
