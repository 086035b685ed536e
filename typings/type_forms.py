"""Msgspec(T) and Pydantic(T) take a type form (PEP 747): unions, Optional, Annotated and
generics infer the codec's value type in both checkers, as plain classes do."""

from __future__ import annotations

from typing import Annotated, Any, Optional, assert_type

import msgspec
from pydantic import Field

from _models import Account, User
from nstore.codecs import Codec, Msgspec, Pydantic, Zstd


# Intended use: these type-check, and each codec's value type is the type form's.
assert_type(Msgspec(User), Msgspec[User])
assert_type(Msgspec(User | None), Msgspec[User | None])
assert_type(Msgspec(Optional[User]), Msgspec[User | None])  # noqa: UP045  (the spelling users write)
assert_type(Msgspec(list[User]), Msgspec[list[User]])
assert_type(Msgspec(dict[str, int | None]), Msgspec[dict[str, int | None]])
assert_type(Msgspec(Annotated[int, msgspec.Meta(ge=0)]), Msgspec[int])
assert_type(Msgspec(int | str, format="json"), Msgspec[int | str])
assert_type(Msgspec(Any), Msgspec[Any])
assert_type(Pydantic(Account | None), Pydantic[Account | None])
assert_type(Pydantic(Annotated[int, Field(ge=0)]), Pydantic[int])
assert_type(Pydantic(list[Account]), Pydantic[list[Account]])
maybe_users: Codec[User | None, bytes] = Msgspec(User | None) | Zstd()
maybe_users.encode(None)
counts = Msgspec(dict[str, int])
assert_type(counts.decode(b""), dict[str, int])

# Mistakes: a value where a type is expected, and a type form that does not fit.
# P: Argument of type "User" cannot be assigned to parameter "type" of type "TypeForm[T@Msgspec]" in function "__init__"  [reportArgumentType]
Msgspec(User(1, "ada"))  # E: Argument 1 to "Msgspec" has incompatible type "User"; expected "TypeForm[Never]"  [arg-type]
# P: Type "Msgspec[int | None]" is not assignable to declared type "Codec[int, bytes]"  [reportAssignmentType]
not_optional: Codec[int, bytes] = Msgspec(int | None)  # E: Argument 1 to "Msgspec" has incompatible type "TypeForm[int | None]"; expected "TypeForm[int]"  [arg-type]
# P: Argument of type "None" cannot be assigned to parameter "value" of type "User" in function "encode"  [reportArgumentType]
Msgspec(User).encode(None)  # E: Argument 1 to "encode" of "Msgspec" has incompatible type "None"; expected "User"  [arg-type]
