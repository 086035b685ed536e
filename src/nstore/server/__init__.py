"""Serve any ``Store[str, bytes]`` over HTTP: a WSGI app, an ASGI app and an embedded server.

>>> from nstore import MemoryStore
>>> from nstore.server import serve_in_thread
>>> from nstore.stores.http import HTTPStore
>>> with serve_in_thread(MemoryStore[str, bytes]()) as server:
...     with HTTPStore(server.url) as remote:
...         remote["greeting"] = b"hello"
...         remote["greeting"]
b'hello'
"""

from __future__ import annotations

import signal
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

from nstore.errors import ConfigurationError
from nstore.server._guard import Guard, is_loopback
from nstore.server._http import WSGIServer
from nstore.server._options import SERVER_OPTIONS, AppOptions, ServeOptions
from nstore.server.app import NStoreApp
from nstore.store import Store

if TYPE_CHECKING:
    from nstore.astore import AsyncStore
    from nstore.server.asgi import NStoreASGIApp

__all__ = [
    "DEFAULT_PORT",
    "NStoreApp",
    "ServeOptions",
    "ServerHandle",
    "make_app",
    "make_asgi_app",
    "serve",
    "serve_in_thread",
]

DEFAULT_PORT = 8470
MiB = 1024 * 1024


def make_app(store: Store[str, bytes], **options: Unpack[AppOptions]) -> NStoreApp:
    """The WSGI application serving ``store`` (run it under any WSGI server).

    Parameters
    ----------
    store : the store to serve.
    tokens, read_only_tokens : bearer tokens granting read-write and read-only access. With
        neither, every request has full access (fine on loopback only; :func:`serve` refuses
        other hosts without a token).
    max_body : largest request body, in bytes (413 above it, refused before reading it);
        64 MiB by default.
    max_key_length : largest key, in UTF-8 bytes (414 above it); 1024 by default.
    allowed_hosts : names accepted in the Host header (``"*"`` for any, ``".example.com"`` for
        a domain and its subdomains). Default: the loopback names, against DNS rebinding.
    cors_origins : origins that get CORS headers (``"*"`` for any). Default: no CORS headers.
    """
    guard, max_body, max_key_length = _settings(options)
    return NStoreApp(store, guard=guard, max_body=max_body, max_key_length=max_key_length)


def make_asgi_app(
    store: Store[str, bytes] | AsyncStore[str, bytes], *, workers: int = 16, **options: Unpack[AppOptions]
) -> NStoreASGIApp:
    """The ASGI application serving ``store``, sync or async (mount it in Starlette or FastAPI,
    or run it under uvicorn or granian).

    ``options`` are :func:`make_app`'s, with the same defaults, and the API is the same.
    ``workers`` is the number of threads that run a sync store's requests when the store can
    block (persistent or remote); an in-memory store is served on the event loop, an
    :class:`~nstore.AsyncStore` awaited there. The server that runs the app binds the address:
    beyond loopback, give ``tokens`` (and ``allowed_hosts``) as :func:`serve` requires.
    """
    from nstore.server.asgi import NStoreASGIApp

    guard, max_body, max_key_length = _settings(options)
    return NStoreASGIApp(
        store, guard=guard, max_body=max_body, max_key_length=max_key_length, workers=workers
    )


def _settings(options: AppOptions) -> tuple[Guard, int, int]:
    """The checks and limits of either app, each option checked."""
    known = AppOptions.__optional_keys__
    unknown = sorted(set(options) - known)
    if unknown:
        expected = ", ".join(sorted(known))
        raise ConfigurationError(f"Unknown option {unknown[0]!r}; expected some of {expected}.")
    max_body = options.get("max_body", 64 * MiB)
    max_key_length = options.get("max_key_length", 1024)
    for name, value, least in (("max_body", max_body, 0), ("max_key_length", max_key_length, 1)):
        if type(value) is not int or value < least:
            raise ConfigurationError(f"Expected an integer >= {least} for {name}. Got {value!r} instead.")
    guard = Guard(
        tokens=options.get("tokens"),
        read_only_tokens=options.get("read_only_tokens"),
        allowed_hosts=options.get("allowed_hosts"),
        cors_origins=options.get("cors_origins"),
    )
    return guard, max_body, max_key_length


