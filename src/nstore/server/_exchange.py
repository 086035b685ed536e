"""Requests in, on the embedded server's connections (see ``_http``).

:class:`Exchange` reads what has arrived on a connection, parses request heads
(:mod:`~nstore.server._framing`), collects bodies within their bounds (size, the global byte
budget, the body deadline), hands each request to the :class:`~nstore.server._runner.Runner`,
and gives the responses to its :class:`~nstore.server._sender.Sender`, without blocking. The
server owns the loop, the listening socket and the connection table; these two own what
happens on one connection between accept and close.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable
from time import monotonic
from typing import Any

from nstore.server._chunked import ChunkedDecoder
from nstore.server._conn import (
    BODY,
    BUSY,
    GET,
    HEAD,
    PUT,
    WSGI,
    Budget,
    Conn,
    Limits,
    Poller,
    problem_bytes,
)
from nstore.server._framing import framing, origin_form, parse_head
from nstore.server._runner import Runner
from nstore.server._sender import Sender
from nstore.server._wsgi import build_environ
from nstore.server.problems import Problem

__all__ = ["Exchange"]

Response = tuple[str, list[tuple[str, str]], bytes]
_RECV = 64 * 1024
_CHUNK_STEP = 64 * 1024  # a chunked body takes its budget in steps of this many bytes
_IN = select.POLLIN | select.POLLERR | select.POLLHUP
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


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
        self.sender = Sender(limits, poller=poller, budget=budget, close=close, resume=self._advance)
        self._respond = self.sender.respond
        # An application may answer plain GETs and PUTs without WSGI (see NStoreApp.fast_key),
        # and refuse a request from its head, before its body is read (NStoreApp.admit).
        self._fast_key: Callable[[bytes, bytes], str | None] | None = getattr(app, "fast_key", None)
        self._admit: Callable[[dict[str, Any]], Response | None] | None = getattr(app, "admit", None)

    def release(self, conn: Conn) -> None:
        self.budget.release(conn)

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
                # A head too large to serve may come with a body: closing with it unread would
                # reset the connection before the client reads the refusal.
                if problem.status in (414, 431):
                    conn.linger = True
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
        authority = None
        if target[0] != 47:  # not "/...": an absolute-form target's authority is its host
            target, authority = origin_form(target)
            host = authority or host
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
            if authority is not None:
                environ["HTTP_HOST"] = authority.decode("latin-1")
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

    def _fail(self, conn: Conn, problem: Problem) -> None:
        """Answer with a problem document and close the connection."""
        conn.state = HEAD
        self.release(conn)
        self._respond(conn, (problem_bytes(problem), b"", False))


def _too_large(limit: int) -> Problem:
    return Problem(413, "value-too-large", f"Expected a body of at most {limit} bytes.")


def _busy() -> Problem:
    return Problem(503, "busy", "The server holds too many request bodies right now; retry later.")
