"""The embedded server's per-connection state, its global byte budget, and its poller."""

from __future__ import annotations

import select
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nstore.server._chunked import ChunkedDecoder
from nstore.server.problems import Problem

__all__ = [
    "BODY",
    "BUSY",
    "GET",
    "HEAD",
    "LINGER",
    "PUT",
    "SEND",
    "WSGI",
    "Budget",
    "Conn",
    "Limits",
    "Poller",
    "problem_bytes",
]


@dataclass(frozen=True)
class Limits:
    """The server's bounds that apply on each connection (see ``WSGIServer``)."""

    max_body: int
    header_timeout: float
    read_timeout: float
    keepalive_timeout: float
    min_rate: int


# Connection states
HEAD, BODY, BUSY, SEND, LINGER = range(5)
# What serves the request: the application's fast GET or PUT, or the WSGI call.
GET, PUT, WSGI = range(3)


class Budget:
    """Bytes the server holds for clients, across all connections: bodies being received or
    waiting for the application, and responses waiting for slow readers.

    A request body is admitted only if its bytes fit (else 503); a response that does not go
    out at once is counted, without refusal, so that it delays new bodies instead.
    """

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def release(self, conn: Conn) -> None:
        """Give back what ``conn``'s request body holds (its response's bytes stay counted)."""
        self.used -= conn.held
        conn.held = 0
        conn.chunks = None


class Conn:
    """One connection: its buffers, the request being served, and its next deadline."""

    __slots__ = (
        "body_from",
        "buf",
        "chunks",
        "deadline",
        "environ",
        "fd",
        "held",
        "in_head",
        "keep_alive",
        "key",
        "kind",
        "length",
        "linger",
        "method",
        "out",
        "out_held",
        "scanned",
        "sock",
        "state",
    )

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.buf = bytearray()
        self.scanned = 0  # how much of buf was searched for the end of a head
        self.out: list[memoryview] = []  # response bytes not sent yet
        self.state = HEAD
        self.deadline = deadline
        self.in_head = False  # a head has begun to arrive (its deadline is set)
        self.keep_alive = True
        self.linger = False  # closing with a request body unread
        self.method = b""
        self.kind = WSGI
        self.key = ""
        self.environ: dict[str, Any] = {}
        self.length = 0
        self.body_from = 0.0  # when the body began (its deadline grows with its size)
        self.chunks: ChunkedDecoder | None = None
        self.held = 0  # bytes of the budget this request's body holds
        self.out_held = 0  # bytes of the budget the pending response holds


class Poller:
    """``select.epoll`` where there is one, else ``select.poll``: the same masks, seconds."""

    def __init__(self) -> None:
        poller: Any
        if sys.platform == "linux" and hasattr(select, "epoll"):
            poller = select.epoll()
            self.poll: Callable[[float], list[tuple[int, int]]] = poller.poll
            self.close: Callable[[], None] = poller.close
        else:
            poller = select.poll()
            self.poll = lambda timeout: poller.poll(timeout * 1000)  # milliseconds
            self.close = lambda: None
        self.register: Callable[[int, int], None] = poller.register
        self.modify: Callable[[int, int], None] = poller.modify
        self.unregister: Callable[[int], None] = poller.unregister


def problem_bytes(problem: Problem) -> bytes:
    """A complete response carrying ``problem``, closing the connection."""
    body = problem.body()
    head = (
        f"HTTP/1.1 {problem.status} {problem.title}\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body
