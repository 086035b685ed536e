"""Requests in and responses out, on the embedded server's connections (see ``_http``).

:class:`Exchange` reads what has arrived on a connection, parses request heads
(:mod:`~nstore.server._framing`), collects bodies within their bounds (size, the global byte
budget, the body deadline), hands each request to the :class:`~nstore.server._runner.Runner`,
and writes the responses, without blocking. The server owns the loop, the listening socket and
the connection table; this owns what happens on one connection between accept and close.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Any

from nstore.server._conn import (
    BODY,
    BUSY,
    GET,
    HEAD,
    LINGER,
    PUT,
    SEND,
    WSGI,
    Budget,
    Conn,
    Poller,
    problem_bytes,
)
from nstore.server._framing import ChunkedDecoder, framing, parse_head
from nstore.server._runner import Output, Runner
from nstore.server._wsgi import build_environ
from nstore.server.problems import Problem

__all__ = ["Exchange", "Limits"]

Response = tuple[str, list[tuple[str, str]], bytes]
#: Seconds a connection closed with a body unread waits after its response, before the reset.
LINGER_SECONDS = 0.5
_RECV = 64 * 1024
_CHUNK_STEP = 64 * 1024  # a chunked body takes its budget in steps of this many bytes
_IN = select.POLLIN | select.POLLERR | select.POLLHUP
_OUT = select.POLLOUT
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass(frozen=True)
class Limits:
    """The server's bounds that apply on each connection (see ``WSGIServer``)."""

    max_body: int
    header_timeout: float
    read_timeout: float
    keepalive_timeout: float
    min_rate: int


