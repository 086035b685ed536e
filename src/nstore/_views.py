"""What a typed view decides, without I/O: shared by the sync :class:`~nstore.View` and the async view.

A view maps its keys and values through two codec chains over a store below. Which raw keys
below belong to the view, how a listing prefix is mapped, how a bulk read's keys are encoded and
its values decoded, and which key a failing value is reported under, are decided here once; the
two views only differ in how they call the store below (a call or an ``await``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar

from nstore.codecs._codec import Codec, Identity
from nstore.errors import CodecError, DecodeError, KeyEncodingError, UnsafeCodecError
from nstore.store import item_pairs

__all__ = [
    "FOREIGN_KEY_ERRORS",
    "decode_found",
    "encode_keys",
    "encode_pairs",
    "holds",
    "listed_keys",
    "lists_by_prefix",
    "refuse_unsafe",
]

K = TypeVar("K")
V = TypeVar("V")

#: Errors that mean a key given to ``in`` is not one the view's key chain can encode, so it is
#: not in the view (rather than an error).
FOREIGN_KEY_ERRORS: Final = (KeyEncodingError, CodecError, TypeError, AttributeError)


def listed_keys(decode: Callable[[Any], K], prefix: K | None, raws: Iterable[Any]) -> Iterator[K]:
    """The view's keys among the raw keys ``raws`` listed below, lazily.

    A raw key the key chain cannot decode is another application's key, not part of the view;
    a decoded key that does not start with ``prefix`` is outside the listing (the prefix below
    may be wider than the view's prefix, or None when the chain cannot map prefixes).
    """
    for raw in raws:
        try:
            key = decode(raw)
        except (KeyEncodingError, DecodeError):
            continue
        if prefix is None or key.startswith(prefix):  # type: ignore[attr-defined]  # str/bytes keys
            yield key


def lists_by_prefix(below_lists_by_prefix: bool, keys: Codec[Any, Any]) -> bool:
    """Whether a view lists by prefix natively: the store below does and the key chain maps prefixes."""
    return below_lists_by_prefix and keys.preserves_prefix


def encode_keys(keys: Codec[K, Any], wanted: Iterable[K]) -> tuple[Iterable[Any], Mapping[Any, K] | None]:
    """The keys below for a bulk read of ``wanted``, in one pass, and the map back to view keys.

    With the identity key chain the keys pass through unchanged and no map is built (None).
    """
    if isinstance(keys, Identity):
        return wanted, None
    encode = keys.encode
    below_to_key = {encode(k): k for k in wanted}
    return below_to_key, below_to_key


def decode_found(
    decode: Callable[[Any], V], found: Mapping[Any, Any], below_to_key: Mapping[Any, K] | None
) -> dict[K, V]:
    """The view's result of a bulk read: ``found`` below, decoded, under the view's keys.

    A value that fails to decode raises its :class:`~nstore.errors.DecodeError` naming its key.
    """
    try:
        if below_to_key is None:
            return {k: decode(v) for k, v in found.items()}
        return {below_to_key[b]: decode(v) for b, v in found.items()}
    except DecodeError as exc:
        # Rare: find the key whose value failed, so the error names it.
        for below, value in found.items():
            try:
                decode(value)
            except DecodeError:
                exc.with_key(below if below_to_key is None else below_to_key[below])
                break
        raise


def encode_pairs(
    encode_key: Callable[[K], Any],
    encode_value: Callable[[V], Any],
    items: Mapping[K, V] | Iterable[tuple[K, V]],
) -> list[tuple[Any, Any]]:
    """The ``(key, value)`` pairs below for a bulk write, encoded in one pass."""
    return [(encode_key(k), encode_value(v)) for k, v in item_pairs(items)]


def holds(decode: Callable[[Any], V], encode: Callable[[V], Any], raw: Any, expected: V) -> bool:
    """Whether the stored ``raw`` is the view's value ``expected``, for a view's compare_and_set.

    Values are compared, not encodings: equal values may encode differently (a set decoded and
    encoded again iterates in another order, and so does a dict built in another order). A value
    unequal to itself (a NaN) is still ``expected`` when it encodes to those very bytes.
    """
    return decode(raw) == expected or encode(expected) == raw


def refuse_unsafe(store: object, is_remote: bool, codec: Codec[Any, Any], trusted: bool) -> None:
    """Raise :class:`~nstore.errors.UnsafeCodecError` for an unsafe codec on a remote store."""
    if is_remote and codec.is_unsafe and not trusted:
        raise UnsafeCodecError(
            f"Refusing {codec!r} on the remote store {type(store).__name__}: anyone who can "
            "write to it could run code in this process. Use a signed pickle codec "
            "(Pickle(key=...)), a schema codec (Msgspec, Pydantic), or pass trusted=True."
        )
