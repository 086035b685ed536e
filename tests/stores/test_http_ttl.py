"""Expiry over HTTP: the API's ttl on PUT and in batches, /v1/ttl/{key}, /v1/capabilities, and the
clients' use of them, against stores with and without expiry (the shared expiry cases run in
tests/stores/test_http.py and tests/server/test_asgi.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nstore import MemoryStore
from nstore.errors import ConfigurationError, MissingKey, UnsupportedOperation
from nstore.server import serve_in_thread
from nstore.stores.file import FileStore
from nstore.stores.http import HTTPStore
from tests.server.conftest import raw_request


def _send(url: str, head: str, body: bytes = b"") -> tuple[int, dict[str, object]]:
    request = f"{head} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    response = raw_request(url, request)
    return response.status, json.loads(response.body) if response.body else {}


def test_the_api_sets_reads_and_touches_a_ttl() -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend) as server:
        url = server.url
        assert _send(url, "PUT /v1/keys/k?ttl=600", b"v")[0] == 204
        left = backend.ttl("k")
        assert left is not None
        assert 500 < left <= 600
        status, doc = _send(url, "GET /v1/ttl/k")
        assert status == 200
        assert isinstance(doc["ttl"], float)
        assert 500 < doc["ttl"] <= 600
        assert _send(url, "PUT /v1/ttl/k", b'{"ttl": null}')[0] == 204
        assert backend.ttl("k") is None
        assert _send(url, "GET /v1/ttl/k") == (200, {"ttl": None})
        batch = json.dumps({"set": {"b": "dg=="}, "ttl": 600}).encode()
        assert _send(url, "POST /v1/batch", batch)[0] == 200
        assert backend.ttl("b") is not None
        assert _send(url, "GET /v1/ttl/absent")[1]["type"] == "urn:nstore:problem:missing-key"
        assert _send(url, "PUT /v1/ttl/absent", b'{"ttl": 5}')[0] == 404
        status, doc = _send(url, "GET /v1/capabilities")
        assert status == 200
        assert doc["supports_ttl"] is True


@pytest.mark.parametrize(
    "head",
    [
        "PUT /v1/keys/k?ttl=0",
        "PUT /v1/keys/k?ttl=-1",
        "PUT /v1/keys/k?ttl=abc",
        "PUT /v1/keys/k?ttl=nan",
        "PUT /v1/keys/k?ttl=1e10",
        "PUT /v1/keys/k?ttl=1&ttl=2",
    ],
)
def test_a_bad_ttl_is_400(head: str) -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend) as server:
        status, doc = _send(server.url, head, b"v")
    assert (status, doc["type"]) == (400, "urn:nstore:problem:bad-ttl")
    assert "k" not in backend


def test_a_ttl_on_a_conditional_write_or_a_bad_touch_is_400() -> None:
    with serve_in_thread(MemoryStore[str, bytes]({"k": b"v"})) as server:
        request = (
            b"PUT /v1/keys/n?ttl=5 HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: *\r\n"
            b"Content-Length: 1\r\n\r\nv"
        )
        assert raw_request(server.url, request).status == 400
        for body in (b'{"ttl": 0}', b'{"ttl": "5"}', b"{}", b'{"ttl": 5, "x": 1}', b"nope"):
            status, doc = _send(server.url, "PUT /v1/ttl/k", body)
            assert (status, doc["type"]) == (400, "urn:nstore:problem:bad-ttl"), body


def test_a_store_without_expiry_answers_ttl_unsupported(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "root", durable=False)
    with serve_in_thread(files) as server:
        url = server.url
        for head, body in (
            ("PUT /v1/keys/k?ttl=5", b"v"),
            ("PUT /v1/ttl/k", b'{"ttl": 5}'),
            ("POST /v1/batch", b'{"set": {"k": "dg=="}, "ttl": 5}'),
        ):
            status, doc = _send(url, head, body)
            assert (status, doc["type"]) == (409, "urn:nstore:problem:ttl-unsupported"), head
            assert "supports_ttl" in str(doc["detail"])
        assert "k" not in files
        files["k"] = b"v"
        assert _send(url, "GET /v1/ttl/k") == (200, {"ttl": None})
        assert _send(url, "GET /v1/capabilities")[1]["supports_ttl"] is False
        with HTTPStore(url) as store:
            assert store.supports_ttl is False
            with pytest.raises(UnsupportedOperation, match="supports_ttl"):
                store.set("k", b"w", ttl=5)
            assert store["k"] == b"v"
            assert store.ttl("k") is None


def test_the_client_asks_the_capabilities_once_and_checks_a_ttl_first() -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server, HTTPStore(server.url) as store:
        assert store.supports_ttl is True
        received = server.bytes_received
        assert store.supports_ttl is True
        assert server.bytes_received == received  # kept, not asked again
        before = server.bytes_received
        for bad in (0, -1, float("inf"), True, "5"):
            with pytest.raises(ConfigurationError):
                store.set("k", b"v", ttl=bad)  # type: ignore[arg-type]
        assert server.bytes_received == before  # refused before any request
        with pytest.raises(ConfigurationError, match="ttl"):
            store.set("k", b"v", ttl=2e9)  # the server's bound
        with pytest.raises(MissingKey):
            store.touch("absent", ttl=5)
    with HTTPStore("http://127.0.0.1:1/", api="plain") as plain:
        assert plain.supports_ttl is False
        with pytest.raises(UnsupportedOperation):
            plain.set("k", b"v", ttl=5)