class Exchange:
    """Reads requests from connections and writes their responses (see the module docstring)."""

    def __init__(
        self,
        limits: Limits,
        *,
        poller: Poller,
        budget: Budget,
        runner: Runner,
        base_environ: dict[str, Any],
        app: Any,
        close: Callable[[Conn], None],
    ) -> None:
        self.max_body = limits.max_body
        self.header_timeout = limits.header_timeout
        self.read_timeout = limits.read_timeout
        self.keepalive_timeout = limits.keepalive_timeout
        self.min_rate = limits.min_rate
        self.budget = budget
        self.bytes_received = 0
        self._poller = poller
        self._runner = runner
        self._base_environ = base_environ
        self._close = close
        # An application may answer plain GETs and PUTs without WSGI (see NStoreApp.fast_key),
        # and refuse a request from its head, before its body is read (NStoreApp.admit).
        self._fast_key: Callable[[bytes, bytes], str | None] | None = getattr(app, "fast_key", None)
        self._admit: Callable[[dict[str, Any]], Response | None] | None = getattr(app, "admit", None)

    def release(self, conn: Conn) -> None:
        self.budget.used -= conn.held
        conn.held = 0
        conn.chunks = None

    # -- reading and parsing ------------------------------------------------------------------------

    def read(self, conn: Conn) -> None:
        size = _RECV
        if conn.state == BODY:  # read no further than the body (and chunk framing) needs
            if conn.chunks is not None:
                size = min(_RECV, max(4096, self.max_body + 1 - len(conn.chunks.data)))
            else:
                size = min(_RECV, max(4096, conn.length - len(conn.buf)))
        try:
            data = conn.sock.recv(size)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        self.bytes_received += len(data)
        conn.buf += data
        self._advance(conn)

    def _advance(self, conn: Conn) -> None:
        """Serve every request complete in the buffer, while the connection can take one."""
        if conn.state == BODY:
            self._collect_body(conn)
        buf = conn.buf
        while buf and conn.state == HEAD:
            try:
                head = parse_head(buf, conn.scanned)
                if head is not None:
                    self._request(conn, head[1], head[2], head[3], head[4], head[0])
                    continue
            except Problem as problem:
                self._fail(conn, problem)
                return
            conn.scanned = len(buf)
            if not conn.in_head:
                conn.in_head = True
                conn.deadline = monotonic() + self.header_timeout
            return

    def _request(
        self,
        conn: Conn,
        method: bytes,
        target: bytes,
        version: bytes,
        headers: list[tuple[bytes, bytes]],
        head_length: int,
    ) -> None:
        host, length, chunked, keep_alive, expect_continue, plain = framing(version, headers)
        del conn.buf[:head_length]
        conn.scanned = 0
        conn.in_head = False
        conn.method, conn.keep_alive = method, keep_alive
        key = None
        fast = (method == b"GET" and length is None) or (method == b"PUT" and length is not None)
        if fast and plain and host is not None and self._fast_key is not None:
            key = self._fast_key(host, target)
        if key is not None:
            conn.kind, conn.key = (GET if method == b"GET" else PUT), key
        else:
            conn.kind = WSGI
            conn.environ = environ = build_environ(self._base_environ, method, target, version, headers)
            refusal = self._admit(environ) if self._admit is not None else None
            if refusal is not None:  # refused from its head: the body is never read
                if chunked or length:
                    conn.linger = True
                    conn.keep_alive = False
                self._respond(conn, self._runner.encode(conn, refusal))
                return
        if length is not None and length > self.max_body:
            conn.linger = True  # the body stays unread
            raise _too_large(self.max_body)
        conn.length = -1 if chunked else length or 0
        if conn.length == 0:
            self._dispatch(conn, b"")
            return
        if chunked:
            conn.chunks = ChunkedDecoder()
        elif not self.budget.take(conn.length):
            conn.linger = True
            raise _busy()
        else:
            conn.held = conn.length
        conn.state = BODY
        conn.body_from = now = monotonic()
        conn.deadline = now + self.read_timeout + max(conn.length, 0) / self.min_rate
        if expect_continue and len(conn.buf) < max(conn.length, 1):
            with contextlib.suppress(OSError):  # a short interim response fits the send buffer
                conn.sock.send(_CONTINUE)
        self._collect_body(conn)

    def _collect_body(self, conn: Conn) -> None:
        buf, chunks = conn.buf, conn.chunks
        if chunks is None:
            if len(buf) < conn.length:
                return
            with memoryview(buf) as view:  # one copy of a large body, not two
                body = bytes(view[: conn.length])
            del buf[: conn.length]
        else:
            try:
                del buf[: chunks.feed(buf, self.max_body)]
                if len(chunks.data) > self.max_body:
                    raise _too_large(self.max_body)
                if len(chunks.data) > conn.held:  # take the budget a step at a time
                    step = max(_CHUNK_STEP, len(chunks.data) - conn.held)
                    if not self.budget.take(step):
                        raise _busy()
                    conn.held += step
            except Problem as problem:
                conn.linger = True
                self._fail(conn, problem)
                return
            if not chunks.done:
                conn.deadline = conn.body_from + self.read_timeout + len(chunks.data) / self.min_rate
                return
            body, conn.chunks = bytes(chunks.data), None
        conn.state = HEAD
        self._dispatch(conn, body)

    # -- running the application ---------------------------------------------------------------------

    def _dispatch(self, conn: Conn, body: bytes) -> None:
        runner = self._runner
        if runner.on_loop(conn):
            output = runner.run_here(conn, body)
            self.release(conn)
            self._respond(conn, output)
            return
        conn.state = BUSY
        conn.deadline = float("inf")
        self._poller.unregister(conn.fd)
        if not runner.batch(conn, body):
            runner.submit(conn, body)

    def send_done(self) -> None:
        done = self._runner.done
        while done:
            conn, output = done.popleft()
            if conn.state != BUSY:  # closed meanwhile
                self.release(conn)
                continue
            self.release(conn)
            conn.state = HEAD
            self._poller.register(conn.fd, _IN)
            self._respond(conn, output)
            if conn.state == HEAD:
                self._advance(conn)

    # -- writing ------------------------------------------------------------------------------------

    def _respond(self, conn: Conn, output: Output) -> None:
        head, payload, keep_alive = output
        conn.keep_alive = keep_alive
        total = len(head) + len(payload)
        try:
            if len(payload) < 16384:  # one small copy beats a scatter-gather send
                data = head + payload if payload else head
                sent = conn.sock.send(data)
                pending = [memoryview(data)[sent:]] if sent < total else []
            else:  # the value is never copied: it is sent from the bytes the store returned
                sent = conn.sock.sendmsg([head, payload])
                pending = _after(sent, [memoryview(head), memoryview(payload)])
        except BlockingIOError:
            sent, pending = 0, [memoryview(head), memoryview(payload)]
        except OSError:
            self._close(conn)
            return
        if pending:
            left = total - sent
            conn.out, conn.out_held = pending, left
            self.budget.used += left  # counted, never refused: it delays new bodies instead
            conn.state = SEND
            conn.deadline = monotonic() + self.read_timeout + left / self.min_rate
            self._poller.modify(conn.fd, _OUT)
            return
        self._sent(conn)

    def flush(self, conn: Conn) -> None:
        try:
            sent = conn.sock.sendmsg(conn.out)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        conn.out = _after(sent, conn.out)
        if not conn.out:
            self.budget.used -= conn.out_held
            conn.out_held = 0
            conn.state = HEAD
            self._poller.modify(conn.fd, _IN)
            self._sent(conn)
            if conn.state == HEAD:
                self._advance(conn)

    def _sent(self, conn: Conn) -> None:
        """A response is out: wait for the next request, or close."""
        if conn.keep_alive:
            conn.deadline = monotonic() + self.keepalive_timeout
            return
        if not conn.linger:
            self._close(conn)
            return
        # Closing a socket with unread input sends a reset, which can destroy the response
        # before the client reads it: send FIN now, and close (unread) a moment later.
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_WR)
        self._poller.unregister(conn.fd)
        self.release(conn)
        conn.state = LINGER
        conn.deadline = monotonic() + LINGER_SECONDS

    def _fail(self, conn: Conn, problem: Problem) -> None:
        """Answer with a problem document and close the connection."""
        conn.state = HEAD
        self.release(conn)
        self._respond(conn, (problem_bytes(problem), b"", False))


def _after(sent: int, views: list[memoryview]) -> list[memoryview]:
    """What is left of ``views`` once ``sent`` bytes of them have gone."""
    for i, view in enumerate(views):
        if sent < len(view):
            return [view[sent:], *views[i + 1 :]]
        sent -= len(view)
    return []


def _too_large(limit: int) -> Problem:
    return Problem(413, "value-too-large", f"Expected a body of at most {limit} bytes.")


def _busy() -> Problem:
    return Problem(503, "busy", "The server holds too many request bodies right now; retry later.")
