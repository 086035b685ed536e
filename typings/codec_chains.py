"""Codec chains: mypy infers the types of a pipeline and rejects chains whose types do not meet."""

from __future__ import annotations

from typing import Any

import msgspec
from pydantic import BaseModel

from nstore.codecs import Base64, Codec, Hex, Msgspec, Pickle, Prefix, Pydantic, Utf8, Zlib, Zstd


class User(msgspec.Struct):
    id: int
    name: str


class Account(BaseModel):
    id: int
    owner: str


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

# Failing cases: each line names the exact error.
# Inline, mypy infers Msgspec's type from the chain's context, so the message names the argument:
backwards = Zstd() | Msgspec(User)  # E: Argument 1 to "Msgspec" has incompatible type "type[User]"; expected "type[bytes]"  [arg-type]
user_codec = Msgspec(User)
prebuilt_backwards = Zstd() | user_codec  # E: Unsupported operand types for | ("Zstd" and "Msgspec[User]")  [operator]
double = user_codec | user_codec  # E: Unsupported operand types for | ("Msgspec[User]" and "Msgspec[User]")  [operator]
text_into_zstd = Prefix("a") | Zstd()  # E: Unsupported operand types for | ("Prefix" and "Zstd")  [operator]
wrong_target: Codec[User, str] = Msgspec(User) | Zstd()  # E: Unsupported operand types for | ("Msgspec[User]" and "Zstd")  [operator]
wrong_model: Codec[User, bytes] = Pydantic(Account) | Zstd()  # E: Incompatible types in assignment (expression has type "Codec[Account, bytes]", variable has type "Codec[User, bytes]")  [assignment]
pipeline.encode(Account(id=1, owner="x"))  # E: Argument 1 to "encode" of "Codec" has incompatible type "Account"; expected "User"  [arg-type]
bad_decode: Account = pipeline.decode(b"")  # E: Incompatible types in assignment (expression has type "User", variable has type "Account")  [assignment]
typed_wrong: Codec[Account, bytes] = Pickle(User)  # E: Argument 1 to "Pickle" has incompatible type "type[User]"; expected "type[Account]"  [arg-type]
typed_int: int = Pickle(User).decode(b"")  # E: Incompatible types in assignment (expression has type "User", variable has type "int")  [assignment]
typed_pickle.decode(b"").owner  # E: "User" has no attribute "owner"  [attr-defined]
Pickle(User).encode(Account(id=1, owner="x"))  # E: Argument 1 to "encode" of "Pickle" has incompatible type "Account"; expected "User"  [arg-type]
Zstd().encode("text")  # E: Argument 1 to "encode" of "Zstd" has incompatible type "str"; expected "bytes"  [arg-type]
Zstd(level="high")  # E: Argument "level" to "Zstd" has incompatible type "str"; expected "int"  [arg-type]
Msgspec(User, format="xml")  # E: Argument "format" to "Msgspec" has incompatible type "Literal['xml']"; expected "Literal['msgpack', 'json']"  [arg-type]
