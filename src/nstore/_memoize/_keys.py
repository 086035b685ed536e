"""The default store key of a memoized call: stable across processes and Python runs.

A key is ``name + "/" + digest``, where ``name`` is the function's ``module.qualname`` (or the
``name=`` given to :func:`~nstore.memoize`) and ``digest`` is 32 hex digits of a BLAKE2b hash of
the call's positional and keyword arguments, encoded by value as deterministic MessagePack
(``msgspec``; dicts and sets in sorted order). Nothing depends on ``id()``, ``hash()`` or the
interpreter run, so every process computes the same key for the same call.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import blake2b
from typing import Any, TypeVar

import msgspec

from nstore.errors import KeyEncodingError

__all__ = ["DIGEST_CHARS", "KeyOf", "custom_key", "default_key", "is_default_key", "text_of"]

K = TypeVar("K")

#: A key builder over a call's packed arguments: ``key_of(args, kwargs)``.
KeyOf = Callable[[tuple[Any, ...], dict[str, Any]], K]

#: Hex digits of the digest that ends every default key.
DIGEST_CHARS = 32

_encode = msgspec.msgpack.Encoder(order="deterministic").encode
_HEX = frozenset("0123456789abcdef")


def default_key(name: str) -> KeyOf[str]:
    """The key builder of the function called ``name``: ``build(args, kwargs) -> str``.

    It takes a call's arguments as the tuple and dict they arrive in, so the hit path does not
    unpack and pack them again.

    >>> build = default_key("app.area")
    >>> build((2, 3.0), {"unit": "m"})
    'app.area/42377c6c20c26ffb576592f8d4c19d1f'
    >>> build((2, 3), {"unit": "m"}) == build((2, 3.0), {"unit": "m"})   # an int is not a float
    False
    """
    prefix = name + "/"

    def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        try:
            data = _encode((args, kwargs))
        except (TypeError, OverflowError) as exc:
            raise KeyEncodingError(
                f"memoize cannot make a key for a call of {name}: {exc}. The default key encodes "
                "arguments by value (None, bool, int, float, str, bytes, tuples, lists, dicts, sets, "
                "dataclasses, msgspec Structs, enums, datetimes, UUIDs, Decimals); pass key= to "
                "build the key from other arguments."
            ) from None
        return prefix + blake2b(data, digest_size=DIGEST_CHARS // 2).hexdigest()

    return build


def text_of(key: object) -> str:
    """A store key as text that every process spells the same: a ``str`` as it is, anything else
    (a ``key=`` builder's tuple, bytes...) as the digest of its encoding.

    >>> text_of("reports/mon"), text_of(("ada", 2))
    ('reports/mon', '#04b5ed8aa39050995fe17addb98945ff')
    """
    if isinstance(key, str):
        return key
    try:
        data = _encode(key)
    except (TypeError, OverflowError) as exc:
        raise KeyEncodingError(
            f"memoize cannot name the lease of key {key!r:.80}: {exc}. Leases need store keys "
            "that are str, or values the default key encodes (tuples, bytes, numbers...)."
        ) from None
    return "#" + blake2b(data, digest_size=DIGEST_CHARS // 2).hexdigest()


def custom_key(key: Callable[..., K]) -> KeyOf[K]:
    """The ``key=`` builder of :func:`~nstore.memoize` over a call's packed arguments."""

    def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> K:
        return key(*args, **kwargs)

    return build


def is_default_key(name: str, key: object) -> bool:
    """True if ``key`` is a default key of the function called ``name`` (and of no other).

    >>> is_default_key("f", "f/" + "0" * 32), is_default_key("f", "f/g/" + "0" * 32)
    (True, False)
    """
    if not isinstance(key, str) or len(key) != len(name) + 1 + DIGEST_CHARS:
        return False
    return key.startswith(name + "/") and _HEX.issuperset(key[len(name) + 1 :])
