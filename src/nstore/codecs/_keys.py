"""Key codecs: prefix namespacing, text encodings, and binary-to-text encodings for keys."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from nstore.codecs._codec import Codec
from nstore.codecs._spec import register
from nstore.errors import ConfigurationError, DecodeError, EncodeError, KeyEncodingError

__all__ = ["Base32", "Base64", "Hex", "Prefix", "Utf8"]


class PrefixMismatch(KeyEncodingError, DecodeError):
    """A key without the prefix that a :class:`Prefix` codec expects."""


@register
@dataclass(frozen=True, slots=True)
class Prefix(Codec[str, str]):
    """Prefix every key with ``prefix``, so that applications can share one store's key space.

    Listing by prefix through a ``Prefix`` view lists ``prefix + p`` in the store below, never the
    whole store. Decoding a key without the prefix raises :class:`~nstore.errors.KeyEncodingError`.

    >>> Prefix("users/").encode("ada")
    'users/ada'
    >>> Prefix("users/").decode("users/ada")
    'ada'
    """

    prefix: str
    name = "prefix"

    def __post_init__(self) -> None:
        prefix: object = self.prefix  # checked at run time: callers may be untyped
        if not isinstance(prefix, str):
            got = type(prefix).__name__
            raise ConfigurationError(f"Expected a string for prefix. Got {got} instead.")

    def encode(self, value: str, /) -> str:
        try:
            return self.prefix + value
        except TypeError as exc:
            raise _not_text(EncodeError, "key", value) from exc

    def decode(self, data: str, /) -> str:
        try:
            if data.startswith(self.prefix):
                return data[len(self.prefix) :]
        except (TypeError, AttributeError) as exc:
            raise _not_text(DecodeError, "key", data) from exc
        raise PrefixMismatch(f"Expected a key starting with {self.prefix!r}", codec=self.name, key=data)

    def params(self) -> dict[str, Any]:
        return {"prefix": self.prefix}

    @property
    def preserves_prefix(self) -> bool:
        return True

    def encode_prefix(self, prefix: str | None, /) -> str:
        try:
            return self.prefix + (prefix or "")
        except TypeError as exc:
            raise _not_text(EncodeError, "prefix", prefix) from exc


def _not_text(error: type[EncodeError | DecodeError], what: str, value: object) -> EncodeError | DecodeError:
    got = type(value).__name__
    hint = "Prefix takes text; put bytes keys through Hex() | Prefix(...)"
    return error(f"Expected a str {what}. Got {got} instead. {hint}", codec=Prefix.name)


@register
@dataclass(frozen=True, slots=True)
class Utf8(Codec[str, bytes]):
    """Text keys (or values) as UTF-8 bytes.

    >>> Utf8().encode("café")
    b'caf\\xc3\\xa9'
    """

    name = "utf8"

    def encode(self, value: str, /) -> bytes:
        try:
            return value.encode("utf-8")
        except (UnicodeEncodeError, AttributeError) as exc:
            raise EncodeError(f"Expected a str encodable as UTF-8. Got {value!r}", codec=self.name) from exc

    def decode(self, data: bytes, /) -> str:
        try:
            return data.decode("utf-8")
        except (UnicodeDecodeError, AttributeError) as exc:
            raise DecodeError(f"Expected UTF-8 bytes: {exc}", codec=self.name) from exc

    @property
    def preserves_prefix(self) -> bool:
        return True

    def encode_prefix(self, prefix: str | None, /) -> bytes | None:
        return None if prefix is None else self.encode(prefix)


def _expect_bytes(codec: str, value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise EncodeError(f"Expected bytes. Got {type(value).__name__} instead", codec=codec)


def _canonical(codec: Codec[bytes, str], text: str, decoded: bytes) -> bytes:
    """``decoded`` if ``text`` is its one encoding, else DecodeError.

    Decoders accept some spellings (spaces in hex, non-zero padding bits) that the encoder never
    writes; as keys they would make two names for one key, so a listed key would read another.
    """
    if codec.encode(decoded) != text:
        raise DecodeError(f"Expected the canonical {codec.name} spelling. Got {text!r}", codec=codec.name)
    return decoded


_URLSAFE_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@register
@dataclass(frozen=True, slots=True)
class Base64(Codec[bytes, str]):
    """Binary keys as URL-safe base64 text without padding (``-`` and ``_``, never ``/``).

    Base64 is case-sensitive: on case-insensitive filesystems use :class:`Hex` or :class:`Base32`.

    >>> Base64().encode(b"\\xff\\x00")
    '_wA'
    >>> Base64().decode('_wA')
    b'\\xff\\x00'
    """

    name = "base64"

    def encode(self, value: bytes, /) -> str:
        return base64.urlsafe_b64encode(_expect_bytes(self.name, value)).rstrip(b"=").decode("ascii")

    def decode(self, data: str, /) -> bytes:
        try:
            raw = data.encode("ascii")
            # Reject anything urlsafe_b64decode would silently skip or accept.
            if len(raw) % 4 == 1 or raw.strip(_URLSAFE_ALPHABET):
                raise ValueError("not unpadded URL-safe base64")
            decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
        except (ValueError, binascii.Error, AttributeError) as exc:
            raise DecodeError(f"Expected unpadded URL-safe base64. Got {data!r}", codec=self.name) from exc
        return _canonical(self, data, decoded)


@register
@dataclass(frozen=True, slots=True)
class Hex(Codec[bytes, str]):
    """Binary keys as lowercase hexadecimal text: safe on case-insensitive filesystems.

    Hex preserves prefixes, so a ``Hex`` view lists by prefix natively.

    >>> Hex().encode(b"\\x01\\xab")
    '01ab'
    """

    name = "hex"

    def encode(self, value: bytes, /) -> str:
        return _expect_bytes(self.name, value).hex()

    def decode(self, data: str, /) -> bytes:
        try:
            if data != data.lower():
                raise ValueError("not lowercase")
            decoded = bytes.fromhex(data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise DecodeError(f"Expected lowercase hexadecimal. Got {data!r}", codec=self.name) from exc
        return _canonical(self, data, decoded)

    @property
    def preserves_prefix(self) -> bool:
        return True

    def encode_prefix(self, prefix: bytes | None, /) -> str | None:
        return None if prefix is None else self.encode(prefix)


@register
@dataclass(frozen=True, slots=True)
class Base32(Codec[bytes, str]):
    """Binary keys as lowercase base32 text without padding: safe on case-insensitive filesystems.

    >>> Base32().encode(b"nstore")
    'nzzxi33smu'
    """

    name = "base32"

    def encode(self, value: bytes, /) -> str:
        return base64.b32encode(_expect_bytes(self.name, value)).rstrip(b"=").decode("ascii").lower()

    def decode(self, data: str, /) -> bytes:
        try:
            if data != data.lower() or len(data) % 8 in (1, 3, 6):
                raise ValueError("not unpadded lowercase base32")
            decoded = base64.b32decode(data.upper() + "=" * (-len(data) % 8))
        except (ValueError, binascii.Error, TypeError, AttributeError) as exc:
            raise DecodeError(f"Expected unpadded lowercase base32. Got {data!r}", codec=self.name) from exc
        return _canonical(self, data, decoded)
