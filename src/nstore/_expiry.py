"""Per-key expiry (``supports_ttl``), sync and async alike: what a ttl argument may be, and the
error of a store that has no expiry.

A ttl is a number of seconds from now: a positive, finite ``int`` or ``float`` (not a ``bool``).
``None`` means "the store's default": no expiry, or a store-wide ttl where the store has one.
"""

from __future__ import annotations

import math

from nstore.errors import ConfigurationError, UnsupportedOperation

__all__ = ["check_ttl", "unsupported_ttl"]


def check_ttl(ttl: object) -> float:
    """``ttl`` as a float of seconds; raise :class:`~nstore.errors.ConfigurationError` unless it
    is a positive, finite number.

    >>> check_ttl(2)
    2.0
    >>> check_ttl(0)
    Traceback (most recent call last):
    ...
    nstore.errors.ConfigurationError: Expected a positive, finite number of seconds for ttl. Got 0.
    """
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0 or not math.isfinite(ttl):
        raise ConfigurationError(f"Expected a positive, finite number of seconds for ttl. Got {ttl!r}.")
    return float(ttl)


def unsupported_ttl(store: object) -> UnsupportedOperation:
    """The error for a ttl given to a store whose ``supports_ttl`` is False."""
    return UnsupportedOperation(
        f"{type(store).__name__} has no per-key expiry (supports_ttl is False): "
        "store the value without ttl=, or use a store that has it (MemoryStore, SQLiteStore, "
        "RedisStore, HTTPStore)."
    )
