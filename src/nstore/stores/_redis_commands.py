"""What RedisStore and AsyncRedisStore send and how they read the replies, without I/O: keys,
commands, SCAN patterns, expiry, and the framing of a batch sent on one connection.

Both stores build their commands here (and decide retries with ``_redis_retry``), so the sync
and async stores differ only in how they call redis-py (a call or an ``await``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from nstore.errors import InvalidKey, MissingKey, StoreUnavailable
from nstore.store import item_pairs
from nstore.stores._keys import key_bytes
from nstore.stores._values import as_bytes

__all__ = [
    "CAS_SCRIPT",
    "PERSIST_SCRIPT",
    "Command",
    "cas_command",
    "command_key",
    "decode_key",
    "encode_items",
    "encode_key",
    "encode_keys",
    "found_values",
    "frame",
    "fresh_keys",
    "member_key",
    "pack",
    "scan_pattern",
    "set_command",
    "set_if_absent_command",
    "set_many_command",
    "touch_command",
    "ttl_command",
    "ttl_seconds",
    "unframe",
]

Command = tuple[Any, ...]

#: Compare-and-set in one server-side step. A missing key reads as false, which equals no string.
CAS_SCRIPT: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""
#: PERSIST that tells a key without expiry (kept, 1) from a missing key (0), which PERSIST alone
#: answers alike.
PERSIST_SCRIPT: Final = """
if redis.call('PERSIST', KEYS[1]) == 1 then return 1 end
return redis.call('EXISTS', KEYS[1])
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


def fresh_keys(page: Iterable[bytes], seen: set[bytes], strip: int) -> list[str]:
    """The store's keys in a SCAN page that were not in an earlier page (SCAN may return a key
    twice when the server resizes its table), each added to ``seen``; see :func:`decode_key`."""
    fresh: list[str] = []
    for raw in page:
        if raw not in seen:
            seen.add(raw)
            name = decode_key(raw, strip)
            if name is not None:
                fresh.append(name)
    return fresh


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


def command_key(command: Command) -> bytes:
    """The one Redis key a single-key command (or script, as :func:`cas_command` builds) acts on."""
    key: bytes = command[3] if command[0] == "EVAL" else command[1]
    return key


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


def encode_items(prefix: str, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> dict[bytes, bytes]:
    """The Redis key and checked bytes of every pair of a ``set_many`` (the last value of a key wins)."""
    return {encode_key(prefix, key): as_bytes(value, key, _STORE) for key, value in item_pairs(items)}


def set_many_command(
    values: Mapping[bytes, bytes], px: int | None
) -> tuple[Callable[[list[bytes]], Command], bool]:
    """The command that writes one group of the keys of ``values``, and whether every group must be
    one key: ``MSET`` per group, or (MSET cannot expire keys) one ``SET PX`` per key."""
    if px is None:
        return (lambda group: ("MSET", *(part for key in group for part in (key, values[key])))), False
    return (lambda group: ("SET", group[0], values[group[0]], "PX", px)), True


def found_values(wanted: Mapping[bytes, str], replies: Iterable[tuple[list[bytes], Any]]) -> dict[str, bytes]:
    """The present values of a ``get_many``: each group of Redis keys with its ``MGET`` reply."""
    found: dict[str, bytes] = {}
    for group, values in replies:
        for encoded, value in zip(group, values, strict=True):
            if value is not None:
                found[wanted[encoded]] = value
    return found


# -- expiry -------------------------------------------------------------------------------------


def ttl_command(rkey: bytes) -> Command:
    """``PTTL``: the key's time left in milliseconds; -1 if it never expires, -2 if it is absent."""
    return ("PTTL", rkey)


def ttl_seconds(reply: int, key: str) -> float | None:
    """The seconds left of ``key`` from its ``PTTL`` reply; None if it never expires."""
    if reply == -2:
        raise MissingKey(key)
    if reply == -1:
        return None
    return max(0, reply) / 1000


def touch_command(rkey: bytes, px: int | None) -> Command:
    """Expire the key ``px`` ms from now (``PEXPIRE``), or never (``PERSIST``); the reply is 0 when
    the key is absent."""
    if px is None:
        return ("EVAL", PERSIST_SCRIPT, 1, rkey)
    return ("PEXPIRE", rkey, px)


# -- a batch on one connection ------------------------------------------------------------------


def frame(commands: list[Command], transaction: bool, replicas: int, timeout: float) -> list[Command]:
    """The commands as sent on one connection: inside ``MULTI``/``EXEC`` for a ``transaction``,
    followed by ``WAIT`` for ``replicas`` acknowledgements within ``timeout`` seconds."""
    framed = [("MULTI",), *commands, ("EXEC",)] if transaction else list(commands)
    if replicas:
        # at least 1 ms: WAIT with 0 ms waits for ever
        framed.append(("WAIT", replicas, max(1, math.ceil(timeout * 1000))))
    return framed


def unframe(replies: list[Any], transaction: bool, replicas: int, timeout: float) -> list[Any]:
    """The replies of :func:`frame`'s commands, as one per command; an error reply is raised, and
    too few replica acknowledgements raise StoreUnavailable."""
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    if replicas:
        acknowledged = replies.pop()
        if acknowledged < replicas:
            raise StoreUnavailable(
                f"The write reached the master but only {acknowledged} of {replicas} replicas "
                f"acknowledged it within {timeout}s; it may be lost if the master fails now."
            )
    if not transaction:
        return replies
    results = list(replies[-1])
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def pack(connection: Any, commands: list[Command]) -> Any:
    """The commands in the Redis protocol: hiredis packs each in one C call when it is installed."""
    try:
        from hiredis import pack_command
    except ImportError:
        return connection.pack_commands(commands)
    return [b"".join([pack_command(command) for command in commands])]
