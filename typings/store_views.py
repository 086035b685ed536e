"""Typed stores: with_keys / with_values give a Store[K, V] that mypy checks at every use."""

from __future__ import annotations

from _models import Account, User
from nstore import MemoryStore, Store
from nstore.codecs import Hex, Msgspec, Pickle, Prefix, Pydantic, Utf8, Zstd


backend: Store[str, bytes] = MemoryStore[str, bytes]()

# Intended use: these type-check.
users: Store[str, User] = backend.with_keys(Prefix("users/")).with_values(Msgspec(User) | Zstd())
users["ada"] = User(1, "ada")
ada: User = users["ada"]
maybe: User | None = users.get("ada")
found: dict[str, User] = users.get_many(["ada", "bob"])
users.set_many({"bob": User(2, "bob")})
accounts: Store[str, Account] = backend.with_values(Pydantic(Account) | Zstd())
accounts["acme"] = Account(id=1, owner="ada")
by_bytes: Store[bytes, User] = backend.with_keys(Hex()).with_values(Msgspec(User))
by_bytes[b"\x01"] = User(1, "ada")
objects = backend.with_values(Pickle())
objects["anything"] = {"a": 1}
cache = MemoryStore[int, User]()
cache[1] = User(1, "ada")
for key in users.keys(prefix="a"):
    name: str = key

# Failing cases: each line names the exact errors, mypy's trailing it and pyright's on the comment above.
# P: Argument of type "Account" cannot be assigned to parameter "value" of type "User" in function "__setitem__"  [reportArgumentType]
users["ada"] = Account(id=1, owner="ada")  # E: Incompatible types in assignment (expression has type "Account", target has type "User")  [assignment]
# P: Argument of type "Literal[1]" cannot be assigned to parameter "key" of type "str" in function "__setitem__"  [reportArgumentType]
users[1] = User(1, "ada")  # E: Invalid index type "int" for "Store[str, User]"; expected type "str"  [index]
# P: Type "Store[str, User]" is not assignable to declared type "Store[str, Account]"  [reportAssignmentType]
wrong_store: Store[str, Account] = backend.with_values(Msgspec(User))  # E: Argument 1 to "Msgspec" has incompatible type "TypeForm[User]"; expected "TypeForm[Account]"  [arg-type]
user_values = Msgspec(User) | Zstd()
# P: Type "Store[str, User]" is not assignable to declared type "Store[str, Account]"  [reportAssignmentType]
wrong_view: Store[str, Account] = backend.with_values(user_values)  # E: Argument 1 to "with_values" of "Store" has incompatible type "Codec[User, bytes]"; expected "Codec[Account, bytes]"  [arg-type]
# P: Argument of type "Msgspec[User]" cannot be assigned to parameter "codec" of type "Codec[V2@with_values, str]" in function "with_values"  [reportArgumentType]
backend.with_values(Utf8() | Zstd()).with_values(Msgspec(User))  # E: Argument 1 to "with_values" of "Store" has incompatible type "Msgspec[User]"; expected "Codec[User, str]"  [arg-type]
# P: Argument of type "Utf8" cannot be assigned to parameter "codec" of type "Codec[K2@with_keys, str]" in function "with_keys"  [reportArgumentType]
backend.with_keys(Utf8())  # E: Argument 1 to "with_keys" of "Store" has incompatible type "Utf8"; expected "Codec[str, str]"  [arg-type]
# P: Type "User" is not assignable to declared type "Account"  [reportAssignmentType]
account_of_user: Account = users["ada"]  # E: Incompatible types in assignment (expression has type "User", variable has type "Account")  [assignment]
# P: Argument of type "Literal['text']" cannot be assigned to parameter "key" of type "bytes" in function "__setitem__"  [reportArgumentType]
by_bytes["text"] = User(1, "ada")  # E: Invalid index type "str" for "Store[bytes, User]"; expected type "bytes"  [index]
# P: Argument of type "Literal['1']" cannot be assigned to parameter "key" of type "int" in function "__getitem__"  [reportArgumentType]
cache["1"]  # E: Invalid index type "str" for "MemoryStore[int, User]"; expected type "int"  [index]
