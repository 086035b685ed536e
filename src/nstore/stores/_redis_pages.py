"""Listing a Redis keyspace one page at a time from a SCAN cursor (``RedisStore.keys_page``).

SCAN is unordered, so a page's position is the SCAN cursor itself: ``[node, scan_cursor,
pending]`` as JSON, where ``node`` indexes the servers listed (the masters of a cluster) and
``pending`` holds the keys a SCAN step returned beyond the page's limit (COUNT is only a hint to
the server; one hash bucket can hold more keys), served first on the next page. So a page holds
at most ``limit`` keys, and a key present for the whole listing is returned by SCAN at least
once (twice only if Redis resizes its table meanwhile, as SCAN documents).

Only string keys are listed (``SCAN ... TYPE string``, Redis 6.0 or later): a hash, list or set
that another client keeps in the database is not a key of the store, which reads values with
``GET``; a read of one finds nothing (:func:`wrong_type`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from nstore.errors import ConfigurationError
from nstore.store import KeyPage
from nstore.stores._redis_commands import decode_key

__all__ = ["VALUE_TYPE", "holds_value", "scan_page", "wrong_type"]

#: The one Redis type a RedisStore's keys have: what ``GET`` reads and ``SET`` writes.
VALUE_TYPE = "string"

#: SCAN steps one page may take: a sparse prefix then gives a short (even empty) page, not a
#: walk of the whole keyspace in one call.
MAX_STEPS = 16
_Position = tuple[int, int, list[str]]
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Position).decode


def scan_page(
    clients: Sequence[Any],
    pattern: bytes,
    strip: int,
    cursor: str | None,
    limit: int,
    call: Callable[..., Any],
) -> KeyPage[str]:
    """Up to ``limit`` keys matching ``pattern`` (``strip`` bytes of store prefix cut off) from
    ``cursor``; ``call(fn, *args, **kwargs)`` runs a Redis command with the store's retries."""
    node, position, keys = (0, 0, []) if cursor is None else _position(cursor, len(clients))
    steps = 0
    while len(keys) < limit and node < len(clients) and steps < MAX_STEPS:
        scan = clients[node].scan
        position, found = call(scan, position, match=pattern, count=limit - len(keys), _type=VALUE_TYPE)
        keys += [k for k in (decode_key(raw, strip) for raw in found) if k is not None]
        steps += 1
        if position == 0:
            node += 1
    pending = keys[limit:]
    if node >= len(clients) and not pending:
        return KeyPage(keys, None)
    return KeyPage(keys[:limit], _encode((node, position, pending)).decode())


def holds_value(reply: object) -> bool:
    """Whether a ``TYPE`` reply is that of a key of the store (bytes, or str from a decoding client)."""
    return reply in (VALUE_TYPE, VALUE_TYPE.encode())


def wrong_type(exc: BaseException) -> bool:
    """Whether ``exc`` is Redis's ``WRONGTYPE`` reply: the key holds a hash, a list or another type."""
    from redis.exceptions import ResponseError

    return isinstance(exc, ResponseError) and str(exc).startswith("WRONGTYPE")


def _position(cursor: str, nodes: int) -> _Position:
    try:
        node, position, pending = _decode(cursor)
    except (msgspec.DecodeError, TypeError):
        raise ConfigurationError(
            f"Expected a cursor from this RedisStore's keys_page. Got {cursor!r}; start with cursor=None."
        ) from None
    if not 0 <= node <= nodes or position < 0:
        raise ConfigurationError(f"Expected a cursor from this RedisStore's keys_page. Got {cursor!r}.")
    return node, position, pending
