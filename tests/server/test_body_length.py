"""The app checks it received Content-Length bytes, under any WSGI server.

A WSGI server may hand the app a ``wsgi.input`` that returns fewer bytes than the request's
Content-Length when the client stops sending (the stdlib's wsgiref does, as granian did). The app
must refuse such a body (400) and leave the stored value alone, not store what came.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from nstore import MemoryStore
from nstore.server import make_app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def wsgiref_server() -> Iterator[tuple[MemoryStore[str, bytes], int]]:
    store = MemoryStore[str, bytes]({"k": b"stored before"})
    server: WSGIServer = make_server("127.0.0.1", 0, make_app(store), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield store, server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _send(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # the client stops sending: an interrupted upload
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("sent", [b"", b"abc"])
def test_a_short_body_is_refused_and_the_value_kept(
    wsgiref_server: tuple[MemoryStore[str, bytes], int], sent: bytes
) -> None:
    store, port = wsgiref_server
    head = f"PUT /v1/keys/k HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 10\r\n\r\n"
    response = _send(port, head.encode() + sent)
    assert response.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 ")), response
    assert b"bad-body" in response
    assert store["k"] == b"stored before"


def test_a_complete_body_is_stored(wsgiref_server: tuple[MemoryStore[str, bytes], int]) -> None:
    store, port = wsgiref_server
    head = f"PUT /v1/keys/k HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 10\r\n\r\n"
    response = _send(port, head.encode() + b"0123456789")
    assert b" 204 " in response.split(b"\r\n", 1)[0]
    assert store["k"] == b"0123456789"
