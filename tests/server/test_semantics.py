"""RFC 9110 over real sockets, on the embedded server and on the ASGI app under uvicorn:
If-None-Match (13.1.2), Content-Length in 204 and 304 answers (8.6), Expect in HTTP/1.0 (10.1.1)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nstore import HTTPStore, MemoryStore, SQLiteStore, Store
from nstore.errors import InvalidKey
from nstore.server import make_app, make_asgi_app, serve_in_thread
from nstore.stores._http_wire import etag
from tests.server.asgi_server import asgi_server
from tests.server.conftest import Raw, raw_request

TAG = etag(b"abc")
OTHER = '"' + "0" * 32 + '"'
KINDS = ["embedded", "asgi"]


@contextmanager
def served(kind: str, store: Store[str, bytes], **options: object) -> Iterator[str]:
    """The base URL of ``store`` served by the embedded server or by the ASGI app under uvicorn."""
    if kind == "embedded":
        with serve_in_thread(store, **options) as server:  # type: ignore[arg-type]
            yield server.url
    else:
        with asgi_server(make_asgi_app(store, **options)) as url:  # type: ignore[arg-type]
            yield url


def _send(url: str, line: str, *headers: str, body: bytes = b"") -> Raw:
    head = "\r\n".join([line, "Host: 127.0.0.1", *headers, "Connection: close", "", ""])
    return raw_request(url, head.encode("latin-1") + body)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "field",
    [TAG, "*", f"{OTHER}, {TAG}", f"W/{TAG}", f"{OTHER},W/{TAG}", f"{OTHER} , *", f" {TAG} "],
)
def test_if_none_match_holding_the_current_etag_is_304(kind: str, field: str) -> None:
    with served(kind, MemoryStore[str, bytes]({"a": b"abc"})) as url:
        for method in ("GET", "HEAD"):
            response = _send(url, f"{method} /v1/keys/a HTTP/1.1", f"If-None-Match: {field}")
            assert response.status == 304, (method, field)
            assert response.headers["etag"] == TAG
            assert response.body == b""


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("field", [OTHER, f"{OTHER}, W/{OTHER}", TAG[:-1], f"W/{TAG[1:]}", '"*"'])
def test_if_none_match_without_the_current_etag_is_200(kind: str, field: str) -> None:
    with served(kind, MemoryStore[str, bytes]({"a": b"abc"})) as url:
        response = _send(url, "GET /v1/keys/a HTTP/1.1", f"If-None-Match: {field}")
    assert (response.status, response.body) == (200, b"abc"), field


@pytest.mark.parametrize("kind", KINDS)
def test_no_content_length_in_a_204_or_a_304(kind: str) -> None:
    store = MemoryStore[str, bytes]({"a": b"abc"})
    with served(kind, store, cors_origins=["https://app.example"]) as url:
        answers = {
            "put": _send(url, "PUT /v1/keys/c HTTP/1.1", "Content-Length: 1", body=b"x"),
            "conditional put": _send(
                url, "PUT /v1/keys/d HTTP/1.1", "If-None-Match: *", "Content-Length: 1", body=b"x"
            ),
            "touch": _send(url, "PUT /v1/ttl/c HTTP/1.1", "Content-Length: 12", body=b'{"ttl": 100}'),
            "delete": _send(url, "DELETE /v1/keys/c HTTP/1.1"),
            "preflight": _send(
                url,
                "OPTIONS /v1/keys/a HTTP/1.1",
                "Origin: https://app.example",
                "Access-Control-Request-Method: PUT",
            ),
            "not modified": _send(url, "GET /v1/keys/a HTTP/1.1", f"If-None-Match: {TAG}"),
        }
    for name, response in answers.items():
        assert response.status in (204, 304), (name, response)
        assert "content-length" not in response.headers, (name, response.headers)
        assert "transfer-encoding" not in response.headers, (name, response.headers)


def test_no_content_length_in_a_204_of_the_fast_path() -> None:
    # No header beyond Host and Content-Length: the embedded server's fast path for plain PUTs.
    with serve_in_thread(MemoryStore[str, bytes]()) as server:
        response = raw_request(
            server.url, b"PUT /v1/keys/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx"
        )
    assert response.status == 204
    assert "content-length" not in response.headers, response.headers


def test_no_content_length_in_the_204s_of_puts_committed_together(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "data.db") as store:
        app = make_app(store)
        for status, headers, _ in app.fast_put_many([("a", b"1"), ("b", b"2")]):
            assert status == "204 No Content"
            assert "content-length" not in {name.lower() for name, _ in headers}, headers
        with serve_in_thread(store) as server:  # plain PUTs on SQLite are committed in batches
            response = raw_request(
                server.url, b"PUT /v1/keys/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx"
            )
        assert response.status == 204
        assert "content-length" not in response.headers, response.headers
        assert store["k"] == b"x"


def test_expect_100_continue_is_ignored_in_http_1_0() -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"PUT /v1/keys/k HTTP/1.0\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n")
            sock.sendall(b"Content-Length: 5\r\n\r\n")
            time.sleep(0.3)  # time for an interim response, which HTTP/1.0 clients do not expect
            sock.sendall(b"hello")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 204 "), data
    assert b"100 Continue" not in data
    assert backend["k"] == b"hello"


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_key_too_long_is_400_not_414(kind: str) -> None:
    # 414 is "URI Too Long" (RFC 9110 15.5.15): a key in a body is no URI
    body = b'{"get": ["' + b"k" * 300 + b'"]}'
    with served(kind, MemoryStore[str, bytes](), max_key_length=256) as url:
        answer = _send(
            url,
            "POST /v1/batch HTTP/1.1",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            body=body,
        )
        assert answer.status == 400
        assert b'"urn:nstore:problem:key-too-long"' in answer.body
        client = HTTPStore(url)
        with pytest.raises(InvalidKey):
            client.get_many(["k" * 300])
        client.close()
