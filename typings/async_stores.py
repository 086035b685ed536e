"""Async stores: with_keys / with_values give an AsyncStore[K, V] that mypy checks as the sync one."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel

from nstore import (
    AsyncAdapter,
    AsyncHTTPStore,
    AsyncMemoryStore,
    AsyncRedisStore,
    AsyncStore,
    SQLiteStore,
    aopen,
)
from nstore.codecs import Hex, Msgspec, Prefix, Pydantic, Utf8, Zstd


class User(msgspec.Struct):
    id: int
    name: str


class Account(BaseModel):
    id: int
    owner: str


backend: AsyncStore[str, bytes] = AsyncMemoryStore[str, bytes]()
remote: AsyncStore[str, bytes] = AsyncRedisStore("redis://redis-1.example:6379/0")
adapted: AsyncStore[str, bytes] = AsyncAdapter(SQLiteStore("app.db"))
opened: AsyncStore[str, bytes] = aopen("memory://")
served: AsyncStore[str, bytes] = AsyncHTTPStore("https://store.example", token="t" * 32)


async def intended_use() -> None:
    users: AsyncStore[str, User] = backend.with_keys(Prefix("users/")).with_values(Msgspec(User) | Zstd())
    await users.set("ada", User(1, "ada"))
    ada: User = await users.get("ada")
    present: bool = await users.contains("ada")
    found: dict[str, User] = await users.get_many(["ada", "bob"])
    await users.set_many({"bob": User(2, "bob")})
    await users.delete_many(["bob"])
    stored: bool = await users.set_if_absent("cy", User(3, "cy"))
    swapped: bool = await users.compare_and_set("cy", User(3, "cy"), User(3, "cyd"))
    accounts: AsyncStore[str, Account] = remote.with_values(Pydantic(Account) | Zstd())
    await accounts.set("acme", Account(id=1, owner="ada"))
    by_bytes: AsyncStore[bytes, User] = adapted.with_keys(Hex()).with_values(Msgspec(User))
    await by_bytes.set(b"\x01", User(1, "ada"))
    async for key in users.iter_keys("a"):
        name: str = key
    async with opened as store:
        value: bytes = await store.get("k")
    await backend.aclose()


async def mistakes() -> None:
    users = backend.with_keys(Prefix("users/")).with_values(Msgspec(User) | Zstd())
    # P: Argument of type "Account" cannot be assigned to parameter "value" of type "User" in function "set"  [reportArgumentType]
    await users.set("ada", Account(id=1, owner="ada"))  # E: Argument 2 to "set" of "AsyncStore" has incompatible type "Account"; expected "User"  [arg-type]
    # P: Argument of type "Literal[1]" cannot be assigned to parameter "key" of type "str" in function "get"  [reportArgumentType]
    await users.get(1)  # E: Argument 1 to "get" of "AsyncStore" has incompatible type "int"; expected "str"  [arg-type]
    # P: Type "AsyncStore[str, User]" is not assignable to declared type "AsyncStore[str, Account]"  [reportAssignmentType]
    wrong_store: AsyncStore[str, Account] = backend.with_values(Msgspec(User))  # E: Argument 1 to "Msgspec" has incompatible type "TypeForm[User]"; expected "TypeForm[Account]"  [arg-type]
    user_values = Msgspec(User) | Zstd()
    # P: Type "AsyncStore[str, User]" is not assignable to declared type "AsyncStore[str, Account]"  [reportAssignmentType]
    wrong_view: AsyncStore[str, Account] = backend.with_values(user_values)  # E: Argument 1 to "with_values" of "AsyncStore" has incompatible type "Codec[User, bytes]"; expected "Codec[Account, bytes]"  [arg-type]
    # P: Argument of type "Msgspec[User]" cannot be assigned to parameter "codec" of type "Codec[V2@with_values, str]" in function "with_values"  [reportArgumentType]
    backend.with_values(Utf8() | Zstd()).with_values(Msgspec(User))  # E: Argument 1 to "with_values" of "AsyncStore" has incompatible type "Msgspec[User]"; expected "Codec[User, str]"  [arg-type]
    # P: Argument of type "Utf8" cannot be assigned to parameter "codec" of type "Codec[K2@with_keys, str]" in function "with_keys"  [reportArgumentType]
    backend.with_keys(Utf8())  # E: Argument 1 to "with_keys" of "AsyncStore" has incompatible type "Utf8"; expected "Codec[str, str]"  [arg-type]
    # P: Type "User" is not assignable to declared type "Account"  [reportAssignmentType]
    account_of_user: Account = await users.get("ada")  # E: Incompatible types in assignment (expression has type "User", variable has type "Account")  [assignment]
    # P: Type "CoroutineType[Any, Any, User]" is not assignable to declared type "User"  [reportAssignmentType]
    not_awaited: User = users.get("ada")  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, User]", variable has type "User")  [assignment]
    # P: "AsyncIterator[str]" is not iterable  [reportGeneralTypeIssues]
    for key in users.iter_keys():  # E: "AsyncIterator[str]" has no attribute "__iter__"; maybe "__aiter__"? (not iterable)  [attr-defined]
        pass
    # P: Object of type "AsyncStore[str, bytes]" cannot be used with "with" because it does not correctly implement __enter__  [reportGeneralTypeIssues]
    # P: Object of type "AsyncStore[str, bytes]" cannot be used with "with" because it does not correctly implement __exit__  [reportGeneralTypeIssues]
    with backend:  # E: "AsyncStore[str, bytes]" has no attribute "__enter__"; maybe "__aenter__"?  [attr-defined] # E: "AsyncStore[str, bytes]" has no attribute "__exit__"; maybe "__aexit__"?  [attr-defined]
        pass
