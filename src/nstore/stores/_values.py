"""The one check every ``Store[str, bytes]`` backend makes of a value before storing it."""

from __future__ import annotations

from nstore.errors import InvalidValue

__all__ = ["as_bytes"]


def as_bytes(value: object, key: object, store: str) -> bytes:
    """``value`` as bytes; anything but a bytes-like object raises :class:`InvalidValue`."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise InvalidValue(
        f"Expected bytes for the value of key {key!r:.80} in a {store}. Got {type(value).__name__} "
        "instead; put a value codec in front with store.with_values(...)."
    )
