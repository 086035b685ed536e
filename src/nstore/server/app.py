"""The WSGI application that serves a ``Store[str, bytes]`` over HTTP (see ``openapi.json``).

What it decides (Host, token, routes, preconditions, problems) is :mod:`~nstore.server._api`'s and
what it does to the store is :mod:`~nstore.server._program`'s, shared with the ASGI app
(:mod:`nstore.server.asgi`); this module is the WSGI I/O: reading the body from ``wsgi.input``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from nstore.server import _api, _program
from nstore.server._api import BODILESS, Response, Route, Settings
from nstore.server._api import problem_response as _problem_response
from nstore.server._guard import Guard
from nstore.server.problems import Problem
from nstore.store import Store

__all__ = ["NStoreApp"]

_NO_HEADERS: dict[str, Any] = {}  # the environ _get sees on the fast path: no conditional headers


class NStoreApp(Settings):
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
        super().__init__(guard=guard, max_body=max_body, max_key_length=max_key_length, max_page=max_page)
        self.store = store
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
            _api.check_head(self.guard, environ)
            route = _api.route(self.guard, environ, self.max_key_length)
            body = self.read_body(environ) if route.has_body else b""
            response = self.respond(route, environ, body)
        except Exception as exc:
            response = _problem_response(exc)
        status, headers, body = _api.finish(self.guard, environ, response)
        start_response(status, headers)
        return (body,) if environ["REQUEST_METHOD"] != "HEAD" else (b"",)

    def admit(self, environ: dict[str, Any]) -> Response | None:
        """The response refusing a request from its head alone (Host, token), or None.

        The embedded server calls this before it reads a body, so that no client can make it
        buffer a body it would refuse; ``__call__`` makes the same checks for other servers.
        """
        try:
            _api.check_head(self.guard, environ)
        except Problem as exc:
            return _api.finish(self.guard, environ, _problem_response(exc))
        return None

    def respond(self, route: Route, environ: dict[str, Any], body: bytes) -> Response:
        """The response to a routed request with its body read (the ASGI app calls this too, in
        a thread, for a sync store); store errors are raised, for the caller to answer."""
        if route.endpoint == "get-key":  # the common case: one call, nothing to decide before it
            return self._get(route.key, environ)
        program = _program.program(route, environ, body, self.store, self)
        if self._cas_lock is not None and _program.needs_lock(route, environ):
            with self._cas_lock:
                return _program.run(program, self.store)
        return _program.run(program, self.store)

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
        return [_api.stored_response(value) for _, value in items]

    def _fast(
        self, handler: Callable[[str, dict[str, Any]], Response], key: str, environ: dict[str, Any]
    ) -> Response:
        try:
            status, headers, body = handler(key, environ)
        except Exception as exc:
            status, headers, body = _problem_response(exc)
        if status not in BODILESS:
            headers.append(("Content-Length", str(len(body))))
        return status, headers, body

    # -- single keys (also the fast path's) -------------------------------------------------------

    def _get(self, key: str, environ: dict[str, Any]) -> Response:
        return _api.value_response(self.store[key], environ)

    def _store_put(self, key: str, value: bytes, environ: dict[str, Any]) -> Response:
        # A plain PUT (the fast path's): conditions and ttl take the program in respond()
        self.store[key] = value
        return _api.stored_response(value)

    # -- the body ---------------------------------------------------------------------------------

    def read_body(self, environ: dict[str, Any]) -> bytes:
        """The request body, refused with 413 before reading more than ``max_body`` + 1 bytes."""
        size = _api.declared_length(environ, self.max_body)
        if size is not None:
            return _read_exactly(environ, size)
        data = _read(environ, self.max_body + 1)
        if len(data) > self.max_body:
            raise _api.too_large(self.max_body)
        return data


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
            raise _api.short_body(size, len(data))
        data += more
    return data
