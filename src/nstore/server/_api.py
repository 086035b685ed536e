"""What the server decides about a request, without I/O: shared by the WSGI and the ASGI app.

A request's head is a WSGI-style ``environ`` (the ASGI app builds one from its scope with the same
header rules). From it, :func:`route` checks the Host and the token, finds the endpoint and the
key, and says whether a body is to be read; :func:`declared_length` checks the body's length before
a byte of it is read. What is done to the store is in :mod:`~nstore.server._program`; the responses
to what the store answered, and the problem documents, are built here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote_to_bytes

import msgspec

from nstore.server._guard import Access, Guard
from nstore.server.openapi import MAX_TTL, document_bytes
from nstore.server.problems import INVALID_KEY_DETAIL, Problem, problem_for
from nstore.stores._http_wire import etag

__all__ = [
    "BODILESS",
    "KEY_PREFIX",
    "TTL_PREFIX",
    "Response",
    "Route",
    "Settings",
    "capabilities_response",
    "check_head",
    "declared_length",
    "finish",
    "list_query",
    "parse_ttl",
    "problem_response",
    "put_conditions",
    "route",
    "stored_response",
    "tags_match",
    "too_large",
    "touch_ttl",
    "ttl_response",
    "value_response",
]

Response = tuple[str, list[tuple[str, str]], bytes]
KEYS = "/v1/keys"
KEY_PREFIX = "/v1/keys/"
TTL_PREFIX = "/v1/ttl/"
JSON = "application/json"
OCTETS_HEADER = ("Content-Type", "application/octet-stream")
_KEY_METHODS = "GET, HEAD, PUT, DELETE"
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_PLAIN_ENDPOINTS = (KEYS, "/v1/batch", "/v1/capabilities", "/v1/ttl")
#: The statuses whose responses carry no Content-Length: a 204 must not (RFC 9110 8.6), and a 304
#: would have to give the length of the 200 it stands for.
BODILESS = ("204 No Content", "304 Not Modified")


#: The endpoints without a key: their name and the methods they take.
_ENDPOINTS = {
    KEYS: ("list", "GET, HEAD"),
    "/v1/batch": ("batch", "POST"),
    "/v1/health": ("health", "GET, HEAD"),
    "/v1/openapi.json": ("openapi", "GET, HEAD"),
    "/v1/capabilities": ("capabilities", "GET, HEAD"),
}


class Settings:
    """What both apps are configured with: the checks of a request's head, and its limits."""

    def __init__(self, *, guard: Guard, max_body: int, max_key_length: int, max_page: int) -> None:
        self.guard = guard
        self.max_body = max_body
        self.max_key_length = max_key_length
        self.max_page = max_page


class Route(NamedTuple):
    """Where a request goes: an endpoint name, its key (or ""), the access its token grants,
    and whether it has a body to read."""

    endpoint: str
    key: str
    access: Access
    has_body: bool


def preflight(guard: Guard, environ: dict[str, Any]) -> bool:
    return environ["REQUEST_METHOD"] == "OPTIONS" and guard.cors_origins is not None


def check_head(guard: Guard, environ: dict[str, Any]) -> None:
    """Refuse a request from its head alone: a Host not allowed, a missing or wrong token."""
    if environ.get("HTTP_HOST") not in guard.known_hosts and not guard.any_host:
        guard.check_host(environ)
    if guard.auth_enabled and not preflight(guard, environ):
        path: str = environ.get("PATH_INFO", "")
        if path.startswith(_PLAIN_ENDPOINTS):
            guard.access(environ)


def route(guard: Guard, environ: dict[str, Any], max_key_length: int) -> Route:
    """The route of a request whose head :func:`check_head` has passed; a Problem if none."""
    method: str = environ["REQUEST_METHOD"]
    path, raw = request_path(environ)
    if preflight(guard, environ):
        return Route("preflight", "", "read", False)
    for prefix, name in ((KEY_PREFIX, "key"), (TTL_PREFIX, "ttl")):
        if path.startswith(prefix):
            access = guard.access(environ) if guard.auth_enabled else "write"
            key = path_key(path[len(prefix) :], raw, max_key_length)
            allowed = _KEY_METHODS if name == "key" else "GET, PUT"
            if method not in allowed.split(", "):
                raise not_allowed(allowed)
            if method in ("PUT", "DELETE"):
                require_write(access)
            endpoint = f"{method.lower()}-{name}" if method != "HEAD" else "get-key"
            return Route(endpoint, key, access, method == "PUT")
    found = _ENDPOINTS.get(path)
    if found is None:
        raise Problem(404, "not-found", "No such endpoint; see /v1/openapi.json.")
    name, allowed = found
    if method not in allowed.split(", "):
        raise not_allowed(allowed)
    needs_token = name in ("list", "batch", "capabilities")
    access = guard.access(environ) if needs_token else "read"
    return Route(name, "", access, name == "batch")


def static_response(name: str, guard: Guard, environ: dict[str, Any]) -> Response | None:
    """The response of an endpoint that does not touch the store, or None."""
    if name == "preflight":
        return "204 No Content", guard.cors_headers(environ, preflight=True), b""
    if name == "health":
        return "200 OK", [("Content-Type", JSON), ("Cache-Control", "no-store")], b'{"status":"ok"}'
    if name == "openapi":
        return "200 OK", [("Content-Type", JSON)], document_bytes()
    return None