class ServerHandle:
    """A running embedded server: :attr:`url`, :meth:`shutdown`, and use as a context manager."""

    def __init__(self, server: WSGIServer, app: NStoreApp, thread: threading.Thread) -> None:
        self.server = server
        self.app = app
        self._thread = thread
        host = server.host if ":" not in server.host else f"[{server.host}]"
        self.url = f"http://{host}:{server.port}"

    @property
    def bytes_received(self) -> int:
        """Bytes received from clients so far (headers included); for checking the body limits."""
        return self.server.bytes_received

    def shutdown(self) -> None:
        """Stop accepting, finish requests in progress, close connections; idempotent."""
        self.server.shutdown()
        self._thread.join()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"ServerHandle({self.url!r})"


def _app(store: Store[str, bytes], host: str, options: dict[str, Any]) -> tuple[NStoreApp, dict[str, Any]]:
    """The app for a server bound to ``host``, and the options meant for the server itself."""
    server_options: dict[str, Any] = {name: options.pop(name) for name in SERVER_OPTIONS if name in options}
    loopback = is_loopback(host)
    if not loopback and not (options.get("tokens") or options.get("read_only_tokens")):
        raise ConfigurationError(
            f"Refusing to serve on {host!r} without authentication: anyone who can reach it could "
            "read and write the store. Pass tokens=[...] (and/or read_only_tokens), or bind 127.0.0.1."
        )
    if not loopback and options.get("allowed_hosts") is None:
        options["allowed_hosts"] = ["*"]  # tokens guard it; clients may use any name of this machine
    app = make_app(store, **options)
    app.guard.allow_host(host)
    return app, server_options


def check_port(port: object) -> None:
    """Refuse a port no socket can bind (checked at run time: the command line passes any int)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(
            f"Expected a port from 0 to 65535 (0: any free port). Got {port!r} instead; pass another port."
        )


def _start(store: Store[str, bytes], host: str, port: int, options: dict[str, Any]) -> ServerHandle:
    check_port(port)
    app, server_options = _app(store, host, options)
    server = WSGIServer(app, host, port, **server_options)
    thread = threading.Thread(target=server.serve_forever, name="nstore-http-accept", daemon=True)
    thread.start()
    return ServerHandle(server, app, thread)


def serve_in_thread(
    store: Store[str, bytes],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    server: str = "builtin",
    **options: Unpack[ServeOptions],
) -> ServerHandle:
    """Serve ``store`` from a background thread; return a handle with ``.url`` and ``.shutdown()``.

    ``options`` (typed by :class:`ServeOptions`) are those of :func:`make_app` and of the
    server: ``max_connections`` (1024), ``header_timeout`` (10 s), ``read_timeout`` (30 s),
    ``keepalive_timeout`` (15 s), ``workers`` (threads running requests: none for an in-memory
    store, which is served on the event loop; else 32), ``max_buffered`` (bytes of bodies and
    unread responses held across all connections: 256 MiB, or twice ``max_body``) and
    ``min_rate`` (bytes/s a body must arrive at, and a response be read at, beyond
    ``read_timeout``: 64 KiB/s); docs/http.md says how each bound works. Binding beyond
    loopback without ``tokens`` raises :class:`~nstore.errors.ConfigurationError`, and so does a
    ``server`` other than ``"builtin"``.
    """
    check_server(server)
    return _start(store, host, port, dict(options))


def check_server(server: object) -> None:
    """Refuse every ``server`` but ``"builtin"``, saying why granian is no longer offered."""
    if server == "builtin":
        return
    if server == "granian":
        raise ConfigurationError(
            "server='granian' is no longer offered: granian has no timeout for reading a request "
            "body, so a few slow uploads hold all its threads. Use the builtin server (the default), "
            "or run make_app(store) under a WSGI server whose body timeouts you configure."
        )
    raise ConfigurationError(f"Expected server='builtin'. Got {server!r} instead.")


def serve(
    store: Store[str, bytes],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    server: str = "builtin",
    **options: Unpack[ServeOptions],
) -> None:
    """Serve ``store`` until Ctrl-C or SIGTERM, then stop cleanly (for ``nstore serve``).

    Takes the options of :func:`serve_in_thread`, and prints the URL once listening. ``server``
    is ``"builtin"``, the only server offered (``"granian"`` raises
    :class:`~nstore.errors.ConfigurationError`; see docs/http.md).
    """
    check_server(server)
    handle = _start(store, host, port, dict(options))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"nstore: serving {store!r} on {handle.url}/v1/ (Ctrl-C to stop)", flush=True)
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        handle.shutdown()
