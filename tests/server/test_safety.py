"""Safe defaults: tokens, Host allow-list, CORS, hostile keys, problem documents, bind refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nstore import MemoryStore
from nstore.errors import AuthError, ConfigurationError
from nstore.server import ServerHandle, make_app, serve_in_thread
from nstore.stores.file import FileStore
from nstore.stores.http import HTTPStore
from tests.server.conftest import READ_TOKEN, TOKEN, raw_request


def _get(url: str, path: str, *headers: str, method: str = "GET", body: bytes = b"") -> tuple[int, bytes]:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}", *headers]
    response = raw_request(url, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return response.status, response.body


def test_missing_or_wrong_token_is_401(auth_server: ServerHandle) -> None:
    url = auth_server.url
    assert _get(url, "/v1/keys/a")[0] == 401
    assert _get(url, "/v1/keys/a", "Authorization: Bearer wrong-token-0123456789")[0] == 401
    assert _get(url, "/v1/keys/a", f"Authorization: Basic {TOKEN}")[0] == 401
    assert _get(url, "/v1/keys?prefix=")[0] == 401
    assert _get(url, "/v1/batch", method="POST", body=b"{}")[0] == 401
    assert _get(url, "/v1/health")[0] == 200  # liveness needs no token
    with HTTPStore(url) as anonymous, pytest.raises(AuthError):
        anonymous["a"]
    with HTTPStore(url, token="wrong-token-0123456789") as wrong, pytest.raises(AuthError) as info:
        wrong["a"] = b"v"
    assert "wrong-token" not in str(info.value)


def test_read_only_token_reads_but_cannot_write(
    auth_server: ServerHandle, backend: MemoryStore[str, bytes]
) -> None:
    backend["a"] = b"1"
    with HTTPStore(auth_server.url, token=READ_TOKEN) as reader:
        assert reader["a"] == b"1"
        assert reader.get_many(["a"]) == {"a": b"1"}
        assert list(reader) == ["a"]
        with pytest.raises(AuthError):
            reader["a"] = b"2"
        with pytest.raises(AuthError):
            del reader["a"]
        with pytest.raises(AuthError):
            reader.set_many({"b": b"2"})
    with HTTPStore(auth_server.url, token=TOKEN) as writer:
        writer["a"] = b"2"
    assert backend["a"] == b"2"


def test_host_not_allowed_is_421(server: ServerHandle) -> None:
    response = raw_request(server.url, b"GET /v1/health HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    assert response.status == 421
    assert json.loads(response.body)["type"] == "urn:nstore:problem:host-not-allowed"
    for host in (b"localhost:1234", b"127.0.0.1", b"[::1]:80", b"LOCALHOST"):
        assert (
            raw_request(server.url, b"GET /v1/health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n").status == 200
        )
    assert raw_request(server.url, b"GET /v1/health HTTP/1.0\r\n\r\n").status == 400


def test_non_loopback_bind_needs_a_token() -> None:
    with pytest.raises(ConfigurationError, match="without authentication"):
        serve_in_thread(MemoryStore[str, bytes](), host="0.0.0.0")
    with serve_in_thread(MemoryStore[str, bytes](), host="0.0.0.0", tokens=[TOKEN]) as handle:
        port = handle.url.rsplit(":", 1)[1]
        with HTTPStore(f"http://127.0.0.1:{port}", token=TOKEN) as store:
            store["k"] = b"v"
            assert store["k"] == b"v"


def test_short_tokens_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 16"):
        make_app(MemoryStore[str, bytes](), tokens=["short"])


def test_no_cors_headers_unless_configured(backend: MemoryStore[str, bytes]) -> None:
    request = b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n\r\n"
    with serve_in_thread(backend) as plain:
        assert not any(h.startswith("access-control") for h in raw_request(plain.url, request).headers)
    with serve_in_thread(backend, cors_origins=["https://app.example"]) as cors:
        headers = raw_request(cors.url, request).headers
        assert headers["access-control-allow-origin"] == "https://app.example"
        preflight = request.replace(b"GET", b"OPTIONS", 1)
        assert "access-control-allow-methods" in raw_request(cors.url, preflight).headers


HOSTILE_PATHS = [
    "/v1/keys/../../escape",
    "/v1/keys/%2e%2e/%2e%2e/escape",
    "/v1/keys/a/%2E%2E/%2E%2E/%2E%2E/escape",
    "/v1/keys/%2Fabsolute",
    "/v1/keys/nul%00byte",
    "/v1/keys/%ff%fe",
    "/v1/keys/",
    "/v1/keys/a//b",
]


def test_hostile_keys_never_leave_a_file_store_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with FileStore(root, durable=False) as backend, serve_in_thread(backend) as server:
        for path in HOSTILE_PATHS:
            status, body = _get(server.url, path, method="PUT", body=b"pwned")
            assert status in (400, 404, 414), (path, status)
            assert str(tmp_path) not in body.decode(), body
            assert json.loads(body)["status"] == status
            assert _get(server.url, path)[0] in (400, 404)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]
    assert not any("escape" in p.name or "pwned" in p.name for p in tmp_path.rglob("*"))


def test_malformed_batches_are_400(server: ServerHandle) -> None:
    for content_type, body in [
        ("application/msgpack", b"\x81\xa3get\x91\xa3\xed\xa0\x80"),  # a key that is not UTF-8
        ("application/msgpack", b"\xc1"),
        ("application/json", b'{"get": "not a list"}'),
        ("application/json", b'{"set": {"k": "not base64!"}}'),
        ("application/json", b'{"get": [""]}'),
    ]:
        status, answer = _get(
            server.url, "/v1/batch", f"Content-Type: {content_type}", method="POST", body=body
        )
        assert status == 400, (body, answer)
    status, _ = _get(server.url, "/v1/batch", "Content-Type: text/plain", method="POST", body=b"{}")
    assert status == 415


def test_problem_documents_have_no_paths_or_traces(tmp_path: Path) -> None:
    with FileStore(tmp_path / "root", durable=False) as backend, serve_in_thread(backend) as server:
        for path, method in [("/v1/keys/a/..", "PUT"), ("/v1/nowhere", "GET"), ("/v1/keys/x", "POST")]:
            status, body = _get(server.url, path, method=method)
            doc = json.loads(body)
            assert set(doc) == {"type", "title", "status", "detail"}
            assert doc["status"] == status >= 400
            assert str(tmp_path) not in body.decode()
            assert "Traceback" not in body.decode()
