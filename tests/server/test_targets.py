"""Request targets, over real sockets and the real clients: too long ones get 414 (RFC 9112 3),
absolute-form ones are served (RFC 9112 3.2.2), and keys and prefixes are decoded from the raw path
and query, once, as UTF-8."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

from nstore import MemoryStore
from nstore.errors import InvalidKey
from nstore.server import make_asgi_app, serve_in_thread
from nstore.server._framing import MAX_HEAD, MAX_LINE
from nstore.stores.http import HTTPStore
from tests.server.asgi_server import asgi_server
from tests.server.conftest import Raw, raw_request

LONG_KEYS = ["k" * 9000, "é" * 1500, "k" * (MAX_LINE + 1)]


@contextmanager
def served(kind: str, store: MemoryStore[str, bytes]) -> Iterator[str]:
    """The base URL of ``store`` served by the embedded server or by the ASGI app under uvicorn."""
    if kind == "embedded":
        with serve_in_thread(store) as server:
            yield server.url
    else:
        with asgi_server(make_asgi_app(store)) as url:
            yield url


def _get(url: str, target: bytes, *headers: bytes) -> Raw:
    head = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(h + b"\r\n" for h in headers)
    return raw_request(url, head + b"Connection: close\r\n\r\n")


def _code(response: Raw) -> str:
    kind: str = json.loads(response.body)["type"]
    return kind.removeprefix("urn:nstore:problem:")


@pytest.mark.parametrize("key", LONG_KEYS, ids=["9000 bytes", "1500 x é", "past the line limit"])
def test_a_target_over_the_line_limit_is_414_key_too_long(key: str) -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server:
        response = _get(server.url, b"/v1/keys/" + quote(key).encode())
    assert response.status == 414
    assert _code(response) == "key-too-long"


@pytest.mark.parametrize("kind", ["embedded", "asgi"])
def test_the_client_takes_a_long_key_for_an_invalid_key(kind: str) -> None:
    backend = MemoryStore[str, bytes]()
    with served(kind, backend) as url, HTTPStore(url, retries=0) as store:
        for key in LONG_KEYS:
            with pytest.raises(InvalidKey):
                store[key] = b"v"
            with pytest.raises(InvalidKey):
                store[key] = b"x" * 1_000_000  # refused from the head, the body unread
            with pytest.raises(InvalidKey):
                store.get(key)
            assert key not in store
        store["short"] = b"v"  # the server goes on serving
        assert store["short"] == b"v"
    assert dict(backend) == {"short": b"v"}


@pytest.mark.parametrize("size", [MAX_LINE + 100, MAX_HEAD + 1000])
def test_a_target_past_the_head_limit_in_pieces_is_414(size: int) -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /v1/keys/")
            time.sleep(0.1)  # read apart: the rest, head end included, comes in one more read
            sock.sendall(b"k" * size + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 414 "), data[:200]


def test_a_request_line_that_never_ends_is_414_past_the_limit() -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /v1/keys/" + b"k" * (MAX_LINE + 100))  # no end of line yet
            data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 414 "), data


@pytest.mark.parametrize("kind", ["embedded", "asgi"])
def test_an_escaped_slash_after_keys_is_no_key_route(kind: str) -> None:
    # Routing reads the path as sent: /v1/keys%2Fq is no /v1/keys/ route; a key's %2F is a "/".
    backend = MemoryStore[str, bytes]({"a/b": b"ab"})
    with served(kind, backend) as url:
        for target in (b"/v1/keys%2Fq", b"/v1/keys%2fq", b"/v1/ttl%2Fq"):
            response = raw_request(
                url, b"PUT " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx"
            )
            assert response.status == 404, (target, response)
        assert _get(url, b"/v1/keys%2Fa%2Fb").status == 404
        assert _get(url, b"/v1/keys/a%2Fb").body == b"ab"
        assert _get(url, b"/v1/keys/a/b").body == b"ab"
    assert dict(backend) == {"a/b": b"ab"}


@pytest.mark.parametrize("kind", ["embedded", "asgi"])
def test_a_prefix_of_invalid_utf8_is_refused_as_a_key_of_it(kind: str) -> None:
    with served(kind, MemoryStore[str, bytes]({"\ufffdx": b"1", "éa": b"2"})) as url:
        as_key = _get(url, b"/v1/keys/%FFx")
        assert (as_key.status, _code(as_key)) == (400, "invalid-key")
        for query in (b"prefix=%FF", b"prefix=%C3", b"prefix=%ED%A0%80", b"limit=5&prefix=a%FF"):
            as_prefix = _get(url, b"/v1/keys?" + query)
            assert (as_prefix.status, _code(as_prefix)) == (400, "invalid-key"), query
        listed = _get(url, b"/v1/keys?prefix=%C3%A9")
        assert json.loads(listed.body)["keys"] == ["éa"]
        cursor = _get(url, b"/v1/keys?cursor=%FF")
        assert (cursor.status, _code(cursor)) == (400, "bad-cursor")


def test_an_absolute_form_target_is_served() -> None:
    backend = MemoryStore[str, bytes]({"a": b"abc"})
    with serve_in_thread(backend) as server:
        port = server.url.rsplit(":", 1)[1].encode()
        for origin in (b"http://127.0.0.1", b"http://localhost:" + port, b"HTTP://127.0.0.1"):
            assert _get(server.url, origin + b"/v1/keys/a").body == b"abc", origin
            listed = _get(server.url, origin + b"/v1/keys?prefix=a")
            assert json.loads(listed.body)["keys"] == ["a"], origin
        assert _get(server.url, b"http://127.0.0.1?x=1").status == 404  # the path is "/"
        put = b"PUT http://127.0.0.1/v1/keys/b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx"
        assert raw_request(server.url, put).status == 204
        # The target's authority is the request's host (RFC 9112 3.2.2), checked as a Host is.
        refused = _get(server.url, b"http://evil.example/v1/keys/a")
        assert (refused.status, _code(refused)) == (421, "host-not-allowed")
        for bad in (b"http://user@127.0.0.1/v1/keys/a", b"http:///v1/keys/a", b"http://a b/"):
            assert _get(server.url, bad).status == 400, bad
    assert backend["b"] == b"x"


_LENGTH = b"Host: 127.0.0.1\r\nContent-Length: %d\r\n\r\n"


@pytest.mark.parametrize(
    "head",
    [
        b"PUT /v1/keys/" + b"k" * (MAX_LINE + 1) + b" HTTP/1.1\r\n" + _LENGTH % 200_000,
        b"PUT /v1/keys/k HTTP/1.1\r\n" + _LENGTH % 2_000_000,
    ],
    ids=["414", "413"],
)
def test_a_refusal_with_the_body_unread_ends_in_fin_not_reset(head: bytes) -> None:
    with serve_in_thread(MemoryStore[str, bytes](), max_body=100_000) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head + b"x" * 200_000)  # more than the server reads before refusing
            time.sleep(0.2)  # the refusal is sent and the server is done with the connection
            data = b""
            while chunk := sock.recv(65536):  # a reset raises here
                data += chunk
    assert data.startswith((b"HTTP/1.1 414 ", b"HTTP/1.1 413 ")), data[:100]
