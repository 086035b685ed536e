"""Namespaces and wrappers: mypy infers each namespace's value type from its chain, and every
wrapper keeps the key and value types of the store it wraps."""

from __future__ import annotations

from _models import Account, User
from nstore import MemoryStore, Store
from nstore.codecs import Msgspec, Pickle, Prefix, Pydantic, Utf8, Zlib, Zstd
from nstore.namespaces import Namespaces
from nstore.wrappers import CacheStats, CacheStore, LoggingStore, ReadOnlyStore


class Session:
    token: str = ""


db = Namespaces(MemoryStore[str, bytes]())

# Intended use: these type-check, and each namespace's value type comes from its chain.
users = db.namespace("users", Msgspec(User) | Zstd())
users["ada"] = User(1, "ada")
ada: User = users["ada"]
accounts = db.namespace("accounts", Pydantic(Account) | Zlib())
owner: str = accounts["acme"].owner
sessions = db.namespace("sessions", Pickle(Session))
token: str = sessions["s1"].token
notes = db.namespace("notes", Utf8())
text: str = notes["today"]
migrated: Store[str, User] = db.migrate("users", Msgspec(User, format="json") | Zlib())
untyped = db.open("users")
anything: int = untyped["ada"]  # an untyped namespace holds Any

logged: Store[str, User] = LoggingStore(users)
read_only: Store[str, User] = ReadOnlyStore(users)
cached: Store[int, list[str]] = CacheStore(MemoryStore[int, list[str]](), MemoryStore[int, list[str]](maxsize=10))
stats: CacheStats = CacheStore(MemoryStore[str, bytes](), MemoryStore[str, bytes]()).stats
hits: int | None = stats.hits  # None unless count_hits=True
lru = MemoryStore[str, bytes](maxsize=100, maxbytes=1 << 20, ttl=60.0)

# Mistakes both checkers catch: mypy's error trails each line, pyright's is on the comment above.
# P: Argument of type "Account" cannot be assigned to parameter "value" of type "User" in function "__setitem__"  [reportArgumentType]
users["bob"] = Account(id=2, owner="bob")  # E: Incompatible types in assignment (expression has type "Account", target has type "User")  [assignment]
# P: Type "User" is not assignable to declared type "Account"  [reportAssignmentType]
wrong: Account = users["ada"]  # E: Incompatible types in assignment (expression has type "User", variable has type "Account")  [assignment]
# P: Argument of type "Literal[b"bytes"]" cannot be assigned to parameter "value" of type "str" in function "__setitem__"  [reportArgumentType]
notes["n"] = b"bytes"  # E: Incompatible types in assignment (expression has type "bytes", target has type "str")  [assignment]
# P: Operator "|" not supported for types "Msgspec[User]" and "Utf8"  [reportOperatorIssue]
db.namespace("bad", Msgspec(User) | Utf8())  # E: Unsupported operand types for | ("Msgspec[User]" and "Utf8")  [operator]
# P: Argument of type "Prefix" cannot be assigned to parameter "chain" of type "Codec[T@namespace, bytes]" in function "namespace"  [reportArgumentType]
db.namespace("keys", Prefix("k/"))  # E: Argument 2 to "namespace" of "Namespaces" has incompatible type "Prefix"; expected "Codec[str, bytes]"  [arg-type]
# P: Argument of type "Literal[1]" cannot be assigned to parameter "key" of type "str" in function "__setitem__"  [reportArgumentType]
LoggingStore(users)[1] = User(1, "a")  # E: Invalid index type "int" for "LoggingStore[str, User]"; expected type "str"  [index]
# P: Argument of type "Literal[3]" cannot be assigned to parameter "value" of type "User" in function "__setitem__"  [reportArgumentType]
ReadOnlyStore(users)["a"] = 3  # E: Incompatible types in assignment (expression has type "int", target has type "User")  [assignment]
# Two stores of different value types: mypy solves V from both arguments at once and can only say
# it found none (no typing construct makes it infer V from the first store alone); pyright names
# the cache argument and, below this line of its report, the two value types.
# P: Argument of type "MemoryStore[str, Account]" cannot be assigned to parameter "cache" of type "Store[K@CacheStore, V@CacheStore]" in function "__init__"  [reportArgumentType]
CacheStore(users, MemoryStore[str, Account]())  # E: Cannot infer value of type parameter "V" of "CacheStore"  [misc]
# P: Type "int | None" is not assignable to declared type "int"  [reportAssignmentType]
counted: int = stats.hits  # E: Incompatible types in assignment (expression has type "int | None", variable has type "int")  [assignment]
# P: Argument of type "Literal['10']" cannot be assigned to parameter "maxsize" of type "int | None" in function "__init__"  [reportArgumentType]
# P: Argument of type "Literal['10']" cannot be assigned to parameter "maxsize" of type "int | None" in function "__new__"  [reportArgumentType]
MemoryStore(maxsize="10")  # E: Argument "maxsize" to "MemoryStore" has incompatible type "str"; expected "int | None"  [arg-type]
