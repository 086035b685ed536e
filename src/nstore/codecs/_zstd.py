"""The Zstd codec: levels, trained dictionaries (embedded in the spec up to a size, else given when
the codec is rebuilt), pooled contexts, and decompression bounded by ``max_size`` as in
:mod:`~nstore.codecs._compress` (a frame whose header claims more is refused from its header).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import zstandard

from nstore.codecs._codec import Codec, Inline
from nstore.codecs._compress import DEFAULT_MAX_SIZE, check_int, limit_error, max_size_repr, with_max_size
from nstore.codecs._spec import register
from nstore.codecs._types import build
from nstore.codecs._zstd_frames import check_whole_frames, small_frame_bound
from nstore.errors import ConfigurationError, DecodeError, EncodeError, SpecError

__all__ = ["EMBEDDED_DICTIONARY_LIMIT", "Zstd", "dictionary_fingerprint"]

EMBEDDED_DICTIONARY_LIMIT = 64 * 1024
"""Zstd dictionaries up to this size are embedded (base64) in the spec."""

_STREAM_CHUNK = 256 * 1024


class _Contexts:
    """Pools of zstd compressors and decompressors: a zstandard context is not thread-safe.

    (zstandard releases the GIL while it works; two threads in one context crash the process.)

    A call takes a context from its pool (or makes one) and puts it back, so each context serves
    one thread at a time and there are as many as calls ever ran at once. ``list.pop`` and
    ``list.append`` are atomic, and cheaper than a ``threading.local`` lookup. Decompressors are
    pooled as their bound ``decompress`` methods, the cheapest form to call.
    """

    __slots__ = ("compressors", "decompressors", "dictionary", "level")

    def __init__(self, level: int, dictionary: zstandard.ZstdCompressionDict | None) -> None:
        self.level = level
        self.dictionary = dictionary
        self.compressors = [self.compressor()]
        self.decompressors = [self.decompressor()]

    def compressor(self) -> zstandard.ZstdCompressor:
        return zstandard.ZstdCompressor(level=self.level, dict_data=self.dictionary)

    def decompressor(self) -> Callable[..., bytes]:
        return zstandard.ZstdDecompressor(dict_data=self.dictionary).decompress


def _load(level: int, zdict: zstandard.ZstdCompressionDict | None) -> _Contexts:
    """Contexts for ``level`` and ``zdict``, refusing raw content (id 0: frames cannot name it)
    and bytes that zstd cannot load (it loads a dictionary when a context first uses it)."""
    if zdict is not None and zdict.dict_id() == 0:
        raise ConfigurationError(
            "Expected a zstd dictionary (from Zstd.train). Got raw content (id 0) instead: frames "
            "cannot name it, so another dictionary would decode them to wrong bytes. Train one "
            "with Zstd.train(samples)."
        )
    try:
        contexts = _Contexts(level, zdict)
        if zdict is not None:
            contexts.decompressors[0](contexts.compressors[0].compress(b"x"))
    except zstandard.ZstdError as exc:
        raise ConfigurationError(
            f"Expected a zstd dictionary (from Zstd.train). Got bytes zstd cannot load ({exc}) instead."
        ) from exc
    return contexts


def dictionary_fingerprint(dictionary: bytes) -> str:
    """The fingerprint that identifies a zstd dictionary in a spec: sha256, 16 hex digits."""
    return hashlib.sha256(dictionary).hexdigest()[:16]


@register
@dataclass(frozen=True, slots=True)
class Zstd(Codec[bytes, bytes]):
    """Bytes compressed with Zstandard, optionally with a dictionary, decompressed under a limit.

    A dictionary trained on typical values (:meth:`train`) makes small records compress well.
    Each value is one frame that declares its size; a frame whose declared size exceeds
    ``max_size`` is refused before anything is allocated, and bytes after that frame are not
    read. Frames without a declared size (written by other tools), or declaring 0 bytes, are
    decompressed as a stream, across concatenated frames, and stop at ``max_size``; they must
    end where the data ends, so a truncated frame or trailing bytes raise DecodeError.

    The spec records a dictionary by its zstd id and fingerprint and, up to 64 KiB, embeds it
    (base64) so that the spec alone rebuilds the codec; a larger dictionary is passed back with
    ``Zstd.from_params(params, dictionary=...)``.

    Parameters
    ----------
    level
        Compression level, 1 (fastest) to 22 (smallest).
    dictionary
        A zstd dictionary (from :meth:`train`). Raw content is refused: zstd gives it id 0, which
        frames do not record, so data written with another one would decode to wrong bytes.
    max_size
        Largest decompressed size accepted; more raises :class:`~nstore.errors.DecodeLimitError`.

    Examples
    --------
    >>> codec = Zstd(3)
    >>> codec.decode(codec.encode(b"abc" * 100)) == b"abc" * 100
    True
    >>> codec.spec
    {'name': 'zstd', 'level': 3}
    >>> Zstd(40)
    Traceback (most recent call last):
      ...
    nstore.errors.ConfigurationError: Expected an integer from 1 to 22 for level. Got 40 instead.
    """

    level: int = 3
    dictionary: bytes | None = field(default=None, kw_only=True, repr=False)
    max_size: int = field(default=DEFAULT_MAX_SIZE, kw_only=True)
    name = "zstd"

    _contexts: _Contexts = field(init=False, repr=False, compare=False, hash=False)
    _small: bytes = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        check_int("level", self.level, 1, 22)
        check_int("max_size", self.max_size, 1)
        zdict = None
        if self.dictionary is not None:
            given: object = self.dictionary  # checked at run time: callers may be untyped
            if not isinstance(given, bytes) or not given:
                got = type(given).__name__
                raise ConfigurationError(f"Expected non-empty bytes for dictionary. Got {got} instead.")
            zdict = zstandard.ZstdCompressionDict(self.dictionary)
        object.__setattr__(self, "_contexts", _load(self.level, zdict))
        object.__setattr__(self, "_small", small_frame_bound(self.max_size))

    @staticmethod
    def train(samples: Iterable[bytes], size: int = 16384) -> bytes:
        """Train a dictionary of at most ``size`` bytes on typical encoded values.

        A few hundred samples or more work best; too few raise
        :class:`~nstore.errors.ConfigurationError`.
        """
        check_int("size", size, 256)
        collected = list[bytes | bytearray | memoryview](samples)
        try:
            return zstandard.train_dictionary(size, collected).as_bytes()
        except (zstandard.ZstdError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"Cannot train a dictionary on {len(collected)} samples: {exc}. "
                "Pass more, or more varied, samples."
            ) from exc

    @property
    def dictionary_id(self) -> int | None:
        """The zstd id of the dictionary, or None without one."""
        if self.dictionary is None:
            return None
        return zstandard.ZstdCompressionDict(self.dictionary).dict_id()

    def encode(self, value: bytes, /) -> bytes:
        pool = self._contexts.compressors
        try:
            compressor = pool.pop()
        except IndexError:  # every context is in use by another thread
            compressor = self._contexts.compressor()
        try:
            return compressor.compress(value)
        except (TypeError, zstandard.ZstdError) as exc:
            raise EncodeError(f"Expected bytes. Got {type(value).__name__} instead", codec=self.name) from exc
        finally:
            pool.append(compressor)

    def decode(self, data: bytes, /) -> bytes:
        try:
            declared = zstandard.frame_content_size(data)
        except (zstandard.ZstdError, TypeError) as exc:
            raise DecodeError(f"Expected a zstd frame: {exc}", codec=self.name) from exc
        if declared > self.max_size:
            raise limit_error(self.name, self.max_size)
        pool = self._contexts.decompressors
        try:
            decompress = pool.pop()
        except IndexError:  # every context is in use by another thread
            decompress = self._contexts.decompressor()
        try:
            if declared <= 0:  # no size, or 0, which zstd returns unread: stream under the limit
                decompressor = decompress.__self__  # type: ignore[attr-defined]  # a bound method
                return self._decode_stream(decompressor, data)
            # The declared size is at most max_size, so this allocation is bounded; zstd fails
            # if the content turns out larger than declared. Bytes after this one frame are not
            # read (checking for them, allow_extra_data=False, costs more than the decoding).
            return decompress(data)
        except zstandard.ZstdError as exc:
            raise DecodeError(f"Expected a zstd frame: {exc}", codec=self.name) from exc
        finally:
            pool.append(decompress)

    def inline_decode(self) -> Inline:
        """In a chain: a frame whose header cannot declare more than ``max_size`` is decompressed
        in place; other input, and any error, goes through :meth:`decode`.

        The first five bytes bound the declared size (see
        :func:`~nstore.codecs._zstd_frames.small_frame_bound`), so the allocation stays bounded
        without reading the size. zstandard refuses a frame without a size, and :meth:`decode`
        then streams it under the limit; it returns b"" unread for a frame that declares 0
        bytes, which :meth:`decode` then reads. A context that raised is not put back
        (:meth:`decode` makes another when the pool is empty).
        """
        pool = self._contexts.decompressors
        code = (
            "if {value} < {small}:\n"
            "    {ctx} = {pop}()\n"
            "    {res} = {ctx}({value})\n"
            "    {push}({ctx})\n"
            "    {out} = {res} or {decode}({value})\n"
            "else:\n"
            "    {out} = {decode}({value})"
        )
        names = {"small": self._small, "pop": pool.pop, "push": pool.append, "decode": self.decode}
        errors = (zstandard.ZstdError, IndexError, TypeError)
        return Inline(code, names, errors, self._recover, ("ctx", "res"))

    def _recover(self, exc: Exception, data: bytes) -> bytes:
        return self.decode(data)

    def _decode_stream(self, decompressor: zstandard.ZstdDecompressor, data: bytes) -> bytes:
        check_whole_frames(data)  # zstd's streams end silently where the data does
        chunks = []
        total = 0
        try:
            with decompressor.stream_reader(data, read_across_frames=True) as reader:
                while chunk := reader.read(min(_STREAM_CHUNK, self.max_size + 1 - total)):
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > self.max_size:
                        raise limit_error(self.name, self.max_size)
        except zstandard.ZstdError as exc:
            raise DecodeError(f"Expected a zstd frame: {exc}", codec=self.name) from exc
        return b"".join(chunks)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"level": self.level}
        if self.dictionary is not None:
            params["dictionary_id"] = self.dictionary_id
            params["dictionary_fingerprint"] = dictionary_fingerprint(self.dictionary)
            if len(self.dictionary) <= EMBEDDED_DICTIONARY_LIMIT:
                params["dictionary"] = base64.b64encode(self.dictionary).decode("ascii")
        return with_max_size(params, self.max_size)

    @classmethod
    def from_params(cls, params: dict[str, Any], *, dictionary: bytes | None = None) -> Codec[Any, Any]:
        """Rebuild from :meth:`params`; ``dictionary`` supplies one too large to be embedded."""
        params = dict(params)
        params.pop("dictionary_id", None)
        fingerprint = params.pop("dictionary_fingerprint", None)
        embedded = params.pop("dictionary", None)
        if embedded is not None:
            try:
                dictionary = base64.b64decode(embedded, validate=True)
            except (ValueError, TypeError) as exc:
                raise SpecError("Expected base64 for dictionary in a 'zstd' spec.", codec=cls.name) from exc
        if fingerprint is not None:
            if dictionary is None:
                raise SpecError(
                    f"The spec names zstd dictionary {fingerprint} but does not embed it (over 64 KiB): "
                    "rebuild with Zstd.from_params(params, dictionary=...).",
                    codec=cls.name,
                )
            if dictionary_fingerprint(dictionary) != fingerprint:
                raise SpecError(
                    f"Expected the zstd dictionary with fingerprint {fingerprint}. Got another one.",
                    codec=cls.name,
                )
        return build(cls.name, cls, **params, dictionary=dictionary)

    def __repr__(self) -> str:
        extra = "" if self.dictionary is None else f", dictionary=<{dictionary_fingerprint(self.dictionary)}>"
        return f"Zstd({self.level}{extra}{max_size_repr(self.max_size)})"
