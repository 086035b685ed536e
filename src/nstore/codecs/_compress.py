"""Compression codecs: Zlib here and Zstd in :mod:`~nstore.codecs._zstd`, with decompression bounded
by ``max_size``, and the limit checks they share.

Decompression never trusts a size declared inside the data: output is produced under a limit of
``max_size`` bytes, and going past it raises :class:`~nstore.errors.DecodeLimitError` before more
than about ``max_size`` bytes are allocated. A zstd frame whose header claims more than
``max_size`` is refused from its header alone.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from nstore.codecs._codec import Codec
from nstore.codecs._spec import register
from nstore.codecs._types import build
from nstore.errors import ConfigurationError, DecodeError, DecodeLimitError, EncodeError

__all__ = ["DEFAULT_MAX_SIZE", "Zlib", "check_int", "limit_error", "max_size_repr", "with_max_size"]

DEFAULT_MAX_SIZE = 64 * 1024 * 1024
"""The default decompression limit: 64 MiB."""


def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        expected = f"an integer from {low} to {high}" if high else f"an integer of at least {low}"
        raise ConfigurationError(f"Expected {expected} for {name}. Got {value!r} instead.")


def limit_error(codec: str, max_size: int) -> DecodeLimitError:
    return DecodeLimitError(
        f"Decompressed data exceeds max_size={max_size} bytes; raise max_size if the value is legitimate",
        codec=codec,
    )


@register
@dataclass(frozen=True, slots=True)
class Zlib(Codec[bytes, bytes]):
    """Bytes compressed with zlib (RFC 1950), decompressed under a size limit.

    Parameters
    ----------
    level
        Compression level, 0 (none) to 9 (smallest).
    max_size
        Largest decompressed size accepted; more raises :class:`~nstore.errors.DecodeLimitError`.

    Examples
    --------
    >>> codec = Zlib(9)
    >>> codec.decode(codec.encode(b"abc" * 100)) == b"abc" * 100
    True
    >>> Zlib(12)
    Traceback (most recent call last):
      ...
    nstore.errors.ConfigurationError: Expected an integer from 0 to 9 for level. Got 12 instead.
    """

    level: int = 6
    max_size: int = field(default=DEFAULT_MAX_SIZE, kw_only=True)
    name = "zlib"

    def __post_init__(self) -> None:
        check_int("level", self.level, 0, 9)
        check_int("max_size", self.max_size, 1)

    def encode(self, value: bytes, /) -> bytes:
        try:
            return zlib.compress(value, self.level)
        except TypeError as exc:
            raise EncodeError(f"Expected bytes. Got {type(value).__name__} instead", codec=self.name) from exc

    def decode(self, data: bytes, /) -> bytes:
        decompressor = zlib.decompressobj()
        try:
            # max_length bounds the output buffer: a bomb stops at max_size + 1 bytes.
            out = decompressor.decompress(data, self.max_size + 1)
        except (zlib.error, TypeError) as exc:
            raise DecodeError(f"Expected zlib data: {exc}", codec=self.name) from exc
        if len(out) > self.max_size:
            raise limit_error(self.name, self.max_size)
        if not decompressor.eof:
            raise DecodeError("Expected zlib data: the stream is truncated", codec=self.name)
        if decompressor.unused_data:
            raise DecodeError("Expected zlib data: trailing bytes after the stream", codec=self.name)
        return out

    def params(self) -> dict[str, Any]:
        return with_max_size({"level": self.level}, self.max_size)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Codec[Any, Any]:
        return build(cls.name, cls, **params)

    def __repr__(self) -> str:
        return f"Zlib({self.level}{max_size_repr(self.max_size)})"


def with_max_size(params: dict[str, Any], max_size: int) -> dict[str, Any]:
    # The default limit is left out, so that the usual spec stays {"name": ..., "level": ...}.
    if max_size != DEFAULT_MAX_SIZE:
        params["max_size"] = max_size
    return params


def max_size_repr(max_size: int) -> str:
    return "" if max_size == DEFAULT_MAX_SIZE else f", max_size={max_size}"
