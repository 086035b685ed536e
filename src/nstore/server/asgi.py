"""The ASGI application serving any store, sync or async: the WSGI app's API, document and defaults.

Mount it in Starlette or FastAPI, or run it under uvicorn or granian. Build it with
:func:`nstore.server.make_asgi_app`; it takes :func:`~nstore.server.make_app`'s options (tokens,
Host allow-list, CORS, body and key limits) and answers exactly as the WSGI app does, because both
run the same decisions (:mod:`~nstore.server._api`) and store programs
(:mod:`~nstore.server._program`); only the I/O is this module's:

- the head is checked (Host, token, route, Content-Length against ``max_body``) before a byte of
  the body is received, so a refused request is answered without reading it (and without
  ``100 Continue``); a body is received only up to ``max_body``, and one shorter than its
  Content-Length, or cut off by the client, is refused and never stored;
- an :class:`~nstore.AsyncStore` is awaited on the event loop; a sync :class:`~nstore.Store` is
  called on the loop if it never blocks (an in-memory store), else in one of ``workers`` threads,
  one thread hop per request (a conditional write's two calls included).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nstore.astore import AsyncStore
from nstore.errors import ConfigurationError
from nstore.server import _api, _program
from nstore.server._api import Response, Route, Settings
from nstore.server._guard import Guard
from nstore.server._wsgi import add_header
from nstore.server.app import NStoreApp
from nstore.store import Store

__all__ = ["NStoreASGIApp", "scope_environ"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class NStoreASGIApp(Settings):
    """An ASGI 3 application serving ``store`` (sync or async); see :func:`nstore.server.make_asgi_app`.

    Examples
    --------
    An app is a coroutine function of the request's scope, ``receive`` and ``send``:

    >>> sent = []
    >>> async def receive() -> dict[str, object]:
    ...     return {"type": "http.request", "body": b"", "more_body": False}
    >>> async def send(message: dict[str, object]) -> None:
    ...     sent.append(message)
    >>> from nstore import AsyncMemoryStore
    >>> from nstore.server import make_asgi_app
    >>> app = make_asgi_app(AsyncMemoryStore[str, bytes]({"k": b"v"}))
    >>> scope = {"type": "http", "method": "GET", "path": "/v1/keys/k", "headers": [(b"host", b"localhost")]}
    >>> import asyncio
    >>> asyncio.run(app(scope, receive, send))
    >>> sent[0]["status"], sent[1]["body"]
    (200, b'v')
    """

    def __init__(
        self,
        store: Store[str, bytes] | AsyncStore[str, bytes],
        *,
        guard: Guard,
        max_body: int,
        max_key_length: int,
        max_page: int = 1000,
        workers: int = 16,
    ) -> None:
        if type(workers) is not int or not 1 <= workers <= 1024:
            raise ConfigurationError(f"Expected workers from 1 to 1024. Got {workers!r} instead.")
        super().__init__(guard=guard, max_body=max_body, max_key_length=max_key_length, max_page=max_page)
        self.store = store
        self._sync: NStoreApp | None = None
        self._async: AsyncStore[str, bytes] | None = None
        if isinstance(store, AsyncStore):
            self._async = store
        else:
            self._sync = NStoreApp(
                store, guard=guard, max_body=max_body, max_key_length=max_key_length, max_page=max_page
            )
        # Conditional writes on a store without atomic ones are serialized (see docs/http.md).
        self._lock = None if store.supports_atomic_writes else asyncio.Lock()
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":  # websocket: not part of the API
            await send({"type": "websocket.close", "code": 1003})
            return
        environ = scope_environ(scope)
        try:
            _api.check_head(self.guard, environ)
            route = _api.route(self.guard, environ, self.max_key_length)
            body = await self._read_body(environ, receive) if route.has_body else b""
            response = await self._respond(route, environ, body)
        except Exception as exc:
            response = _api.problem_response(exc)
        status, headers, body = _api.finish(self.guard, environ, response)
        await send(
            {
                "type": "http.response.start",
                "status": int(status[:3]),
                "headers": [
                    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})

    async def _respond(self, route: Route, environ: dict[str, Any], body: bytes) -> Response:
        sync = self._sync
        if sync is not None:
            if not sync.blocking:  # an in-memory store: microseconds, on the loop
                return sync.respond(route, environ, body)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="nstore-asgi")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, sync.respond, route, environ, body)
        assert self._async is not None
        program = _program.program(route, environ, body, self._async, self)
        if self._lock is not None and _program.needs_lock(route, environ):
            async with self._lock:
                return await _program.arun(program, self._async)
        return await _program.arun(program, self._async)

    async def _read_body(self, environ: dict[str, Any], receive: Receive) -> bytes:
        """The whole body, refused before it is read past ``max_body``; a short one is refused."""
        declared = _api.declared_length(environ, self.max_body)
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _api.short_body(declared or size + 1, size)
            part: bytes = message.get("body", b"")
            size += len(part)
            if size > self.max_body:
                raise _api.too_large(self.max_body)
            parts.append(part)
            if not message.get("more_body", False):
                break
        if declared is not None and size != declared:
            raise _api.short_body(declared, size)
        return b"".join(parts)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Stop the worker threads (the store itself stays open: it is the caller's)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def scope_environ(scope: Scope) -> dict[str, Any]:
    """The WSGI-style environ of an ASGI request head, for the decisions shared with the WSGI app.

    Header names become ``HTTP_*`` keys as in the embedded server (a name with ``_`` is left out,
    a repeated field is joined with ", "); PATH_INFO is the path below ``root_path``, in latin-1 as
    WSGI has it, and RAW_URI the raw path when the server gives it (keys are decoded from it once).
    """
    root: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root,
        "PATH_INFO": path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
    }
    raw: bytes | None = scope.get("raw_path")
    if raw:
        environ["RAW_URI"] = raw.decode("latin-1")
    for name, value in scope["headers"]:
        add_header(environ, name, value)
    return environ
