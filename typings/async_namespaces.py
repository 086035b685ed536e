"""Async namespaces: mypy and pyright infer each namespace's value type from its chain and check a
migration's transform against both chains, and reject the same mistakes as with Namespaces."""

from __future__ import annotations

import msgspec
from _models import Account, User
from nstore import AsyncMemoryStore, AsyncNamespaces, AsyncStore, MemoryStore
from nstore.codecs import Msgspec, Prefix, Pydantic, Utf8, Zstd
from nstore.namespaces import Manifest


class Member(msgspec.Struct):  # the next release's type
    user_id: int
    display: str


def to_member(user: User) -> Member:
    return Member(user.id, user.name)


db = AsyncNamespaces(AsyncMemoryStore[str, bytes]())
OLD = Msgspec(User) | Zstd()


async def intended_use() -> None:
    users = await db.namespace("users", OLD)
    await users.set("ada", User(1, "ada"))
    ada: User = await users.get("ada")
    notes: AsyncStore[str, str] = await db.namespace("notes", Utf8(), compatibility="full")
    text: str = await notes.get("today")
    manifest: Manifest = await db.manifest("users")
    every: dict[str, Manifest] = await db.namespaces()
    untyped = await db.open("users")
    anything: int = await untyped.get("ada")  # an untyped namespace holds Any
    members: AsyncStore[str, Member] = await db.migrate("users", Msgspec(Member), old_chain=OLD, transform=to_member)
    renamed = await db.migrate("users", Msgspec(Member), old_chain=OLD, transform=lambda u: Member(u.id, u.name))
    await db.set_compatibility("users", "none")
    await db.rollback("users")


# Mistakes both checkers catch: mypy's error trails each line, pyright's is on the comment above.
async def mistakes() -> None:
    users = await db.namespace("users", OLD)
    # P: Argument of type "Account" cannot be assigned to parameter "value" of type "User" in function "set"  [reportArgumentType]
    await users.set("bob", Account(id=2, owner="bob"))  # E: Argument 2 to "set" of "AsyncStore" has incompatible type "Account"; expected "User"  [arg-type]
    # P: Type "User" is not assignable to declared type "Account"  [reportAssignmentType]
    wrong: Account = await users.get("ada")  # E: Incompatible types in assignment (expression has type "User", variable has type "Account")  [assignment]
    # P: Operator "|" not supported for types "Msgspec[User]" and "Utf8"  [reportOperatorIssue]
    await db.namespace("bad", Msgspec(User) | Utf8())  # E: Unsupported operand types for | ("Msgspec[User]" and "Utf8")  [operator]
    # P: Argument of type "Prefix" cannot be assigned to parameter "chain" of type "Codec[T@namespace, bytes]" in function "namespace"  [reportArgumentType]
    await db.namespace("keys", Prefix("k/"))  # E: Argument 2 to "namespace" of "AsyncNamespaces" has incompatible type "Prefix"; expected "Codec[str, bytes]"  [arg-type]
    # P: Argument of type "(user: User) -> Member" cannot be assigned to parameter "transform" of type "((S@migrate) -> T@migrate) | None" in function "migrate"  [reportArgumentType]
    await db.migrate("users", Msgspec(Member), old_chain=Msgspec(Member), transform=to_member)  # E: Argument "transform" to "migrate" of "AsyncNamespaces" has incompatible type "Callable[[User], Member]"; expected "Callable[[Member], Member] | None"  [arg-type]
    # P: Argument of type "(user: User) -> Member" cannot be assigned to parameter "transform" of type "((S@migrate) -> T@migrate) | None" in function "migrate"  [reportArgumentType]
    await db.migrate("users", Pydantic(Account), old_chain=OLD, transform=to_member)  # E: Argument "transform" to "migrate" of "AsyncNamespaces" has incompatible type "Callable[[User], Member]"; expected "Callable[[User], Account] | None"  [arg-type]
    # P: Cannot access attribute "display" for class "User"  [reportAttributeAccessIssue]
    await db.migrate("users", Msgspec(Member), old_chain=OLD, transform=lambda u: u.display)  # E: "User" has no attribute "display"  [attr-defined]
    # P: Argument of type "Literal['both']" cannot be assigned to parameter "compatibility" of type "Mode | None" in function "namespace"  [reportArgumentType]
    await db.namespace("users", Msgspec(User), compatibility="both")  # E: Argument "compatibility" to "namespace" of "AsyncNamespaces" has incompatible type "Literal['both']"; expected "Literal['backward', 'forward', 'full', 'none'] | None"  [arg-type]
    # P: Type "CoroutineType[Any, Any, AsyncStore[str, User]]" is not assignable to declared type "AsyncStore[str, User]"  [reportAssignmentType]
    not_awaited: AsyncStore[str, User] = db.namespace("users", OLD)  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, AsyncStore[str, User]]", variable has type "AsyncStore[str, User]")  [assignment]
    # P: Type "CoroutineType[Any, Any, User]" is not assignable to declared type "User"  [reportAssignmentType]
    not_awaited_value: User = users.get("ada")  # E: Incompatible types in assignment (expression has type "Coroutine[Any, Any, User]", variable has type "User")  [assignment]


# P: Argument of type "MemoryStore[str, bytes]" cannot be assigned to parameter "store" of type "AsyncStore[str, bytes]" in function "__init__"  [reportArgumentType]
AsyncNamespaces(MemoryStore[str, bytes]())  # E: Argument 1 to "AsyncNamespaces" has incompatible type "MemoryStore[str, bytes]"; expected "AsyncStore[str, bytes]"  [arg-type]
