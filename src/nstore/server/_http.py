"""The embedded HTTP/1.1 WSGI server: one event loop for the network, threads for blocking stores.

One thread runs an event loop (epoll, or poll elsewhere) over every connection: it accepts,
reads what has arrived into the connection's buffer, parses request heads
(:mod:`~nstore.server._framing`, strict), collects bodies, and writes responses, all without
blocking. A client that trickles bytes holds no thread, only a buffer and a deadline. Where the
application runs (on the loop, on worker threads, or through a group-committing writer) is
:mod:`~nstore.server._runner`'s part; an application with ``fast_key`` (NStoreApp) is offered
plain GETs and PUTs first, without an environ.

Bounds, for every client, before any token is checked (docs/http.md, "Limits"):

- a request head must arrive within ``header_timeout`` of its first byte and is at most 64 KiB;
  an idle keep-alive connection is closed after ``keepalive_timeout``;
- the application's ``admit`` (Host and token) runs as soon as the head is parsed, so a refused
  request never has its body read;
- a body over ``max_body`` is refused (413) before it is read, and a body must arrive within
  ``read_timeout`` plus its size at ``min_rate`` bytes a second; a response must be read by the
  client within the same allowance, or the connection is cut;
- all connections together hold at most ``max_buffered`` bytes of request bodies and of
  responses waiting for their reader: a body that does not fit is refused with 503.

A connection closed with a body unread first sends its response and FIN, and is closed (reset)
a moment later.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from collections.abc import Callable, Iterable
from time import monotonic
from typing import Any

from nstore.errors import ConfigurationError
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
from nstore.server._wsgi import base_environ, build_environ
from nstore.server.problems import Problem

__all__ = ["WSGIServer"]

_log = logging.getLogger("nstore.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Response = tuple[str, list[tuple[str, str]], bytes]

MiB = 1024 * 1024
#: Seconds a connection closed with a body unread waits after its response, before the reset.
LINGER_SECONDS = 0.5
_RECV = 64 * 1024
_TICK = 0.25  # seconds between deadline checks
_PAUSE = 0.25  # seconds without accepting after the process ran out of descriptors
_CHUNK_STEP = 64 * 1024  # a chunked body takes its budget in steps of this many bytes

_IN = select.POLLIN | select.POLLERR | select.POLLHUP
_OUT = select.POLLOUT
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class WSGIServer:
    """Serve a WSGI application on ``host:port`` (``port=0`` picks a free port).

    Parameters
    ----------
    app : WSGI application
    host, port : where to listen.
    max_connections : connections open at once; one more is answered 503 and closed.
    header_timeout : seconds for a whole request head to arrive once it has begun.
    read_timeout : seconds a body or a response may take, plus its size at ``min_rate``.
    keepalive_timeout : seconds an idle keep-alive connection is kept open.
    workers : threads that run the application; 0 runs it on the event loop. Default: 0 when
        ``app.blocking`` is False, else 32.
    max_body : largest request body collected, in bytes. Default: ``app.max_body``, else 64 MiB.
    max_buffered : bytes of bodies and unread responses held across all connections.
        Default: 256 MiB, or ``2 * max_body`` if more.
    min_rate : bytes a second a body must arrive at, and a response be read at, beyond
        ``read_timeout`` (default 64 KiB/s).
    """

    def __init__(
        self,
        app: WSGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_connections: int = 1024,
        header_timeout: float = 10.0,
        read_timeout: float = 30.0,
        keepalive_timeout: float = 15.0,
        backlog: int = 1024,
        workers: int | None = None,
        max_body: int | None = None,
        max_buffered: int | None = None,
        min_rate: int = 64 * 1024,
    ) -> None:
        _check(max_connections=max_connections, workers=workers, max_body=max_body, backlog=backlog)
        _check(max_buffered=max_buffered, min_rate=min_rate)
        _check_seconds(
            header_timeout=header_timeout, read_timeout=read_timeout, keepalive_timeout=keepalive_timeout
        )
        self.app = app
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.read_timeout = read_timeout
        self.keepalive_timeout = keepalive_timeout
        self.min_rate = min_rate
        self.workers = (32 if getattr(app, "blocking", True) else 0) if workers is None else workers
        self.max_body: int = getattr(app, "max_body", 64 * MiB) if max_body is None else max_body
        if max_buffered is None:
            max_buffered = max(256 * MiB, 2 * self.max_body)
        elif max_buffered < self.max_body:
            raise ConfigurationError(
                f"Expected max_buffered >= max_body ({self.max_body}), or no body that large could "
                f"ever be received. Got {max_buffered} instead."
            )
        self.budget = Budget(max_buffered)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(backlog)
        self._sock.setblocking(False)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._conns: dict[int, Conn] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._runner = Runner(app, self.workers, self._wake, self._stopping)
        self._bytes = 0
        self._accepting_at = 0.0  # when accepting resumes after running out of descriptors
        self._starved = False
        self._poller = Poller()
        self._base_environ = base_environ(host, self.port)
        # An application may answer plain GETs and PUTs without WSGI (see NStoreApp.fast_key),
        # and refuse a request from its head, before its body is read (NStoreApp.admit).
        self._fast_key: Callable[[bytes, bytes], str | None] | None = getattr(app, "fast_key", None)
        self._admit: Callable[[dict[str, Any]], Response | None] | None = getattr(app, "admit", None)

    @property
    def bytes_received(self) -> int:
        """Bytes received from clients so far, request lines and headers included."""
        return self._bytes

    @property
    def open_connections(self) -> int:
        """Connections open now."""
        return len(self._conns)

    # -- the loop ---------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` is called (from another thread)."""
        poller, conns = self._poller, self._conns
        listen_fd, wake_fd = self._sock.fileno(), self._wake_r.fileno()
        poller.register(listen_fd, _IN)
        poller.register(wake_fd, _IN)
        next_tick = monotonic() + _TICK
        closing_by = 0.0
        try:
            while True:
                for fd, _events in poller.poll(_TICK):
                    conn = conns.get(fd)
                    if conn is not None:
                        try:
                            if conn.state == SEND:
                                self._flush(conn)
                            elif conn.state <= BODY:
                                self._read(conn)
                        except Exception:  # a defect here must cost one connection, not the server
                            _log.exception("Unexpected error in the HTTP server")
                            self._close(conn)
                    elif fd == listen_fd:
                        self._accept()
                    elif fd == wake_fd:
                        self._collect()
                while self._runner.batched:  # PUTs that arrived together are committed together
                    self._runner.commit()
                    self._send_done()
                now = monotonic()
                if now >= next_tick:
                    next_tick = now + _TICK
                    self._reap(now)
                    if self._accepting_at and now >= self._accepting_at and not closing_by:
                        self._accepting_at = 0.0
                        poller.register(listen_fd, _IN)
                if self._stopping.is_set():
                    if not closing_by:
                        closing_by = now + 5.0
                        if not self._accepting_at:
                            poller.unregister(listen_fd)
                        self._sock.close()
                    self._close_idle()
                    if not conns or now > closing_by:
                        return
        finally:
            for conn in list(conns.values()):
                self._close(conn)
            poller.close()
            self._stopped.set()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests in progress finish, close idle connections, and return."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake()
        self._stopped.wait(timeout + 1.0)
        self._runner.shutdown()
        self._sock.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full wake-up buffer wakes the loop just as well
            self._wake_w.send(b"x")

    def _accept(self) -> None:
        while True:
            try:
                sock, _addr = self._sock.accept()
            except BlockingIOError:  # none is left
                return
            except (ConnectionAbortedError, InterruptedError):
                continue
            except OSError as exc:  # out of file descriptors or memory: pause, or the loop would spin
                if not self._starved:  # once per episode
                    _log.warning("Cannot accept connections (%s); pausing %.2f s at a time.", exc, _PAUSE)
                self._starved = True
                self._poller.unregister(self._sock.fileno())
                self._accepting_at = monotonic() + _PAUSE
                return
            self._starved = False
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if len(self._conns) >= self.max_connections:
                # Over the bound: answer at once rather than queue behind busy connections.
                with contextlib.suppress(OSError):
                    sock.send(problem_bytes(Problem(503, "busy", "Too many connections; retry later.")))
                sock.close()
                continue
            conn = Conn(sock, monotonic() + self.keepalive_timeout)
            self._conns[conn.fd] = conn
            self._poller.register(conn.fd, _IN)

    def _reap(self, now: float) -> None:
        """Close connections past their deadline (a lingering one has waited long enough)."""
        for conn in [c for c in self._conns.values() if c.deadline < now]:
            self._close(conn)

    def _close_idle(self) -> None:
        for conn in list(self._conns.values()):
            if conn.state == HEAD and not conn.buf:
                self._close(conn)
            else:
                conn.keep_alive = False

    def _close(self, conn: Conn) -> None:
        if self._conns.pop(conn.fd, None) is None:
            return
        if conn.state != BUSY and conn.state != LINGER:
            self._poller.unregister(conn.fd)
        if conn.state != BUSY:  # a busy request's body is released when its response comes back
            self._release(conn)
        self.budget.used -= conn.out_held
        conn.out_held = 0
        conn.out = []
        conn.state = LINGER  # a worker's late response for it is dropped
        with contextlib.suppress(OSError):
            conn.sock.close()

    def _release(self, conn: Conn) -> None:
        self.budget.used -= conn.held
        conn.held = 0
        conn.chunks = None

    # -- reading and parsing ------------------------------------------------------------------------

    def _read(self, conn: Conn) -> None:
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
        self._bytes += len(data)
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
            self._release(conn)
            self._respond(conn, output)
            return
        conn.state = BUSY
        conn.deadline = float("inf")
        self._poller.unregister(conn.fd)
        if not runner.batch(conn, body):
            runner.submit(conn, body)

    def _collect(self) -> None:
        """Send the responses the threads have finished, and go on with those connections."""
        with contextlib.suppress(OSError):
            self._wake_r.recv(4096)
        self._send_done()

    def _send_done(self) -> None:
        done = self._runner.done
        while done:
            conn, output = done.popleft()
            if conn.state != BUSY:  # closed meanwhile
                self._release(conn)
                continue
            self._release(conn)
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

    def _flush(self, conn: Conn) -> None:
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
        self._release(conn)
        conn.state = LINGER
        conn.deadline = monotonic() + LINGER_SECONDS

    def _fail(self, conn: Conn, problem: Problem) -> None:
        """Answer with a problem document and close the connection."""
        conn.state = HEAD
        self._release(conn)
        self._respond(conn, (problem_bytes(problem), b"", False))


def _after(sent: int, views: list[memoryview]) -> list[memoryview]:
    """What is left of ``views`` once ``sent`` bytes of them have gone."""
    for i, view in enumerate(views):
        if sent < len(view):
            return [view[sent:], *views[i + 1 :]]
        sent -= len(view)
    return []


def _check(**counts: object) -> None:
    # Checked at run time: callers may be untyped (the command line, a configuration file).
    for name, value in counts.items():
        least = 1 if name in ("max_connections", "backlog", "max_buffered", "min_rate") else 0
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ConfigurationError(f"Expected an integer >= {least} for {name}. Got {value!r} instead.")


def _check_seconds(**timeouts: object) -> None:
    for name, seconds in timeouts.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise ConfigurationError(f"Expected a positive number of seconds for {name}. Got {seconds!r}.")


def _too_large(limit: int) -> Problem:
    return Problem(413, "value-too-large", f"Expected a body of at most {limit} bytes.")


def _busy() -> Problem:
    return Problem(503, "busy", "The server holds too many request bodies right now; retry later.")
