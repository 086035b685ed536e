"""What the server decides about a request, without I/O: shared by the WSGI and the ASGI app.

A request's head is a WSGI-style ``environ`` (the ASGI app builds one from its scope with the same
header rules). From it, :func:`route` checks the Host and the token, finds the endpoint and the
key, and says whether a body is to be read; :func:`declared_length` checks the body's length before
a byte of it is read. What the path and the query say (the key, a listing's prefix, a ttl) is read
by :mod:`~nstore.server._params`; what is done to the store is in :mod:`~nstore.server._program`;
the responses to what the store answered, and the problem documents, are built here.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from nstore.server._guard import Access, Guard
from nstore.server._params import path_key, request_path
from nstore.server.openapi import document_bytes
from nstore.server.problems import Problem, problem_for
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
    "problem_response",
    "put_conditions",
    "route",
    "stored_response",
    "tags_match",
    "too_large",
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
