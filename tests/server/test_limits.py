"""Bodies over the limit, long keys, slow clients and connection bounds, over real sockets."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from nstore import MemoryStore
from nstore.errors import InvalidKey, ValueTooLarge
from nstore.server import ServerHandle, serve_in_thread
from nstore.stores.http import HTTPStore
from tests.server.conftest import raw_request, read_response

LIMIT = 1024 * 1024
ALLOWANCE = 64 * 1024


def _connect(server: ServerHandle) -> socket.socket:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _flood(sock: socket.socket, total: int, chunked: bool) -> None:
    """Send ``total`` body bytes until the server stops reading; errors mean it closed."""
    piece = b"x" * 65536
    with contextlib.suppress(OSError):
        sent = 0
        while sent < total:
            if chunked:
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                sock.sendall(piece)
            sent += len(piece)
        if chunked:
            sock.sendall(b"0\r\n\r\n")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_limit_is_413_after_reading_at_most_limit_plus_64k(
    server: ServerHandle, backend: MemoryStore[str, bytes], chunked: bool
) -> None:
    total = 16 * LIMIT
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % total
    head = b"PUT /v1/keys/big HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing + b"\r\n"
    before = server.bytes_received
    sock = _connect(server)
    # A small receive buffer keeps the kernel from absorbing the flood on the server's behalf.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    sock.sendall(head)
    sender = threading.Thread(target=_flood, args=(sock, total, chunked))
    sender.start()
    response = read_response(sock)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sender.join(10)
    sock.close()
    assert response.status == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert b"value-too-large" in response.body
    time.sleep(0.8)  # the server's connection thread lingers, closes and tallies its count
    read = server.bytes_received - before
    assert read <= LIMIT + ALLOWANCE + len(head), read
    assert "big" not in backend


def test_value_over_limit_through_the_client(server: ServerHandle) -> None:
    with HTTPStore(server.url) as store:
        with pytest.raises(ValueTooLarge):
            store["big"] = b"x" * (LIMIT + 1)
        store["fits"] = b"x" * LIMIT
        assert len(store["fits"]) == LIMIT


def test_key_too_long_is_414(server: ServerHandle) -> None:
    response = raw_request(
        server.url, b"GET /v1/keys/" + b"k" * 600 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    assert response.status == 414
    with HTTPStore(server.url) as store, pytest.raises(InvalidKey):
        store["k" * 600] = b"v"


def test_slow_client_is_cut_off_and_blocks_no_one() -> None:
    store = MemoryStore[str, bytes]({"k": b"v"})
    # Two connections at most: the trickling client holds one, HTTPStore uses the other.
    with serve_in_thread(store, header_timeout=1.0, max_connections=2) as server:
        slow = _connect(server)
        slow.sendall(b"GET /v1/keys/k HTTP/1.1\r\n")
        cut = threading.Event()

        def trickle() -> None:
            # A header line every 0.1 s: no single read stalls, so only the header deadline
            # (not the 30 s read timeout) can end this.
            try:
                while not cut.is_set():
                    slow.sendall(b"X-Slow: 1\r\n")
                    time.sleep(0.1)
            except OSError:
                cut.set()

        started = time.monotonic()
        trickler = threading.Thread(target=trickle)
        trickler.start()
        with HTTPStore(server.url) as client:
            for _ in range(20):  # served while the slow client trickles its headers
                assert client["k"] == b"v"
        slow.settimeout(15)
        with contextlib.suppress(ConnectionResetError):  # a reset is a shutdown too
            assert slow.recv(100) == b""  # shut down by the server, nothing sent
        elapsed = time.monotonic() - started
        cut.set()
        trickler.join()
        slow.close()
        assert elapsed < 10  # the header deadline (1 s), far below the read timeout (30 s)


def test_connections_over_the_bound_get_503() -> None:
    with serve_in_thread(MemoryStore[str, bytes](), max_connections=2) as server:
        held = [_connect(server) for _ in range(2)]
        time.sleep(0.1)
        extra = raw_request(server.url, b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert extra.status == 503
        for sock in held:
            sock.close()


def test_keep_alive_serves_many_requests_on_one_connection(server: ServerHandle) -> None:
    sock = _connect(server)
    for _ in range(3):
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_response(sock).status == 200
    sock.close()


def test_malformed_requests_are_400(server: ServerHandle) -> None:
    bad = [
        b"GARBAGE\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n",
        b"PUT /v1/keys/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        b"PUT /v1/keys/a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"PUT /v1/keys/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
    ]
    for request in bad:
        assert raw_request(server.url, request).status == 400, request
