"""Listing from a cursor: keys_page keeps the view's key type; the cursor is an opaque str."""

from __future__ import annotations

from nstore import KeyPage, MemoryStore, Store
from nstore.codecs import Hex

backend: Store[str, bytes] = MemoryStore[str, bytes]()
by_bytes: Store[bytes, bytes] = backend.with_keys(Hex())

# Intended use: these type-check.
page: KeyPage[bytes] = by_bytes.keys_page(b"\x01", limit=100)
raw: list[bytes] = page.keys
following = by_bytes.keys_page(cursor=page.cursor)
token: str | None = following.cursor

# Misuse: mypy reports these.
# P: Type "KeyPage[bytes]" is not assignable to declared type "KeyPage[str]"  [reportAssignmentType]
wrong: KeyPage[str] = by_bytes.keys_page()  # E: Incompatible types in assignment (expression has type "KeyPage[bytes]", variable has type "KeyPage[str]")  [assignment]
# P: Argument of type "Literal[3]" cannot be assigned to parameter "cursor" of type "str | None" in function "keys_page"  [reportArgumentType]
by_bytes.keys_page(cursor=3)  # E: Argument "cursor" to "keys_page" of "Store" has incompatible type "int"; expected "str | None"  [arg-type]
