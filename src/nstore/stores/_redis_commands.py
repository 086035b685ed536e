"""What RedisStore and AsyncRedisStore send, without I/O: keys, commands and SCAN patterns.

Both stores build their commands here (and decide retries with ``_redis_client.retry_delay``),
so the sync and async stores differ only in how they call redis-py (a call or an ``await``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from nstore.errors import InvalidKey
from nstore.stores._values import as_bytes

__all__ = [
    "CAS_SCRIPT",
    "cas_command",
    "encode_key",
    "encode_keys",
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
    """The Redis key of ``key`` under ``prefix``; raise InvalidKey for a key that is not UTF-8 text."""
    try:
        return (prefix + key).encode("utf-8", "surrogateescape")
    except (TypeError, UnicodeEncodeError):
        raise InvalidKey(f"Expected a str key that encodes to UTF-8. Got {key!r}.") from None


def encode_keys(prefix: str, keys: Iterable[str]) -> dict[bytes, str]:
    """The Redis key of each key, in one pass (the bulk paths' share of :func:`encode_key`)."""
    keys = list(keys)
    try:
        return {(prefix + key).encode("utf-8", "surrogateescape"): key for key in keys}
    except (TypeError, UnicodeEncodeError):
        for key in keys:
            encode_key(prefix, key)  # raises InvalidKey naming the first bad key
        raise


def scan_pattern(prefix: str, sub: object) -> tuple[bytes, int]:
    """The ``SCAN MATCH`` pattern listing ``sub`` under ``prefix``, and the bytes to strip per key.

    Glob characters in either match only themselves.
    """
    if sub is not None and not isinstance(sub, str):
        raise InvalidKey(f"Expected a str prefix. Got {type(sub).__name__}.")
    full = prefix + (sub or "")
    pattern = full.translate(_GLOB).encode("utf-8", "surrogateescape") + b"*"
    return pattern, len(prefix.encode("utf-8", "surrogateescape"))


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
