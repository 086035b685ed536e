"""Migrations with a transform: mypy checks the transform against the old chain (its argument)
and the new chain (its result)."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel

from nstore import MemoryStore, Store
from nstore.codecs import Msgspec, Pydantic, Zstd
from nstore.namespaces import Namespaces


class User(msgspec.Struct):
    name: str
    age: int


class Person(msgspec.Struct):
    full_name: str
    age: int


class Account(BaseModel):
    id: int


def to_person(user: User) -> Person:
    return Person(user.name, user.age)


def to_account(person: Person) -> Account:
    return Account(id=person.age)


db = Namespaces(MemoryStore[str, bytes]())
OLD = Msgspec(User) | Zstd()

# Intended use: the transform takes the old chain's values and returns the new chain's.
people: Store[str, Person] = db.migrate("users", Msgspec(Person), old_chain=OLD, transform=to_person)
renamed = db.migrate("users", Msgspec(Person), old_chain=OLD, transform=lambda u: Person(u.name, u.age))
accounts: Store[str, Account] = db.migrate("users", Pydantic(Account), old_chain=Msgspec(Person), transform=to_account)
db.namespace("users", Msgspec(User), compatibility="full")

# Mistakes mypy catches.
# P: Argument of type "(user: User) -> Person" cannot be assigned to parameter "transform" of type "((S@migrate) -> T@migrate) | None" in function "migrate"  [reportArgumentType]
db.migrate("users", Msgspec(Person), old_chain=Msgspec(Person), transform=to_person)  # E: Argument "transform" to "migrate" of "Namespaces" has incompatible type "Callable[[User], Person]"; expected "Callable[[Person], Person] | None"  [arg-type]
# P: Argument of type "(user: User) -> Person" cannot be assigned to parameter "transform" of type "((S@migrate) -> T@migrate) | None" in function "migrate"  [reportArgumentType]
db.migrate("users", Pydantic(Account), old_chain=OLD, transform=to_person)  # E: Argument "transform" to "migrate" of "Namespaces" has incompatible type "Callable[[User], Person]"; expected "Callable[[User], Account] | None"  [arg-type]
# P: Cannot access attribute "full_name" for class "User"  [reportAttributeAccessIssue]
db.migrate("users", Msgspec(Person), old_chain=OLD, transform=lambda u: u.full_name)  # E: "User" has no attribute "full_name"  [attr-defined]
# P: Type "Store[str, Person]" is not assignable to declared type "Store[str, User]"  [reportAssignmentType]
wrong: Store[str, User] = db.migrate("users", Msgspec(Person), old_chain=OLD, transform=to_person)  # E: Argument 1 to "Msgspec" has incompatible type "TypeForm[Person]"; expected "TypeForm[User]"  [arg-type]  # E: Argument "transform" to "migrate" of "Namespaces" has incompatible type "Callable[[User], Person]"; expected "Callable[[User], User] | None"  [arg-type]
# P: Argument of type "Literal['both']" cannot be assigned to parameter "compatibility" of type "Mode | None" in function "namespace"  [reportArgumentType]
db.namespace("users", Msgspec(User), compatibility="both")  # E: Argument "compatibility" to "namespace" of "Namespaces" has incompatible type "Literal['both']"; expected "Literal['backward', 'forward', 'full', 'none'] | None"  [arg-type]
