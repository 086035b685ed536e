"""Msgspec: typed values as MessagePack or JSON, checked on encode and validated on decode.

Encoding refuses a value that msgspec would not read back as a ``T``, so nothing is written that
fails on read. Three checks, chosen once per codec from the type:

- by class, when the class of the value decides it: ``T`` a class (a Struct, a dataclass, a
  builtin scalar) or a union of them (``User | None``). The value's class must be one of them
  exactly (an ``int`` also for a ``float``): a subclass would be read back as the base class, a
  ``bool`` is not read back as an ``int``. One set lookup per encode.
- by the classes of the contents, for containers of such classes (``list[User]``,
  ``dict[str, int]``, ``tuple[int, ...]``, nested): the same exact-class test, item by item.
- by decoding, when only validation can decide it: ``TypedDict``, ``Literal``, ``Annotated``
  constraints, containers of those. The encoded bytes go through the typed decoder once; what it
  refuses is an :class:`~nstore.errors.EncodeError`.

In JSON two more checks: a NaN or an infinity anywhere in the value is refused (JSON writes it
as ``null``, read back as None or not at all), looked for only when the bytes hold ``null``; and
a check by decoding also decodes the value as MessagePack, which keeps the type of a key where
JSON writes every key as a string (``{1: "one", "1": "uno"}`` is no ``dict[str, Any]``).

Fields of a Struct or dataclass are not checked on encode (msgspec does not check them when it
builds one either; mypy does): a ``User`` with a field of the wrong type fails on decode.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeVar

import msgspec

from nstore.codecs._codec import Codec, Inline
from nstore.codecs._finite import non_finite, non_finite_message
from nstore.codecs._spec import register, schema_fingerprint
from nstore.codecs._types import (
    class_of,
    contents_check,
    exact_classes,
    format_type,
    plain_type,
    rebuild_typed,
    type_name,
)
from nstore.errors import ConfigurationError, DecodeError, EncodeError, ValidationError

if TYPE_CHECKING:
    from typing_extensions import TypeForm

__all__ = ["Msgspec"]

T = TypeVar("T")

_FORMATS = {"msgpack": msgspec.msgpack, "json": msgspec.json}
# RecursionError: a value nested too deep for msgspec (encoding or decoding).
_ENCODE_ERRORS = (msgspec.EncodeError, TypeError, ValueError, OverflowError, RecursionError)
# msgspec.ValidationError is a msgspec.DecodeError; the message tells them apart.
_DECODE_ERRORS = (msgspec.DecodeError, TypeError, ValueError, RecursionError)


class _WrongClass(TypeError):
    """Raised inside a chain when the value's class is not one of the codec's classes."""


class _NotFinite(ValueError):
    """Raised by the JSON encoder for a value holding a NaN or an infinity."""

    def __init__(self, number: float) -> None:
        super().__init__(number)
        self.number = number


def _json_encoder() -> Callable[[Any], bytes]:
    """msgspec's JSON encoder, refusing NaN and infinity (which it writes as ``null``)."""
    encode = msgspec.json.Encoder().encode

    def encode_finite(value: Any) -> bytes:
        data: bytes = encode(value)
        if b"null" in data:  # None, or a float JSON cannot hold: only then look for the float
            number = non_finite(msgspec.to_builtins(value))
            if number is not None:
                raise _NotFinite(number)
        return data

    return encode_finite


