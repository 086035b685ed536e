"""What a request's target and parameters say, shared by the WSGI and the ASGI app: the path it is
routed on, the key in it (percent-decoded once, as UTF-8), a listing's prefix, cursor and limit, and
a ttl (a PUT's query parameter, or a touch's body). Each is refused with a problem document when
it does not hold."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qs, unquote_to_bytes

import msgspec

from nstore.server.openapi import MAX_TTL
from nstore.server.problems import INVALID_KEY_DETAIL, Problem

__all__ = [
    "check_key",
    "check_ttl_value",
    "list_query",
    "parse_ttl",
    "path_key",
    "put_query",
    "request_path",
    "touch_ttl",
]

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


# -- keys ------------------------------------------------------------------------------------------


def request_path(environ: dict[str, Any]) -> tuple[str, bool]:
    """The path requests are routed on, and whether it is raw (percent-escapes still in it).

    It is the raw path the client sent, below SCRIPT_NAME and without the query, when the server
    gives one (RAW_URI or REQUEST_URI), so that an escaped ``/`` (``/v1/keys%2Fq``) separates
    nothing; else PATH_INFO, which the server has decoded already (as latin-1).
    """
    raw: str | None = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and raw[0] == "/":  # not an absolute-form target the server passed on as it came
        if "?" in raw:
            raw = raw.partition("?")[0]
        script: str = environ.get("SCRIPT_NAME", "")
        if not script:
            return raw, True
        if raw.startswith(script):
            return raw[len(script) :], True
    return environ.get("PATH_INFO", ""), False


def path_key(tail: str, raw: bool, max_key_length: int) -> str:
    """The key in the ``tail`` of a path after its endpoint's prefix, percent-decoded exactly once
    as UTF-8 if the path is ``raw`` (see :func:`request_path`)."""
    data = unquote_to_bytes(tail) if raw and "%" in tail else tail.encode("latin-1")
    return check_key(data, max_key_length)


def check_key(data: bytes, max_key_length: int, *, too_long: int = 414) -> str:
    """The key ``data`` holds; refused as too long with status ``too_long`` (414 for a key in the
    request target, 400 for one in a body, which is no URI)."""
    if len(data) > max_key_length:
        raise Problem(too_long, "key-too-long", f"Expected a key of at most {max_key_length} bytes.")
    if not data:
        raise Problem(400, "invalid-key", INVALID_KEY_DETAIL)
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise Problem(400, "invalid-key", "Expected a key in UTF-8 (percent-encoded).") from None


# -- expiry ------------------------------------------------------------------------------------------


def _bad_ttl(text: object) -> Problem:
    return Problem(
        400, "bad-ttl", f"Expected a ttl of seconds, a number above 0 and at most {MAX_TTL:g}. Got {text!r}."
    )


def check_ttl_value(ttl: float) -> float:
    if not (0 < ttl <= MAX_TTL) or not math.isfinite(ttl):
        raise _bad_ttl(ttl)
    return ttl


def parse_ttl(query: dict[str, list[str]]) -> float | None:
    """The ``ttl`` query parameter of a PUT (seconds), or None without one."""
    values = query.get("ttl")
    if not values:
        return None
    if len(values) > 1:
        raise Problem(400, "bad-ttl", f"Expected one ttl parameter. Got {len(values)}.")
    if not _NUMBER.fullmatch(values[0]):
        raise _bad_ttl(values[0])
    return check_ttl_value(float(values[0]))


def put_query(environ: dict[str, Any]) -> float | None:
    """The ttl of a PUT from its query (the only parameter it takes)."""
    text: str = environ.get("QUERY_STRING", "")
    if not text:
        return None
    query = parse_qs(text, keep_blank_values=True)
    if set(query) - {"ttl"}:
        raise Problem(400, "bad-query", "Expected only the query parameter ttl.")
    return parse_ttl(query)


class _Touch(msgspec.Struct, forbid_unknown_fields=True):
    ttl: float | None


_touch = msgspec.json.Decoder(_Touch)


def touch_ttl(body: bytes) -> float | None:
    """The ttl of ``PUT /v1/ttl/{key}``: ``{"ttl": seconds}``, or ``{"ttl": null}`` for never."""
    try:
        ttl = _touch.decode(body).ttl
    except msgspec.DecodeError as exc:
        raise Problem(400, "bad-ttl", f'Expected {{"ttl": seconds or null}}: {exc}') from None
    return None if ttl is None else check_ttl_value(ttl)


# -- listing -----------------------------------------------------------------------------------------


def list_query(environ: dict[str, Any], max_page: int) -> tuple[str | None, str | None, int]:
    """The prefix (None for all), cursor (None first) and limit of a listing request."""
    # Bytes that are no UTF-8 become lone surrogates, refused below as they are in a key's path.
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True, errors="surrogateescape")
    prefix = _single(query, "prefix", "")
    limit_text = _single(query, "limit", str(max_page))
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= max_page:
        raise Problem(400, "bad-limit", f"Expected limit from 1 to {max_page}. Got {limit_text!r}.")
    if set(query) - {"prefix", "limit", "cursor"}:
        raise Problem(400, "bad-query", "Expected only the query parameters prefix, limit and cursor.")
    cursor = _single(query, "cursor", "")
    if not _utf8(prefix):
        raise Problem(400, "invalid-key", "Expected a key prefix in UTF-8 (percent-encoded).")
    if not _utf8(cursor):
        raise Problem(400, "bad-cursor", "Expected a cursor in UTF-8; pass back the next_cursor of a page.")
    return prefix or None, cursor or None, int(limit_text)


def _utf8(text: str) -> bool:
    """Whether ``text`` decoded from UTF-8 with no byte escaped as a lone surrogate."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _single(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise Problem(400, f"bad-{name}", f"Expected one {name} parameter. Got {len(values)}.")
    return values[0]
