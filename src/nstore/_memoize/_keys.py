"""The default store key of a memoized call: stable across processes and Python runs.

A key is ``name + "/" + digest``, where ``name`` is the function's ``module.qualname`` (or the
``name=`` given to :func:`~nstore.memoize`) and ``digest`` is 32 hex digits of a BLAKE2b hash of
the call's positional and keyword arguments, encoded by value as deterministic MessagePack
(``msgspec``; dicts and sets in sorted order). Nothing depends on ``id()``, ``hash()`` or the
interpreter run, so every process computes the same key for the same call.

msgspec writes a ``Decimal``, a ``date``, a naive ``datetime``, a ``time`` and a ``timedelta`` as
their strings, and refuses dicts whose keys are not all ``str`` (and sets it cannot sort). A call
holding any of these is encoded another way (:func:`_canonical`): each such value becomes a
MessagePack extension of its own type code around its string, a dict with other keys an extension
around its items' encodings sorted bytewise, and every other dict and set is sorted by the same
rules. Calls without them keep the plain encoding, so keys stored by earlier runs are still found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from hashlib import blake2b
from operator import itemgetter
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from nstore.errors import KeyEncodingError

__all__ = ["DIGEST_CHARS", "KeyOf", "custom_key", "default_key", "is_default_key", "text_of"]

K = TypeVar("K")

#: A key builder over a call's packed arguments: ``key_of(args, kwargs)``.
KeyOf = Callable[[tuple[Any, ...], dict[str, Any]], K]

#: Hex digits of the digest that ends every default key.
DIGEST_CHARS = 32

_encode = msgspec.msgpack.Encoder(order="deterministic").encode
_encode_in_order = msgspec.msgpack.Encoder().encode  # for _canonical's trees, already in order
_HEX = frozenset("0123456789abcdef")
_FLAT = frozenset({str, int, float, bool, type(None), bytes})

#: The extension type codes of the values msgspec writes as strings (a datetime before a date).
_STRING_TYPES: tuple[tuple[type, int], ...] = (
    (Decimal, 1),
    (datetime, 3),
    (date, 2),
    (time, 4),
    (timedelta, 5),
)
_STRINGLIKE = tuple(kind for kind, _ in _STRING_TYPES)
_MAP = 6  # the extension type code of a dict whose keys are not all str
_AS_THEY_ARE = (UUID, bytearray, memoryview, msgspec.Raw, msgspec.msgpack.Ext)
_BUILTIN = (bytes, bytearray, memoryview, datetime, date, time, timedelta, UUID, Decimal)
_CHECKS: dict[type, Callable[[Any], bool]] = {}  # how _retold looks into each type met so far


def _retold_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """:func:`_retold` of a call, its most common arguments checked inline."""
    for item in args:
        if type(item) not in _FLAT and _retold(item):
            return True
    return bool(kwargs) and _items_retold(kwargs.values())


def _retold(value: Any) -> bool:
    """True if ``value`` holds what the plain encoding writes as a string or refuses to order."""
    kind = type(value)
    if kind in _FLAT:
        return False
    check = _CHECKS.get(kind)
    if check is None:
        check = _check_of(kind)
        if len(_CHECKS) < 4096:  # classes made on the fly are not kept forever
            _CHECKS[kind] = check
    return check(value)


def _items_retold(value: Any) -> bool:
    for item in value:  # noqa: SIM110  # a loop: no generator made on the hit path
        if type(item) not in _FLAT and _retold(item):
            return True
    return False


def _dict_retold(value: dict[Any, Any]) -> bool:
    for key, item in value.items():
        if not isinstance(key, str) or (type(item) not in _FLAT and _retold(item)):
            return True
    return False


def _set_retold(value: set[Any] | frozenset[Any]) -> bool:
    if _items_retold(value):
        return True
    try:
        sorted(value)
    except TypeError:
        return True  # the plain encoding cannot order it
    return False


def _fields_retold(names: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: any(_retold(getattr(value, name, None)) for name in names)


def _check_of(kind: type) -> Callable[[Any], bool]:
    """How :func:`_retold` looks into a value of type ``kind``."""
    if issubclass(kind, (tuple, list)):
        return _items_retold
    if issubclass(kind, dict):
        return _dict_retold
    if issubclass(kind, (set, frozenset)):
        return _set_retold
    if issubclass(kind, datetime):
        return lambda value: value.tzinfo is None  # an aware one is a timestamp
    if issubclass(kind, _STRINGLIKE):
        return lambda value: True
    if issubclass(kind, Enum):
        return lambda value: _retold(value.value)
    if issubclass(kind, msgspec.Struct):
        return lambda value: any(map(_retold, msgspec.structs.astuple(value)))
    if dataclasses.is_dataclass(kind):
        return _fields_retold(tuple(field.name for field in dataclasses.fields(kind)))
    fields = getattr(kind, "__attrs_attrs__", None)  # an attrs class
    if fields is not None:
        return _fields_retold(tuple(field.name for field in fields))
    return lambda value: False


def _canonical(value: Any) -> Any:
    """``value`` as a tree whose plain encoding (dicts in insertion order) is deterministic."""
    if type(value) in _FLAT or isinstance(value, _AS_THEY_ARE):
        return value
    if isinstance(value, (tuple, list)):
        return tuple(map(_canonical, value))
    if isinstance(value, dict):
        items = [(_key(key), _canonical(item)) for key, item in value.items()]
        if all(type(key) is str for key, _ in items):
            return dict(sorted(items, key=itemgetter(0)))
        pairs = sorted(_encode_in_order(key) + _encode_in_order(item) for key, item in items)
        return msgspec.msgpack.Ext(_MAP, b"".join(pairs))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(map(_canonical, value), key=_encode_in_order))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value  # a timestamp
    if isinstance(value, _STRINGLIKE):
        code = next(code for kind, code in _STRING_TYPES if isinstance(value, kind))
        return msgspec.msgpack.Ext(code, msgspec.to_builtins(value).encode())
    if isinstance(value, Enum):
        return _canonical(value.value)
    return _canonical(msgspec.to_builtins(value, builtin_types=_BUILTIN, order="deterministic"))


def _key(key: Any) -> Any:
    """A dict key as :func:`_canonical` writes it: a ``str`` (or str enum) as the plain ``str``."""
    if isinstance(key, str) and not isinstance(key, Enum):
        return str.__str__(key)
    return _canonical(key)


def _encoded(value: Any) -> bytes:
    return _encode_in_order(_canonical(value)) if _retold(value) else _encode(value)


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
            call = (args, kwargs)
            data = _encode_in_order(_canonical(call)) if _retold_call(args, kwargs) else _encode(call)
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
        data = _encoded(key)
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
