"""Msgspec: typed values as MessagePack or JSON, validated on decode by msgspec."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, NoReturn, TypeVar

import msgspec

from nstore.codecs._codec import Codec, Inline, register, schema_fingerprint
from nstore.codecs._types import format_type, rebuild_typed, type_name
from nstore.errors import ConfigurationError, DecodeError, EncodeError, ValidationError

__all__ = ["Msgspec"]

T = TypeVar("T")

_FORMATS = {"msgpack": msgspec.msgpack, "json": msgspec.json}
_ENCODE_ERRORS = (msgspec.EncodeError, TypeError, ValueError, OverflowError)
# msgspec.ValidationError is a msgspec.DecodeError; the message tells them apart.
_DECODE_ERRORS = (msgspec.DecodeError, TypeError, ValueError)


@register
@dataclass(frozen=True, eq=True)
class Msgspec(Codec[T, bytes], Generic[T]):
    """Values of type ``T`` as MessagePack (default) or JSON, with typed decoding.

    ``T`` is any type msgspec supports: a ``msgspec.Struct``, a dataclass, a ``TypedDict``,
    builtins and their generics (``list[User]``, ``dict[str, int]``), unions. Decoding builds a
    ``T`` and checks it against the type: garbage raises :class:`~nstore.errors.DecodeError`, data
    of another shape :class:`~nstore.errors.ValidationError`. Encoding does not check the type of
    its argument (mypy does); a value msgspec cannot encode raises
    :class:`~nstore.errors.EncodeError`.

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

    type: builtins.type[T]
    format: Literal["msgpack", "json"] = "msgpack"
    name = "msgspec"

    _encode: Any = field(init=False, repr=False, compare=False)
    _decode: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        module = _FORMATS.get(self.format)
        if module is None:
            raise ConfigurationError(f"Expected 'msgpack' or 'json' for format. Got {self.format!r} instead.")
        try:
            decoder = module.Decoder(self.type)
        except TypeError as exc:
            raise ConfigurationError(
                f"Expected a type msgspec supports for type. Got {self.type!r} instead: {exc}"
            ) from exc
        # Built once: an encoder and a typed decoder are reusable and thread-safe.
        object.__setattr__(self, "_encode", module.Encoder().encode)
        object.__setattr__(self, "_decode", decoder.decode)

    def encode(self, value: T, /) -> bytes:
        try:
            return self._encode(value)  # type: ignore[no-any-return]  # msgspec's encode is bytes
        except _ENCODE_ERRORS as exc:
            raise self._encode_error(exc, value) from exc

    def decode(self, data: bytes, /) -> T:
        try:
            return self._decode(data)  # type: ignore[no-any-return]  # the typed decoder returns T
        except _DECODE_ERRORS as exc:
            raise self._decode_error(exc, data) from exc

    def _encode_error(self, exc: Exception, value: object) -> EncodeError:
        return EncodeError(f"Cannot encode {type(value).__name__}: {exc}", codec=self.name)

    def _decode_error(self, exc: Exception, data: object) -> DecodeError:
        if isinstance(exc, msgspec.ValidationError):
            return ValidationError(f"Expected a valid {type_name(self.type)}: {exc}", codec=self.name)
        return DecodeError(f"Expected {self.format} data: {exc}", codec=self.name)

    def _raise_encode_error(self, exc: Exception, value: object) -> NoReturn:
        raise self._encode_error(exc, value) from exc

    def _raise_decode_error(self, exc: Exception, data: object) -> NoReturn:
        raise self._decode_error(exc, data) from exc

    def inline_encode(self) -> Inline:
        # In a chain, msgspec's encoder is called in place; its errors go through the same message.
        code, names = "{out} = {encode}({value})", {"encode": self._encode}
        return Inline(code, names, _ENCODE_ERRORS, self._raise_encode_error)

    def inline_decode(self) -> Inline:
        code, names = "{out} = {decode}({value})", {"decode": self._decode}
        return Inline(code, names, _DECODE_ERRORS, self._raise_decode_error)

    def schema(self) -> dict[str, Any] | None:
        try:
            return msgspec.json.schema(self.type)
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
