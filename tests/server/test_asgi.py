"""The ASGI app under a real ASGI server (uvicorn on 127.0.0.1), with the real HTTP clients.

HTTPStore joins the StoreTests suite against it, over a sync store served on the loop (memory)
and a sync store served in threads (files); AsyncHTTPStore joins it over an async store
(tests/astores/test_ahttp.py).
The refusals are sent as raw bytes, as the embedded server's are.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

import tests.stores.test_http as http_tests
from nstore import AsyncStore, MemoryStore, Store
from nstore.server import make_asgi_app, serve_in_thread
from nstore.server.openapi import document_bytes
from nstore.stores.http import HTTPStore
from tests.server.asgi_server import asgi_server
from tests.server.conftest import READ_TOKEN, TOKEN, raw_request


class _ASGITests(http_tests._HTTPStoreTests):
    def served(self, backend: Store[str, bytes]) -> Store[str, bytes] | AsyncStore[str, bytes]:
        return backend

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store[str, bytes]]:
        backend = self.backend(tmp_path)
        with asgi_server(make_asgi_app(self.served(backend))) as url, HTTPStore(url) as store:
            http_tests._BACKENDS[id(store)] = backend
            yield store
            del http_tests._BACKENDS[id(store)]
        backend.close()


class TestASGIOverMemory(_ASGITests, http_tests.TestHTTPOverMemory):
    """A sync store that never blocks: served on the event loop."""


class TestASGIOverFiles(_ASGITests, http_tests.TestHTTPOverFiles):
    """A sync store that blocks: served in the app's threads."""


class TestASGIOverSQLite(_ASGITests, http_tests.TestHTTPOverSQLite):
    """A sync store with expiry, in the app's threads."""


def _request(url: str, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    response = raw_request(url, head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)
    return response.status, response.headers, response.body


def _code(body: bytes) -> str:
    kind: str = json.loads(body)["type"]
    return kind.removeprefix("urn:nstore:problem:")


def test_the_openapi_document_is_the_wsgi_apps() -> None:
    with asgi_server(make_asgi_app(MemoryStore[str, bytes]())) as url:
        status, headers, body = _request(url, "GET /v1/openapi.json HTTP/1.1\nHost: localhost")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == document_bytes()


def test_answers_as_the_wsgi_app_does() -> None:
    requests = [
        "GET /v1/keys/a HTTP/1.1\nHost: localhost",
        "GET /v1/keys/absent HTTP/1.1\nHost: localhost",
        'GET /v1/keys/a HTTP/1.1\nHost: localhost\nIf-None-Match: "0"',
        "PUT /v1/keys/b HTTP/1.1\nHost: localhost\nIf-None-Match: *\nContent-Length: 1\n\nx",
        "PUT /v1/keys/b HTTP/1.1\nHost: localhost\nIf-None-Match: *\nContent-Length: 1\n\nx",
        'PUT /v1/keys/a HTTP/1.1\nHost: localhost\nIf-Match: "nope"\nContent-Length: 1\n\nx',
        "PUT /v1/keys/c?ttl=0 HTTP/1.1\nHost: localhost\nContent-Length: 1\n\nx",
        "DELETE /v1/keys/absent HTTP/1.1\nHost: localhost",
        "GET /v1/keys?prefix=&limit=1 HTTP/1.1\nHost: localhost",
        "GET /v1/keys?limit=0 HTTP/1.1\nHost: localhost",
        "GET /v1/ttl/a HTTP/1.1\nHost: localhost",
        "GET /v1/capabilities HTTP/1.1\nHost: localhost",
        "POST /v1/keys/a HTTP/1.1\nHost: localhost\nContent-Length: 0",
        "GET /v1/nothing HTTP/1.1\nHost: localhost",
        "GET /v1/health HTTP/1.1\nHost: localhost",
    ]
    answers = []
    for serve in ("wsgi", "asgi"):
        backend = MemoryStore[str, bytes]({"a": b"1", "d/e": b"2"})
        if serve == "wsgi":
            context = serve_in_thread(backend)
            with context as server:
                answers.append([_exchange(server.url, request) for request in requests])
        else:
            with asgi_server(make_asgi_app(backend)) as url:
                answers.append([_exchange(url, request) for request in requests])
    assert answers[0] == answers[1]


def _exchange(url: str, request: str) -> tuple[int, str, str, bytes]:
    head, _, body = request.partition("\n\n")
    status, headers, data = _request(url, head, body.encode())
    return status, headers.get("content-type", ""), headers.get("etag", ""), data


def test_refusals_from_the_head() -> None:
    backend = MemoryStore[str, bytes]()
    app = make_asgi_app(backend, tokens=[TOKEN], read_only_tokens=[READ_TOKEN], max_body=1024)
    auth = f"Authorization: Bearer {TOKEN}"
    with asgi_server(app) as url:
        status, _, body = _request(url, "GET /v1/keys/a HTTP/1.1\nHost: localhost")
        assert (status, _code(body)) == (401, "unauthorized")
        status, _, body = _request(url, f"GET /v1/keys/a HTTP/1.1\nHost: evil.example\n{auth}")
        assert (status, _code(body)) == (421, "host-not-allowed")
        status, _, body = _request(
            url,
            f"PUT /v1/keys/a HTTP/1.1\nHost: localhost\nAuthorization: Bearer {READ_TOKEN}"
            "\nContent-Length: 1",
            b"x",
        )
        assert (status, _code(body)) == (403, "forbidden")
        assert _request(url, "GET /v1/health HTTP/1.1\nHost: localhost")[0] == 200
        with HTTPStore(url, token=TOKEN) as store:
            store["k"] = b"v"
            assert store["k"] == b"v"
    assert dict(backend) == {"k": b"v"}


def test_a_body_over_the_limit_is_refused_unread() -> None:
    backend = MemoryStore[str, bytes]()
    with asgi_server(make_asgi_app(backend, max_body=1024)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            # The head alone: the app answers 413 without waiting for the body.
            sock.sendall(b"PUT /v1/keys/big HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n")
            response = sock.recv(65536)
        assert response.startswith(b"HTTP/1.1 413 ")
        # A chunked body is read only until it passes the limit.
        chunked = b"PUT /v1/keys/big HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        status, _, body = _request(
            url, chunked.decode().rstrip("\r\n").replace("\r\n", "\n"), chunk * 2 + b"0\r\n\r\n"
        )
        assert (status, _code(body)) == (413, "value-too-large")
    assert "big" not in backend


def test_a_short_body_is_never_stored() -> None:
    backend = MemoryStore[str, bytes]()
    with asgi_server(make_asgi_app(backend)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"PUT /v1/keys/cut HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n12345")
            sock.shutdown(socket.SHUT_WR)  # the client stops halfway
            while sock.recv(65536):
                pass
        with HTTPStore(url) as store:
            store["after"] = b"ok"  # the server is still serving
            assert "cut" not in store
    assert dict(backend) == {"after": b"ok"}


def test_mounted_under_a_root_path() -> None:
    # As Starlette's Mount calls it: the full path, and the mount point as root_path.
    backend = MemoryStore[str, bytes]({"a/b c": b"1"})
    app = make_asgi_app(backend)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "root_path": "/store",
        "path": "/store/v1/keys/a/b c",
        "raw_path": b"/store/v1/keys/a/b%20c",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"1"
