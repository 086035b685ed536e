"""Codec chains: mypy infers the types of a pipeline and rejects chains whose types do not meet."""

from __future__ import annotations

from typing import Any

from _models import Account, User
from nstore.codecs import Base64, Codec, Hex, Msgspec, Pickle, Prefix, Pydantic, Utf8, Zlib, Zstd


# Intended use: these type-check.
pipeline: Codec[User, bytes] = Msgspec(User) | Zstd()
json_pipeline: Codec[User, bytes] = Msgspec(User, format="json") | Zlib(9) | Zstd(3)
generic: Codec[list[User], bytes] = Msgspec(list[User]) | Zstd()
accounts: Codec[Account, bytes] = Pydantic(Account) | Zstd()
account_list: Codec[list[Account], bytes] = Pydantic(list[Account])
keys: Codec[str, str] = Prefix("users/") | Utf8() | Base64()
hex_keys: Codec[bytes, str] = Hex()
anything: Codec[Any, bytes] = Pickle()
typed_pickle: Codec[User, bytes] = Pickle(User, key=b"0123456789abcdef") | Zlib()
user: User = pipeline.decode(pipeline.encode(User(1, "ada")))
data: bytes = pipeline.encode(user)
account: Account = accounts.decode(b"{}")
untyped_value: int = Pickle().decode(b"")  # Pickle() decodes to Any
Pickle().encode(object())

# Failing cases: each line names the exact errors, mypy's trailing it and pyright's on the comment above.
# Inline, mypy infers Msgspec's type from the chain's context and blames the argument (mypy cannot do
# better: it solves T from the expected Codec[bytes, C] first); pyright names the operator:
# P: Operator "|" not supported for types "Zstd" and "Msgspec[User]"  [reportOperatorIssue]
backwards = Zstd() | Msgspec(User)  # E: Argument 1 to "Msgspec" has incompatible type "TypeForm[User]"; expected "TypeForm[bytes]"  [arg-type]
user_codec = Msgspec(User)
# P: Operator "|" not supported for types "Zstd" and "Msgspec[User]"  [reportOperatorIssue]
prebuilt_backwards = Zstd() | user_codec  # E: Unsupported operand types for | ("Zstd" and "Msgspec[User]")  [operator]
# P: Operator "|" not supported for types "Msgspec[User]" and "Msgspec[User]"  [reportOperatorIssue]
double = user_codec | user_codec  # E: Unsupported operand types for | ("Msgspec[User]" and "Msgspec[User]")  [operator]
# P: Operator "|" not supported for types "Prefix" and "Zstd"  [reportOperatorIssue]
text_into_zstd = Prefix("a") | Zstd()  # E: Unsupported operand types for | ("Prefix" and "Zstd")  [operator]
# P: Type "Codec[User, bytes]" is not assignable to declared type "Codec[User, str]"  [reportAssignmentType]
wrong_target: Codec[User, str] = Msgspec(User) | Zstd()  # E: Unsupported operand types for | ("Msgspec[User]" and "Zstd")  [operator]
# P: Type "Codec[Account, bytes]" is not assignable to declared type "Codec[User, bytes]"  [reportAssignmentType]
wrong_model: Codec[User, bytes] = Pydantic(Account) | Zstd()  # E: Incompatible types in assignment (expression has type "Codec[Account, bytes]", variable has type "Codec[User, bytes]")  [assignment]
# P: Argument of type "Account" cannot be assigned to parameter "value" of type "User" in function "encode"  [reportArgumentType]
pipeline.encode(Account(id=1, owner="x"))  # E: Argument 1 to "encode" of "Codec" has incompatible type "Account"; expected "User"  [arg-type]
# P: Type "User" is not assignable to declared type "Account"  [reportAssignmentType]
bad_decode: Account = pipeline.decode(b"")  # E: Incompatible types in assignment (expression has type "User", variable has type "Account")  [assignment]
# P: Type "Pickle[User]" is not assignable to declared type "Codec[Account, bytes]"  [reportAssignmentType]
typed_wrong: Codec[Account, bytes] = Pickle(User)  # E: Argument 1 to "Pickle" has incompatible type "type[User]"; expected "type[Account]"  [arg-type]
# P: Type "User" is not assignable to declared type "int"  [reportAssignmentType]
typed_int: int = Pickle(User).decode(b"")  # E: Incompatible types in assignment (expression has type "User", variable has type "int")  [assignment]
# P: Cannot access attribute "owner" for class "User"  [reportAttributeAccessIssue]
typed_pickle.decode(b"").owner  # E: "User" has no attribute "owner"  [attr-defined]
# P: Argument of type "Account" cannot be assigned to parameter "value" of type "User" in function "encode"  [reportArgumentType]
Pickle(User).encode(Account(id=1, owner="x"))  # E: Argument 1 to "encode" of "Pickle" has incompatible type "Account"; expected "User"  [arg-type]
# P: Argument of type "Literal['text']" cannot be assigned to parameter "value" of type "bytes" in function "encode"  [reportArgumentType]
Zstd().encode("text")  # E: Argument 1 to "encode" of "Zstd" has incompatible type "str"; expected "bytes"  [arg-type]
# P: Argument of type "Literal['high']" cannot be assigned to parameter "level" of type "int" in function "__init__"  [reportArgumentType]
Zstd(level="high")  # E: Argument "level" to "Zstd" has incompatible type "str"; expected "int"  [arg-type]
# P: Argument of type "Literal['xml']" cannot be assigned to parameter "format" of type "Literal['msgpack', 'json']" in function "__init__"  [reportArgumentType]
Msgspec(User, format="xml")  # E: Argument "format" to "Msgspec" has incompatible type "Literal['xml']"; expected "Literal['msgpack', 'json']"  [arg-type]
