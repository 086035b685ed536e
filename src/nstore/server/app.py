"""The WSGI application that serves a ``Store[str, bytes]`` over HTTP (see ``openapi.json``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote_to_bytes

from nstore.errors import ConfigurationError
from nstore.server import _batch
from nstore.server._guard import Access, Guard
from nstore.server.openapi import document_bytes
from nstore.server.problems import INVALID_KEY_DETAIL, Problem, problem_for
from nstore.store import Store
from nstore.stores._http_wire import etag

__all__ = ["NStoreApp"]

_KEYS = "/v1/keys"
_KEY_PREFIX = "/v1/keys/"
_OCTETS = "application/octet-stream"
_OCTETS_HEADER = ("Content-Type", _OCTETS)
_NO_HEADERS: dict[str, Any] = {}  # the environ _get sees on the fast path: no conditional headers
_JSON = "application/json"
_KEY_METHODS = "GET, HEAD, PUT, DELETE"
Response = tuple[str, list[tuple[str, str]], bytes]


class NStoreApp:
    """A WSGI application serving ``store``; build it with :func:`nstore.server.make_app`.

    Examples
    --------
    >>> import io
    >>> from nstore import MemoryStore
    >>> from nstore.server import make_app
    >>> app = make_app(MemoryStore[str, bytes]({"k": b"v"}))
    >>> environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/keys/k", "HTTP_HOST": "localhost",
    ...            "wsgi.input": io.BytesIO()}
    >>> b"".join(app(environ, lambda status, headers: print(status)))
    200 OK
    b'v'
    """

    def __init__(
        self,
        store: Store[str, bytes],
        *,
        guard: Guard,
        max_body: int,
        max_key_length: int,
        max_page: int = 1000,
    ) -> None:
        self.store = store
        self.guard = guard
        self.max_body = max_body
        self.max_key_length = max_key_length
        self.max_page = max_page
        # Conditional writes on a store without atomic ones are serialized here; this protects
        # only against other requests to this server process (see docs/http.md).
        self._cas_lock = None if store.supports_atomic_writes else threading.Lock()

    @property
    def blocking(self) -> bool:
        """Whether a request can block on I/O: the store is persistent or remote.

        The embedded server runs a non-blocking app (an in-memory store) on its event loop, and
        any other on worker threads.
        """
        store = self.store
        return store.is_persistent or store.is_remote

    @property
    def short_reads(self) -> bool:
        """Whether a read is short enough to serve on the embedded server's event loop: the
        store is local (a file or SQLite in WAL mode, where a read does not wait for writers).

        The server still times each such read and sends reads to its threads for a while after
        a slow one (see ``nstore.server._runner``).
        """
        return not self.store.is_remote

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            self._check_head(environ)
            status, headers, body = self._dispatch(environ)
        except Exception as exc:
            status, headers, body = _problem_response(exc)
        status, headers, body = self._finish(environ, status, headers, body)
        start_response(status, headers)
        return (body,) if environ["REQUEST_METHOD"] != "HEAD" else (b"",)

    def admit(self, environ: dict[str, Any]) -> Response | None:
        """The response refusing a request from its head alone (Host, token), or None.

        The embedded server calls this before it reads a body, so that no client can make it
        buffer a body it would refuse; ``__call__`` makes the same checks for other servers.
        """
        try:
            self._check_head(environ)
        except Problem as exc:
            return self._finish(environ, *_problem_response(exc))
        return None

    def _check_head(self, environ: dict[str, Any]) -> None:
        guard = self.guard
        if environ.get("HTTP_HOST") not in guard.known_hosts and not guard.any_host:
            guard.check_host(environ)
        if guard.auth_enabled and not self._preflight(environ):
            path: str = environ.get("PATH_INFO", "")
            if path.startswith(_KEYS) or path == "/v1/batch":
                guard.access(environ)

    def _preflight(self, environ: dict[str, Any]) -> bool:
        return environ["REQUEST_METHOD"] == "OPTIONS" and self.guard.cors_origins is not None

    def _finish(
        self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes
    ) -> Response:
        if self.guard.cors_origins is not None and not self._preflight(environ):
            headers += self.guard.cors_headers(environ, preflight=False)
        headers.append(("Content-Length", str(len(body))))
        return status, headers, body

    def fast_key(self, host: bytes, target: bytes) -> str | None:
        """The key of a plain ``GET`` or ``PUT /v1/keys/{key}`` the fast methods may serve, or None.

        The embedded server asks this for a GET or PUT whose only headers are Host,
        Content-Length and ones the app ignores. Only the simplest case is taken (no auth, no
        CORS, a Host already allowed, a key without percent escapes or query); for everything
        else it returns None before any work is done, and the request takes ``__call__``.
        """
        guard = self.guard
        if guard.auth_enabled or guard.cors_origins is not None:
            return None
        if not guard.any_host and host.decode("latin-1") not in guard.known_hosts:
            return None  # __call__ checks it (and remembers it when allowed)
        if not target.startswith(b"/v1/keys/") or b"%" in target or b"?" in target:
            return None
        data = target[9:]  # len(_KEY_PREFIX)
        if not data or len(data) > self.max_key_length or not data.isascii():
            return None
        return data.decode("ascii")

    def fast_get(self, key: str) -> Response:
        """The response to ``GET /v1/keys/{key}`` for a key from :meth:`fast_key`."""
        return self._fast(self._get, key, _NO_HEADERS)

    def fast_put(self, key: str, value: bytes) -> Response:
        """The response to ``PUT /v1/keys/{key}`` of ``value`` for a key from :meth:`fast_key`."""
        return self._fast(lambda key, environ: self._store_put(key, value, environ), key, _NO_HEADERS)

    def fast_put_many(self, items: list[tuple[str, bytes]]) -> list[Response]:
        """The responses to several plain PUTs, written with one ``set_many`` (one transaction,
        one commit where the store has them): each is answered after its value is stored. If
        ``set_many`` fails, each PUT is retried alone, so one bad PUT fails only itself."""
        try:
            self.store.set_many(items)
        except Exception:
            return [self.fast_put(key, value) for key, value in items]
        return [
            ("204 No Content", [("ETag", etag(value)), ("Content-Length", "0")], b"") for _, value in items
        ]

    def _fast(
        self, handler: Callable[[str, dict[str, Any]], Response], key: str, environ: dict[str, Any]
    ) -> Response:
        try:
            status, headers, body = handler(key, environ)
        except Exception as exc:
            status, headers, body = _problem_response(exc)
        headers.append(("Content-Length", str(len(body))))
        return status, headers, body

    # -- routing -----------------------------------------------------------------------------------

    def _dispatch(self, environ: dict[str, Any]) -> Response:
        method: str = environ["REQUEST_METHOD"]
        path: str = environ.get("PATH_INFO", "")
        if method == "OPTIONS" and self.guard.cors_origins is not None:
            return "204 No Content", self.guard.cors_headers(environ, preflight=True), b""
        if path.startswith(_KEY_PREFIX):
            access = self.guard.access(environ) if self.guard.auth_enabled else "write"
            key = self._key(environ)
            if method == "GET" or method == "HEAD":
                return self._get(key, environ)
            if method in ("PUT", "DELETE"):
                _require_write(access)
                return self._put(key, environ) if method == "PUT" else self._delete(key, environ)
            raise _not_allowed(_KEY_METHODS)
        if path == _KEYS:
            if method not in ("GET", "HEAD"):
                raise _not_allowed("GET, HEAD")
            self.guard.access(environ)
            return self._list(environ)
        if path == "/v1/batch":
            if method != "POST":
                raise _not_allowed("POST")
            return self._batch(self.guard.access(environ), environ)
        if path == "/v1/health":
            if method not in ("GET", "HEAD"):
                raise _not_allowed("GET, HEAD")
            return "200 OK", [("Content-Type", _JSON), ("Cache-Control", "no-store")], b'{"status":"ok"}'
        if path == "/v1/openapi.json":
            if method not in ("GET", "HEAD"):
                raise _not_allowed("GET, HEAD")
            return "200 OK", [("Content-Type", _JSON)], document_bytes()
        raise Problem(404, "not-found", "No such endpoint; see /v1/openapi.json.")

    def _key(self, environ: dict[str, Any]) -> str:
        # The raw request target, when the server gives it, is decoded exactly once here;
        # PATH_INFO (already decoded by the server, as latin-1) is the fallback.
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        script = environ.get("SCRIPT_NAME", "")
        if raw and not script and raw.startswith(_KEY_PREFIX):  # the common case, no concatenation
            tail = raw[9:]  # len(_KEY_PREFIX)
            data = tail.encode("latin-1") if "?" not in tail and "%" not in tail else _tail_bytes(tail)
        elif raw and raw.startswith(script + _KEY_PREFIX):
            data = _tail_bytes(raw[len(script) + len(_KEY_PREFIX) :])
        else:
            data = environ["PATH_INFO"][len(_KEY_PREFIX) :].encode("latin-1")
        return self._check_key(data)

    def _check_key(self, data: bytes) -> str:
        if len(data) > self.max_key_length:
            raise Problem(414, "key-too-long", f"Expected a key of at most {self.max_key_length} bytes.")
        if not data:
            raise Problem(400, "invalid-key", INVALID_KEY_DETAIL)
        try:
            return data.decode()
        except UnicodeDecodeError:
            raise Problem(400, "invalid-key", "Expected a key in UTF-8 (percent-encoded).") from None

    # -- single keys -------------------------------------------------------------------------------

    def _get(self, key: str, environ: dict[str, Any]) -> Response:
        value = self.store[key]
        tag = etag(value)
        if_none = environ.get("HTTP_IF_NONE_MATCH")
        if if_none is not None and if_none in (tag, "*"):
            return "304 Not Modified", [("ETag", tag)], b""
        # For HEAD the body is dropped in __call__; Content-Length still tells the value's size.
        return "200 OK", [("ETag", tag), _OCTETS_HEADER], value

    def _put(self, key: str, environ: dict[str, Any]) -> Response:
        return self._store_put(key, self.read_body(environ), environ)

    def _store_put(self, key: str, value: bytes, environ: dict[str, Any]) -> Response:
        headers = [("ETag", etag(value))]
        if_none = environ.get("HTTP_IF_NONE_MATCH")
        if_match = environ.get("HTTP_IF_MATCH")
        if if_none is not None:
            if if_none.strip() != "*" or if_match is not None:
                raise Problem(400, "bad-precondition", "Expected If-None-Match: * (create only), alone.")
            if not self._conditional(lambda: self.store.set_if_absent(key, value)):
                raise Problem(412, "precondition-failed", "A value is already stored at this key.")
        elif if_match is not None:
            tags = {t.strip() for t in if_match.split(",")}
            if not all(t == "*" or (len(t) == 34 and t[0] == t[-1] == '"') for t in tags):
                raise Problem(400, "bad-precondition", 'Expected If-Match: "<etag>" (from a read) or *.')
            if not self._conditional(lambda: self._compare_and_set(key, tags, value)):
                raise Problem(412, "precondition-failed", "The stored value does not match If-Match.")
        else:
            self.store[key] = value
        return "204 No Content", headers, b""

    def _compare_and_set(self, key: str, tags: set[str], value: bytes) -> bool:
        try:
            current = self.store[key]
        except KeyError:
            return False
        if "*" not in tags and etag(current) not in tags:
            return False
        return (
            self.store.compare_and_set(key, current, value)
            if self._cas_lock is None
            else _set(self.store, key, value)
        )

    def _conditional(self, write: Callable[[], bool]) -> bool:
        if self._cas_lock is None:
            return write()
        with self._cas_lock:
            return write()

    def _delete(self, key: str, environ: dict[str, Any]) -> Response:
        if "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ:
            raise Problem(400, "bad-precondition", "Conditional deletes are not supported.")
        del self.store[key]
        return "204 No Content", [], b""

    # -- listing and batches ----------------------------------------------------------------------

    def _list(self, environ: dict[str, Any]) -> Response:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        prefix = _single(query, "prefix", "")
        limit_text = _single(query, "limit", str(self.max_page))
        if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= self.max_page:
            raise Problem(400, "bad-limit", f"Expected limit from 1 to {self.max_page}. Got {limit_text!r}.")
        limit = int(limit_text)
        unknown = set(query) - {"prefix", "limit", "cursor"}
        if unknown:
            raise Problem(400, "bad-query", "Expected only the query parameters prefix, limit and cursor.")
        cursor = _single(query, "cursor", "") or None
        # The store serves the page from its cursor (an index range, a resumed directory walk, a
        # SCAN cursor), so a page costs one page; the cursor is the store's own token.
        try:
            page = self.store.keys_page(prefix or None, cursor=cursor, limit=limit)
        except ConfigurationError as exc:
            raise Problem(400, "bad-cursor", f"{exc} Pass back the next_cursor of a page.") from None
        body = _batch.encode_page(page.keys, page.cursor)
        return "200 OK", [("Content-Type", _JSON)], body

    def _batch(self, access: Access, environ: dict[str, Any]) -> Response:
        content_type = environ.get("CONTENT_TYPE", _JSON).split(";")[0].strip().lower()
        request = _batch.decode_request(self.read_body(environ), content_type)
        for key in (*request.get, *request.set, *request.delete):
            self._check_key(key.encode(errors="surrogatepass"))  # lone surrogates fail the decode
        if request.set or request.delete:
            _require_write(access)
        if request.set:
            self.store.set_many(request.set)
        if request.delete:
            self.store.delete_many(request.delete)
        values = self.store.get_many(request.get) if request.get else {}
        return "200 OK", [("Content-Type", content_type)], _batch.encode_response(values, content_type)

    def read_body(self, environ: dict[str, Any]) -> bytes:
        """The request body, refused with 413 before reading more than ``max_body`` + 1 bytes."""
        length = environ.get("CONTENT_LENGTH")
        if length:
            if not (length.isascii() and length.isdigit()):
                raise Problem(400, "bad-length", "Expected a decimal Content-Length.")
            if len(length) > 18:  # int() refuses over 4,300 digits; no body is this large anyway
                raise self._too_large()
            size = int(length)
            if size > self.max_body:
                raise self._too_large()
            return _read_exactly(environ, size)
        data = _read(environ, self.max_body + 1)
        if len(data) > self.max_body:
            raise self._too_large()
        return data

    def _too_large(self) -> Problem:
        return Problem(413, "value-too-large", f"Expected a body of at most {self.max_body} bytes.")


def _read(environ: dict[str, Any], size: int) -> bytes:
    try:
        data: bytes = environ["wsgi.input"].read(size)
    except TimeoutError:
        raise Problem(408, "body-timeout", "The request body stalled; send it faster.") from None
    except (ValueError, OSError):  # bad chunk framing, a body shorter than its Content-Length
        raise Problem(400, "bad-body", "Expected a complete, well-framed request body.") from None
    return data


def _read_exactly(environ: dict[str, Any], size: int) -> bytes:
    """Exactly ``size`` bytes of body: a server may return less when the client stops sending."""
    data = _read(environ, size)
    while len(data) < size:  # a short read is allowed; only an empty one means the body ended
        more = _read(environ, size - len(data))
        if not more:
            raise Problem(400, "bad-body", f"Expected a body of {size} bytes. Got {len(data)}.")
        data += more
    return data


def _problem_response(exc: Exception) -> Response:
    problem = problem_for(exc)
    headers = [("Content-Type", "application/problem+json"), *problem.headers]
    if problem.status == 413:
        headers.append(("Connection", "close"))  # the rest of the body is never read
    return f"{problem.status} {problem.title}", headers, problem.body()


def _tail_bytes(tail: str) -> bytes:
    """The key bytes of a raw path tail: the query cut off, percent-escapes decoded."""
    tail = tail.split("?", 1)[0]
    return unquote_to_bytes(tail) if "%" in tail else tail.encode("latin-1")


def _set(store: Store[str, bytes], key: str, value: bytes) -> bool:
    store[key] = value
    return True


def _require_write(access: Access) -> None:
    if access != "write":
        raise Problem(403, "forbidden", "This token may only read; writes need a read-write token.")


def _not_allowed(allow: str) -> Problem:
    return Problem(405, "method-not-allowed", f"Expected one of {allow}.", (("Allow", allow),))


def _single(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise Problem(400, f"bad-{name}", f"Expected one {name} parameter. Got {len(values)}.")
    return values[0]
