"""Codec.wrap keeps the wrapped object's types, and View(...) checks that its codecs fit its store."""

from __future__ import annotations

import json
from typing import assert_type

from nstore import MemoryStore
from nstore.codecs import Codec, Hex, Identity, Prefix, Utf8
from nstore.view import View


class JsonText:
    @staticmethod
    def encode(value: dict[str, int], /) -> str:
        return json.dumps(value)

    @staticmethod
    def decode(data: str, /) -> dict[str, int]:
        loaded: dict[str, int] = json.loads(data)
        return loaded


class Shout:
    def encode(self, value: str, /) -> bytes:
        return value.upper().encode()

    def decode(self, data: bytes, /) -> str:
        return data.decode()


backend = MemoryStore[str, bytes]()

# Intended use: these type-check, with the types stated.
assert_type(Codec.wrap(JsonText), Codec[dict[str, int], str])
assert_type(Codec.wrap(Shout()), Codec[str, bytes])
assert_type(Codec.wrap(JsonText) | Codec.wrap(Shout()), Codec[dict[str, int], bytes])
assert_type(View(backend, Hex(), Identity[bytes]()), View[bytes, bytes])
assert_type(View(backend, Prefix("a/"), Utf8()), View[str, str])

# Mistakes: a view whose codecs do not meet the store's key or value type (mypy cannot name the
# codec: it reports the store-side type it cannot solve; pyright names the argument).
# P: Argument of type "Identity[bytes]" cannot be assigned to parameter "keys" of type "Codec[K@View, KB@__init__]" in function "__init__"  [reportArgumentType]
View(backend, Identity[bytes](), Utf8())  # E: Cannot infer value of type parameter "KB" of "View"  [misc]
# P: Argument of type "Prefix" cannot be assigned to parameter "values" of type "Codec[V@View, VB@__init__]" in function "__init__"  [reportArgumentType]
View(backend, Hex(), Prefix("v/"))  # E: Cannot infer value of type parameter "VB" of "View"  [misc]
# Shout's methods need an instance: the class itself does not wrap.
# P: Argument of type "type[Shout]" cannot be assigned to parameter "obj" of type "_EncodeDecode[WA@wrap, WB@wrap]" in function "wrap"  [reportArgumentType]
shout_class: Codec[str, bytes] = Codec.wrap(Shout)  # E: Argument 1 to "wrap" of "Codec" has incompatible type "type[Shout]"; expected "_EncodeDecode[str, bytes]"  [arg-type]
