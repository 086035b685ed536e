"""The fast path for plain GETs and PUTs answers byte for byte what the WSGI path answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from nstore import MemoryStore
from nstore.server import NStoreApp, make_app
from nstore.server._http import WSGIServer
from tests.server.conftest import TOKEN, read_response

VALUE = bytes(range(256)) * 4
TAG = '"' + "0" * 32 + '"'


@contextmanager
def running(app: Callable[..., Iterable[bytes]]) -> Iterator[WSGIServer]:
    server = WSGIServer(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)


class WSGIOnly:
    """The same app without ``fast_key``: the server takes the WSGI path for everything (it
    still refuses from the head, before the body, through ``admit``)."""

    def __init__(self, app: NStoreApp) -> None:
        self.admit = app.admit
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._app(environ, start_response)


def wsgi_only(app: NStoreApp) -> WSGIOnly:
    return WSGIOnly(app)


def exchange(server: WSGIServer, requests: list[bytes]) -> list[tuple[int, dict[str, str], bytes]]:
    """Send each request on one keep-alive connection; the responses, up to a closed connection."""
    out = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for request in requests:
            try:
                sock.sendall(request)
                raw = read_response(sock)
            except ConnectionError:
                break
            out.append((raw.status, raw.headers, raw.body))
    return out


def get(target: str, *headers: str, version: str = "HTTP/1.1") -> bytes:
    lines = [f"GET {target} {version}", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


HOST = "Host: 127.0.0.1"
REQUESTS = [
    get("/v1/keys/k", HOST),
    get("/v1/keys/k", "Host: localhost:8080", "User-Agent: test", "Accept: */*"),
    get("/v1/keys/missing", HOST),
    get("/v1/keys/dir/k", HOST, "Accept-Encoding: identity"),
    get("/v1/keys/" + "x" * 40, HOST),
    get("/v1/keys/", HOST),
    get("/v1/keys/caf%C3%A9", HOST),
    get("/v1/keys/k?x=1", HOST),
    get("/v1/keys/k", HOST, f"If-None-Match: {TAG}"),
    get("/v1/keys/k", HOST, "If-None-Match: *"),
    get("/v1/keys/k", HOST, "Authorization: Bearer nothing-to-see-here"),
    get("/v1/keys/k", HOST, "host: 127.0.0.1"),
    get("/v1/keys/k", HOST, version="HTTP/1.0"),
    get("/v1/keys/k", "Host: evil.example"),
    get("/v1/keys/k"),
    get("/v1/keys/k", HOST, "Connection: close"),
    get("http://127.0.0.1/v1/keys/k", HOST),
    get("http://evil.example/v1/keys/k", HOST),
    get("/v1/keys%2Fk", HOST),
]


def put(target: str, body: bytes, *headers: str) -> bytes:
    lines = [f"PUT {target} HTTP/1.1", HOST, *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


REQUESTS += [
    put("/v1/keys/new", b"v1", "Content-Length: 2"),
    get("/v1/keys/new", HOST),
    put("/v1/keys/new", b"value 2", "Content-Type: application/octet-stream", "Content-Length: 7"),
    get("/v1/keys/new", HOST),
    put("/v1/keys/empty", b"", "Content-Length: 0"),
    put("/v1/keys/zeros", b"abc", "Content-Length: 003"),
    put("/v1/keys/big", b"x" * 100, "Content-Length: 100"),
    put("/v1/keys/new", b"v3", "Content-Length: 2", "If-None-Match: *"),
    put("/v1/keys/new", b"v3", "Content-Length: 2", f"If-Match: {TAG}"),
    put("/v1/keys/" + "y" * 40, b"v", "Content-Length: 1"),
    put("/v1/keys/chunked", b"2\r\nab\r\n0\r\n\r\n", "Transfer-Encoding: chunked"),
    put("/v1/keys/twice", b"ab", "Content-Length: 2", "Content-Length: 2"),
    put("/v1/keys/caf%C3%A9", b"ab", "Content-Length: 2"),
    get("/v1/keys/empty", HOST),
    get("/v1/keys/zeros", HOST),
    put("/v1/keys/late", b"ab", "Content-Length: 2", "Connection: close"),
]


def _store() -> MemoryStore[str, bytes]:
    return MemoryStore[str, bytes]({"k": VALUE, "dir/k": b"", "x" * 40: b"long", "café": b"c"})


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"max_key_length": 32},
        {"max_body": 50},
        {"allowed_hosts": ["*"]},
        {"tokens": [TOKEN]},
        {"cors_origins": ["*"]},
    ],
)
def test_fast_path_answers_as_the_wsgi_path(options: dict[str, Any]) -> None:
    app = make_app(_store(), **options)
    with running(app) as fast, running(wsgi_only(make_app(_store(), **options))) as slow:
        for request in REQUESTS:
            # One request per connection (some close it), then all of them on one connection.
            assert exchange(fast, [request]) == exchange(slow, [request]), request
        assert exchange(fast, REQUESTS) == exchange(slow, REQUESTS)


def test_fast_key_takes_only_the_plain_case() -> None:
    app = make_app(_store())
    assert app.fast_key(b"127.0.0.1", b"/v1/keys/k") is None  # Host not yet checked by __call__
    app.guard.known_hosts.add("127.0.0.1")
    assert app.fast_key(b"127.0.0.1", b"/v1/keys/k") == "k"
    status, headers, body = app.fast_get("k")
    assert (status, body) == ("200 OK", VALUE)
    assert [name for name, _ in headers] == ["ETag", "Content-Type", "Content-Length"]
    assert app.fast_get("missing")[0] == "404 Not Found"
    for target in (b"/v1/keys/", b"/v1/keys/caf%C3%A9", b"/v1/keys/k?x=1", b"/v1/keysk", b"/v1/health"):
        assert app.fast_key(b"127.0.0.1", target) is None, target
    assert app.fast_key(b"127.0.0.1", "/v1/keys/é".encode()) is None
    for other in (make_app(_store(), tokens=[TOKEN]), make_app(_store(), cors_origins=["*"])):
        other.guard.known_hosts.add("127.0.0.1")
        assert other.fast_key(b"127.0.0.1", b"/v1/keys/k") is None


def test_fast_put_stores_the_value() -> None:
    app = make_app(_store())
    response = app.fast_put("k", b"v")
    assert response[0] == "204 No Content"
    assert app.store["k"] == b"v"
