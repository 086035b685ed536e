"""Memory and time are bounded for every client, before any token is checked."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from nstore import MemoryStore
from nstore.server import ServerHandle, serve_in_thread
from tests.server.conftest import TOKEN, raw_request, read_response

MiB = 1024 * 1024


def connect(server: ServerHandle) -> socket.socket:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (whatever it sent before)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def raw_headers(data: bytes) -> list[tuple[str, str]]:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return [(name.strip().lower(), value.strip()) for name, _, value in (h.partition(":") for h in head)]


@pytest.fixture
def small_server() -> Iterator[ServerHandle]:
    """Tight bounds: 1 MiB bodies, 2 MiB held at once, 1 s plus size at 256 KiB/s."""
    store = MemoryStore[str, bytes]({"big": b"v" * (4 * MiB)})
    with serve_in_thread(
        store, max_body=MiB, max_buffered=2 * MiB, read_timeout=1.0, min_rate=256 * 1024
    ) as handle:
        yield handle


def test_the_token_is_checked_before_the_body_is_read(auth_server: ServerHandle) -> None:
    with connect(auth_server) as sock:
        sock.sendall(b"PUT /v1/keys/a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n")
        response = read_response(sock)  # answered from the head: no body was sent
    assert response.status == 401
    assert response.headers["connection"] == "close"


def test_the_host_is_checked_before_the_body_is_read(server: ServerHandle) -> None:
    with connect(server) as sock:
        sock.sendall(b"PUT /v1/keys/a HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 1000\r\n\r\n")
        assert read_response(sock).status == 421


def test_bodies_held_across_connections_are_capped(small_server: ServerHandle) -> None:
    head = b"PUT /v1/keys/a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % MiB
    first, second, third = connect(small_server), connect(small_server), connect(small_server)
    try:
        for sock in (first, second):
            sock.sendall(head + b"x" * 1000)  # each holds 1 MiB of the 2 MiB budget
        time.sleep(0.2)
        third.sendall(head)
        response = read_response(third)
        assert response.status == 503
        assert small_server.server.budget.used == 2 * MiB
    finally:
        for sock in (first, second, third):
            sock.close()
    deadline = time.monotonic() + 3
    while small_server.server.budget.used and time.monotonic() < deadline:
        time.sleep(0.05)
    assert small_server.server.budget.used == 0  # released when the connections closed


@pytest.mark.parametrize(
    ("framing", "piece"),
    [(b"Content-Length: 100", b"x"), (b"Transfer-Encoding: chunked", b"1\r\nx\r\n")],
)
def test_a_trickled_body_is_cut_off(framing: bytes, piece: bytes) -> None:
    # A body may take 1 s + its size at 64 KiB/s; a byte every 0.1 s would take 10 s for 100
    # bytes (forever, chunked), and each byte is progress.
    with serve_in_thread(MemoryStore[str, bytes](), read_timeout=1.0) as handle, connect(handle) as sock:
        sock.sendall(b"PUT /v1/keys/a HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing + b"\r\n\r\n")
        started = time.monotonic()
        cut = False
        for _ in range(60):
            try:
                sock.sendall(piece)
            except OSError:
                cut = True
                break
            time.sleep(0.1)
            sock.settimeout(0.001)
            try:
                if not sock.recv(1024):
                    cut = True
                    break
            except TimeoutError:
                pass
            except ConnectionResetError:
                cut = True
                break
        assert cut
        assert time.monotonic() - started < 3.0


def test_a_slow_reader_is_cut_off(small_server: ServerHandle) -> None:
    # A 4 MiB response may take 1 s + 16 s at 256 KiB/s: reading 16 KiB a second is too slow,
    # although each read makes progress. The server drops the connection and what it held (the
    # kernel may still deliver what it had buffered).
    server = small_server.server
    with connect(small_server) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(b"GET /v1/keys/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        started = time.monotonic()
        time.sleep(0.5)
        assert server.budget.used > 0  # the unsent part of the response
        while server.open_connections and time.monotonic() - started < 30:
            sock.recv(16384)
            time.sleep(1.0)
        assert server.open_connections == 0
        assert time.monotonic() - started < 20
    assert server.budget.used == 0


def test_two_host_headers_are_refused_not_joined() -> None:
    with serve_in_thread(MemoryStore[str, bytes](), allowed_hosts=[".example.com"]) as handle:
        two = b"GET /v1/health HTTP/1.1\r\nHost: evil.test\r\nHost: a.example.com\r\n\r\n"
        assert raw_request(handle.url, two).status == 400
        for host, status in ((b"a.example.com", 200), (b"example.com", 200), (b"badexample.com", 421)):
            request = b"GET /v1/health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
            assert raw_request(handle.url, request).status == status, host


@pytest.mark.parametrize("path", [b"/v1/keys/a", b"/v1/batch", b"/v1/keys"])
def test_a_cors_preflight_is_answered_once(path: bytes) -> None:
    with serve_in_thread(MemoryStore[str, bytes](), tokens=[TOKEN], cors_origins=["*"]) as handle:
        with connect(handle) as sock:
            sock.sendall(
                b"OPTIONS " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example\r\n"
                b"Access-Control-Request-Method: PUT\r\n\r\n"
            )
            data = sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 204 ")  # no token needed for a preflight
        headers = raw_headers(data)
        assert headers.count(("access-control-allow-origin", "https://app.example")) == 1
        assert [name for name, _ in headers].count("access-control-allow-origin") == 1
        assert any(name == "access-control-allow-methods" and "PUT" in v for name, v in headers)


def test_batch_sends_allow_origin_once() -> None:
    with serve_in_thread(MemoryStore[str, bytes](), cors_origins=["*"]) as handle:
        body = b'{"get": ["a"]}'
        with connect(handle) as sock:
            sock.sendall(
                b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            data = sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200 ")
        names = [name for name, _ in raw_headers(data)]
        assert names.count("access-control-allow-origin") == 1