def capabilities_response(store: Any) -> Response:
    """What the store behind the server can do (clients read it once)."""
    names = ("supports_ttl", "supports_atomic_writes", "supports_prefix_listing", "is_persistent")
    body = json.dumps({name: bool(getattr(store, name)) for name in names}).encode()
    return "200 OK", [("Content-Type", JSON)], body


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


def check_key(data: bytes, max_key_length: int) -> str:
    if len(data) > max_key_length:
        raise Problem(414, "key-too-long", f"Expected a key of at most {max_key_length} bytes.")
    if not data:
        raise Problem(400, "invalid-key", INVALID_KEY_DETAIL)
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise Problem(400, "invalid-key", "Expected a key in UTF-8 (percent-encoded).") from None


# -- single keys -------------------------------------------------------------------------------------


def value_response(value: bytes, environ: dict[str, Any]) -> Response:
    """The answer to GET (or HEAD) of a key holding ``value``: 200, or 304 for If-None-Match."""
    tag = etag(value)
    if_none = environ.get("HTTP_IF_NONE_MATCH")
    if if_none is not None and none_match(if_none, tag):
        return "304 Not Modified", [("ETag", tag)], b""
    # For HEAD the body is dropped when sent; Content-Length still tells the value's size.
    return "200 OK", [("ETag", tag), OCTETS_HEADER], value


def none_match(field: str, tag: str) -> bool:
    """Whether an If-None-Match ``field`` holds ``tag``, by weak comparison (RFC 9110 13.1.2:
    ``W/"x"`` matches ``"x"``), or is ``*``, which any current value matches."""
    if field == tag:  # the common case: the one ETag a client read
        return True
    for member in field.split(","):
        member = member.strip(" \t")
        if member == "*" or member.removeprefix("W/") == tag:
            return True
    return False


def stored_response(value: bytes) -> Response:
    return "204 No Content", [("ETag", etag(value))], b""


class PutConditions(NamedTuple):
    """A PUT's preconditions: create only, or the ETags the current value must have (or None)."""

    create: bool
    tags: frozenset[str] | None


def put_conditions(environ: dict[str, Any]) -> PutConditions:
    if_none = environ.get("HTTP_IF_NONE_MATCH")
    if_match = environ.get("HTTP_IF_MATCH")
    if if_none is not None:
        if if_none.strip() != "*" or if_match is not None:
            raise Problem(400, "bad-precondition", "Expected If-None-Match: * (create only), alone.")
        return PutConditions(True, None)
    if if_match is not None:
        tags = frozenset(t.strip() for t in if_match.split(","))
        if not all(t == "*" or (len(t) == 34 and t[0] == t[-1] == '"') for t in tags):
            raise Problem(400, "bad-precondition", 'Expected If-Match: "<etag>" (from a read) or *.')
        return PutConditions(False, tags)
    return PutConditions(False, None)


def tags_match(current: bytes, tags: frozenset[str]) -> bool:
    return "*" in tags or etag(current) in tags


def check_delete(environ: dict[str, Any]) -> None:
    if "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ:
        raise Problem(400, "bad-precondition", "Conditional deletes are not supported.")


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


def ttl_unsupported() -> Problem:
    return Problem(
        409,
        "ttl-unsupported",
        "The store behind this server has no per-key expiry (supports_ttl is false in "
        "/v1/capabilities); store the value without a ttl.",
    )


def ttl_response(left: float | None) -> Response:
    return (
        "200 OK",
        [("Content-Type", JSON), ("Cache-Control", "no-store")],
        json.dumps({"ttl": left}).encode(),
    )


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


# -- bodies, access and responses ----------------------------------------------------------------


def declared_length(environ: dict[str, Any], max_body: int) -> int | None:
    """The body's Content-Length (None without one), refused with 413 above ``max_body``."""
    length = environ.get("CONTENT_LENGTH")
    if not length:
        return None
    if not (length.isascii() and length.isdigit()):
        raise Problem(400, "bad-length", "Expected a decimal Content-Length.")
    if len(length) > 18 or int(length) > max_body:  # int() refuses over 4,300 digits
        raise too_large(max_body)
    return int(length)


def too_large(max_body: int) -> Problem:
    return Problem(413, "value-too-large", f"Expected a body of at most {max_body} bytes.")


def short_body(size: int, got: int) -> Problem:
    return Problem(400, "bad-body", f"Expected a body of {size} bytes. Got {got}.")


def require_write(access: Access) -> None:
    if access != "write":
        raise Problem(403, "forbidden", "This token may only read; writes need a read-write token.")


def not_allowed(allow: str) -> Problem:
    return Problem(405, "method-not-allowed", f"Expected one of {allow}.", (("Allow", allow),))


def problem_response(exc: Exception) -> Response:
    problem = problem_for(exc)
    headers = [("Content-Type", "application/problem+json"), *problem.headers]
    if problem.status == 413:
        headers.append(("Connection", "close"))  # the rest of the body is never read
    return f"{problem.status} {problem.title}", headers, problem.body()


def finish(guard: Guard, environ: dict[str, Any], response: Response) -> Response:
    """``response`` with its CORS headers (if configured) and Content-Length (but in BODILESS)."""
    status, headers, body = response
    if guard.cors_origins is not None and not preflight(guard, environ):
        headers += guard.cors_headers(environ, preflight=False)
    if status not in BODILESS:
        headers.append(("Content-Length", str(len(body))))
    return status, headers, body
