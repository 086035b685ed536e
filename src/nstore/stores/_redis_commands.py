"""What RedisStore and AsyncRedisStore send, without I/O: keys, commands and SCAN patterns.

Both stores build their commands here (and decide retries with ``_redis_client.retry_delay``),
so the sync and async stores differ only in how they call redis-py (a call or an ``await``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from nstore.errors import InvalidKey
from nstore.stores._keys import key_bytes
from nstore.stores._values import as_bytes

__all__ = [
    "CAS_SCRIPT",
    "cas_command",
    "decode_key",
    "encode_key",
    "encode_keys",
    "member_key",
    "scan_pattern",
    "set_command",
    "set_if_absent_command",
]

#: Compare-and-set in one server-side step. A missing key reads as false, which equals no string.
CAS_SCRIPT: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""
_GLOB = str.maketrans({c: "\\" + c for c in "\\*?[]"})
_STORE = "RedisStore"


def encode_key(prefix: str, key: str) -> bytes:
    """The Redis key of ``key`` under ``prefix``; a key that breaks the key rules raises InvalidKey."""
    return prefix.encode() + key_bytes(key, _STORE)


def member_key(prefix: str, key: object) -> bytes | None:
    """The Redis key to look ``key`` up by for ``in``; None for a key no store could hold."""
    if type(key) is not str:
        return None
    try:
        return encode_key(prefix, key)
    except InvalidKey:
        return None  # no key of this store has a lone surrogate


def encode_keys(prefix: str, keys: Iterable[str]) -> dict[bytes, str]:
    """The Redis key of each key, in one pass (the bulk paths' share of :func:`encode_key`)."""
    keys = list(keys)
    head = prefix.encode()
    try:
        return {head + key.encode(): key for key in keys}
    except (AttributeError, TypeError, UnicodeEncodeError):
        for key in keys:
            encode_key(prefix, key)  # raises InvalidKey naming the first bad key
        raise


def decode_key(raw: bytes, strip: int) -> str | None:
    """The store's key of the Redis key ``raw`` (``strip`` prefix bytes cut off); None when it is
    not UTF-8: another client wrote it, and it is no key of this store (listings skip it)."""
    try:
        return raw[strip:].decode()
    except UnicodeDecodeError:
        return None


def scan_pattern(prefix: str, sub: object) -> tuple[bytes, int] | None:
    """The ``SCAN MATCH`` pattern listing ``sub`` under ``prefix``, and the bytes to strip per key;
    None when no key can start with ``sub`` (a lone surrogate in it).

    Glob characters in either match only themselves.
    """
    if sub is not None and not isinstance(sub, str):
        raise InvalidKey(f"Expected a str prefix. Got {type(sub).__name__}.")
    full = prefix + (sub or "")
    try:
        pattern = full.translate(_GLOB).encode() + b"*"
    except UnicodeEncodeError:
        return None
    return pattern, len(prefix.encode())


def set_command(rkey: bytes, key: str, value: bytes, px: int | None) -> tuple[Any, ...]:
    """``SET`` of ``value`` (checked to be bytes), expiring after ``px`` ms when given."""
    command = ("SET", rkey, as_bytes(value, key, _STORE))
    return command if px is None else (*command, "PX", px)


def set_if_absent_command(rkey: bytes, key: str, value: bytes, px: int | None) -> tuple[Any, ...]:
    """``SET ... NX``, expiring after ``px`` ms when given."""
    command = ("SET", rkey, as_bytes(value, key, _STORE), "NX")
    return command if px is None else (*command, "PX", px)


def cas_command(rkey: bytes, key: str, expected: bytes, value: bytes, px: int | None) -> tuple[Any, ...]:
    """The compare-and-set script call for ``key``."""
    return (
        "EVAL",
        CAS_SCRIPT,
        1,
        rkey,
        as_bytes(expected, key, _STORE),
        as_bytes(value, key, _STORE),
        "" if px is None else str(px),
    )
