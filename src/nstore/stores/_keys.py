"""The rules every ``Store[str, bytes]`` backend applies to a key, and the error when one breaks them.

A backend key is a ``str`` that is valid Unicode text: it encodes to UTF-8, so it holds no lone
surrogate (``"\\ud800"``, or the ``"\\udc80"`` that ``surrogateescape`` makes of a stray byte).
Every write of a key that breaks a rule raises :class:`~nstore.errors.InvalidKey` and writes
nothing; ``key in store`` is False for it. Backends add rules of their own on top (FileStore
refuses ``..`` and control characters, for instance) and raise the same error.
"""

from __future__ import annotations

from nstore.errors import InvalidKey

__all__ = ["invalid_key", "key_bytes"]


def key_bytes(key: object, store: str) -> bytes:
    """The UTF-8 bytes of ``key``; a key that breaks the rules raises :class:`InvalidKey`."""
    if type(key) is not str:
        raise invalid_key(key, store)
    try:
        return key.encode()
    except UnicodeEncodeError:
        raise invalid_key(key, store) from None


def invalid_key(key: object, store: str) -> InvalidKey:
    """The error for ``key``, which is not a str or not valid Unicode text."""
    if not isinstance(key, str):
        return InvalidKey(f"Expected a str key for a {store}. Got {type(key).__name__}: {key!r:.80}.")
    return InvalidKey(
        f"Expected a key that is valid Unicode text for a {store}. Got {key!r:.80}, which has a lone "
        "surrogate (not encodable as UTF-8)."
    )