@register
@dataclass(frozen=True, eq=True)
class Msgspec(Codec[T, bytes], Generic[T]):
    """Values of type ``T`` as MessagePack (default) or JSON, with typed decoding.

    ``T`` is any type msgspec supports: a ``msgspec.Struct``, a dataclass, a ``TypedDict``,
    builtins and their generics (``list[User]``, ``dict[str, int]``), unions. Decoding builds a
    ``T`` and checks it against the type: garbage raises :class:`~nstore.errors.DecodeError`, data
    of another shape :class:`~nstore.errors.ValidationError`. Encoding raises
    :class:`~nstore.errors.EncodeError` for a value that would not be read back as a ``T`` (a
    ``dict`` or another Struct for a Struct type, ``[1, "2"]`` for ``list[int]``) and for a value
    msgspec cannot encode; nothing is written.

    The spec records the type's import path (``type``), the ``format`` and the ``fingerprint`` of
    the type's JSON schema, so that a namespace notices when the type changes shape.

    Parameters
    ----------
    type
        The type of the values. It must be importable (defined at module level) to have a spec.
    format
        ``"msgpack"`` (compact, fastest) or ``"json"`` (readable).

    Examples
    --------
    >>> import msgspec
    >>> class Point(msgspec.Struct):
    ...     x: int
    ...     y: int
    >>> codec = Msgspec(Point, format="json")
    >>> codec.encode(Point(1, 2))
    b'{"x":1,"y":2}'
    >>> codec.decode(b'{"x":1,"y":2}')
    Point(x=1, y=2)
    """

    type: TypeForm[T]
    format: Literal["msgpack", "json"] = "msgpack"
    name = "msgspec"

    _encode: Any = field(init=False, repr=False, compare=False)
    _decode: Any = field(init=False, repr=False, compare=False)
    _classes: frozenset[builtins.type] | None = field(init=False, repr=False, compare=False)
    _contents: Callable[[Any], bool] | None = field(init=False, repr=False, compare=False)
    _decode_keys: Callable[[bytes], Any] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # typing.List[int] as list[int]: the codec rebuilt from the spec is then equal to this one.
        object.__setattr__(self, "type", plain_type(self.type))
        module = _FORMATS.get(self.format)
        if module is None:
            raise ConfigurationError(f"Expected 'msgpack' or 'json' for format. Got {self.format!r} instead.")
        try:
            decoder = module.Decoder(self.type)
        except TypeError as exc:
            raise ConfigurationError(
                f"Expected a type msgspec supports for type. Got {self.type!r} instead: {exc}"
            ) from exc
        # Built once: an encoder and a typed decoder are reusable and thread-safe. Both the method
        # and a chain's inlined code call _encode, so JSON's check of floats is in both.
        json = module is msgspec.json
        object.__setattr__(self, "_encode", _json_encoder() if json else module.Encoder().encode)
        object.__setattr__(self, "_decode", decoder.decode)
        # Any and object take every value: no class to check, nothing a decoder would refuse.
        anything = self.type is Any or self.type is object
        classes = frozenset() if anything else exact_classes(self.type)
        object.__setattr__(self, "_classes", classes)
        object.__setattr__(self, "_contents", None if classes is not None else contents_check(self.type))
        # JSON writes every key as a string, so its decoder takes a key 1 for a str key; MessagePack
        # keeps the key's type, and its decoder refuses it as a msgpack codec does.
        keys = msgspec.msgpack.Decoder(self.type).decode if json and classes is None else None
        object.__setattr__(self, "_decode_keys", keys)

    def encode(self, value: T, /) -> bytes:
        classes = self._classes
        if classes and type(value) not in classes:
            raise self._encode_error(_WrongClass(), value)
        try:
            data: bytes = self._encode(value)
        except _ENCODE_ERRORS as exc:
            raise self._encode_error(exc, value) from exc
        if classes is None:
            contents = self._contents
            if contents is None or not contents(value):
                self._check_by_decoding(value, data, contents is not None)
        return data

    def _check_by_decoding(self, value: object, data: bytes, refused: bool) -> None:
        """Raise EncodeError unless the typed decoder reads ``data`` back (``refused``: it must not)."""
        expected, got = type_name(self.type), type(value).__name__
        try:
            self._decode(data)
            if self._decode_keys is not None and not refused:
                self._decode_keys(msgspec.msgpack.encode(value))
        except (msgspec.DecodeError, *_ENCODE_ERRORS) as exc:
            raise EncodeError(
                f"Expected a {expected}. Got a {got} that msgspec would not read back as one: {exc}",
                codec=self.name,
            ) from exc
        if refused:  # decodable, but not as it was written: a dict for a Struct, a tuple for a list
            raise EncodeError(
                f"Expected a {expected}. Got a {got} holding a value of another class than the type "
                f"names (a dict for a Struct, a subclass, a tuple for a list), which would be read "
                "back as something else; convert it first",
                codec=self.name,
            )

    def decode(self, data: bytes, /) -> T:
        try:
            return self._decode(data)  # type: ignore[no-any-return]  # the typed decoder returns T
        except _DECODE_ERRORS as exc:
            raise self._decode_error(exc, data) from exc

    def _encode_error(self, exc: Exception, value: object) -> EncodeError:
        got = type(value).__name__
        if isinstance(exc, _WrongClass):
            expected = type_name(self.type)
            return EncodeError(
                f"Expected a {expected}. Got {class_of(value, expected)} instead: only a {expected} "
                "is read back as one "
                f"(convert the value first, e.g. msgspec.convert(value, {expected}))",
                codec=self.name,
            )
        if isinstance(exc, _NotFinite):
            tip = ", or use format='msgpack'"
            message = non_finite_message(type_name(self.type), value, exc.number, "msgspec", tip)
            return EncodeError(message, codec=self.name)
        return EncodeError(f"Cannot encode {got}: {exc}", codec=self.name)

    def _decode_error(self, exc: Exception, data: object) -> DecodeError:
        if isinstance(exc, msgspec.ValidationError):
            return ValidationError(f"Expected a valid {type_name(self.type)}: {exc}", codec=self.name)
        return DecodeError(f"Expected {self.format} data: {exc}", codec=self.name)

    def _raise_encode_error(self, exc: Exception, value: object) -> NoReturn:
        raise self._encode_error(exc, value) from exc

    def _raise_decode_error(self, exc: Exception, data: object) -> NoReturn:
        raise self._decode_error(exc, data) from exc

    def inline_encode(self) -> Inline | None:
        # In a chain, the class check and msgspec's encoder run in place; their errors go through
        # the same messages. A check by decoding is the method's (it costs a decode anyway).
        if self._classes is None:
            return None
        code = "{out} = {encode}({value})"
        names: dict[str, Any] = {"encode": self._encode}
        if self._classes:
            code = "if {type}({value}) not in {classes}:\n    raise {wrong}\n" + code
            names.update(type=type, classes=self._classes, wrong=_WrongClass)
        return Inline(code, names, _ENCODE_ERRORS, self._raise_encode_error)

    def inline_decode(self) -> Inline:
        code, names = "{out} = {decode}({value})", {"decode": self._decode}
        return Inline(code, names, _DECODE_ERRORS, self._raise_decode_error)

    def schema(self) -> dict[str, Any] | None:
        from nstore._kinds import annotated  # names what the JSON schema leaves out (datetime, keys)

        try:
            return annotated(self.type)
        except TypeError:  # a type msgspec decodes but cannot describe
            return None

    def params(self) -> dict[str, Any]:
        return {
            "type": format_type(self.type),
            "format": self.format,
            "fingerprint": schema_fingerprint(self.schema()),
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Codec[Any, Any]:
        return rebuild_typed(cls.name, cls, params)

    def __repr__(self) -> str:
        return f"Msgspec({type_name(self.type)}, format={self.format!r})"
