"""The embedded HTTP/1.1 WSGI server: one event loop for the network, workers for blocking stores.

One thread runs an event loop (epoll, or poll elsewhere) over every connection: it accepts,
reads what has arrived into the connection's buffer, parses request heads, collects bodies, and
writes responses, all without blocking. A client that trickles bytes holds no thread, only a
buffer and a deadline. The application runs:

- on the loop itself when it says it never blocks (``app.blocking`` is False: NStoreApp over an
  in-memory store). No thread handoff, no lock: this is what makes the server fast;
- otherwise on a pool of ``workers`` threads, one request per connection at a time; the loop
  stops reading that connection until the response is back, and serves the others meanwhile.

Bodies are collected in full before the application runs, up to ``max_body`` bytes (the
application's own ``max_body`` by default): a ``Content-Length`` over it is answered with 413
without reading the body, and a chunked body is decoded only until it passes the limit. A
connection closed with a body unread first sends its response and FIN, and is closed (reset) a
moment later. Deadlines: a request head must arrive within ``header_timeout`` of its first byte,
an idle keep-alive connection is closed after ``keepalive_timeout``, and a body or a response
that makes no progress for ``read_timeout`` is cut off. An application with
``fast_get``/``fast_put`` (NStoreApp) is offered plain GETs and PUTs first, without an environ.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import select
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from time import monotonic
from typing import Any

from nstore.errors import ConfigurationError
from nstore.server._framing import ChunkedDecoder, parse_head
from nstore.server._wsgi import base_environ, encode_head, parse_request
from nstore.server.problems import Problem

__all__ = ["WSGIServer"]

_log = logging.getLogger("nstore.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Response = tuple[str, list[tuple[str, str]], bytes]

MiB = 1024 * 1024
#: Seconds a connection closed with a body unread waits after its response, before the reset.
LINGER = 0.5
_RECV = 64 * 1024
_TICK = 0.25  # seconds between deadline checks
_PAUSE = 0.25  # seconds without accepting after the process ran out of descriptors

_IN = select.POLLIN | select.POLLERR | select.POLLHUP
_OUT = select.POLLOUT

# Connection states
_HEAD, _BODY, _BUSY, _SEND, _LINGER = range(5)


class WSGIServer:
    """Serve a WSGI application on ``host:port`` (``port=0`` picks a free port).

    Parameters
    ----------
    app : WSGI application
    host, port : where to listen.
    max_connections : connections open at once; one more is answered 503 and closed.
    header_timeout : seconds for a whole request head to arrive once it has begun.
    read_timeout : seconds a body or a response may make no progress.
    keepalive_timeout : seconds an idle keep-alive connection is kept open.
    workers : threads that run the application; 0 runs it on the event loop. Default: 0 when
        ``app.blocking`` is False, else 32.
    max_body : largest request body collected, in bytes. Default: ``app.max_body``, else 64 MiB.
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
    ) -> None:
        _check(max_connections=max_connections, workers=workers, max_body=max_body, backlog=backlog)
        _check_seconds(
            header_timeout=header_timeout, read_timeout=read_timeout, keepalive_timeout=keepalive_timeout
        )
        self.app = app
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.read_timeout = read_timeout
        self.keepalive_timeout = keepalive_timeout
        self.workers = (32 if getattr(app, "blocking", True) else 0) if workers is None else workers
        self.max_body: int = getattr(app, "max_body", 64 * MiB) if max_body is None else max_body
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(backlog)
        self._sock.setblocking(False)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._pool = ThreadPoolExecutor(self.workers, "nstore-http") if self.workers else None
        self._conns: dict[int, _Conn] = {}
        self._done: deque[tuple[_Conn, bytes, bool]] = deque()  # responses from the workers
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._bytes = 0
        self._accepting_at = 0.0  # when accepting resumes after running out of descriptors
        self._starved = False
        self._poller = _Poller()
        self._base_environ = base_environ(host, self.port)
        # An application may answer plain GETs and PUTs without WSGI (see NStoreApp.fast_get).
        self._fast_get: Callable[[str, bytes], Any] | None = getattr(app, "fast_get", None)
        self._fast_put: Callable[[str, bytes, str, Any], Any] | None = getattr(app, "fast_put", None)

    @property
    def bytes_received(self) -> int:
        """Bytes received from clients so far, request lines and headers included."""
        return self._bytes

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
                            if conn.state == _SEND:
                                self._flush(conn)
                            elif conn.state <= _BODY:
                                self._read(conn)
                        except Exception:  # a defect here must cost one connection, not the server
                            _log.exception("Unexpected error in the HTTP server")
                            self._close(conn)
                    elif fd == listen_fd:
                        self._accept()
                    elif fd == wake_fd:
                        self._collect()
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
        if self._pool is not None:
            self._pool.shutdown(wait=True)
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
                    sock.send(_problem_bytes(Problem(503, "busy", "Too many connections; retry later.")))
                sock.close()
                continue
            conn = _Conn(sock, monotonic() + self.keepalive_timeout)
            self._conns[conn.fd] = conn
            self._poller.register(conn.fd, _IN)

    def _reap(self, now: float) -> None:
        """Close connections past their deadline (a lingering one has waited long enough)."""
        for conn in [c for c in self._conns.values() if c.deadline < now]:
            self._close(conn)

    def _close_idle(self) -> None:
        for conn in list(self._conns.values()):
            if conn.state == _HEAD and not conn.buf:
                self._close(conn)
            else:
                conn.keep_alive = False

    def _close(self, conn: _Conn) -> None:
        if self._conns.pop(conn.fd, None) is None:
            return
        if conn.state != _BUSY and conn.state != _LINGER:
            self._poller.unregister(conn.fd)
        conn.state = _LINGER  # a worker's late response for it is dropped
        with contextlib.suppress(OSError):
            conn.sock.close()

    # -- reading and parsing ------------------------------------------------------------------------

    def _read(self, conn: _Conn) -> None:
        size = _RECV
        if conn.chunks is not None:  # read no further than the limit needs (and chunk framing)
            size = min(_RECV, max(4096, self.max_body + 1 - len(conn.chunks.data)))
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
        if conn.state == _BODY:
            conn.deadline = monotonic() + self.read_timeout
        self._advance(conn)

    def _advance(self, conn: _Conn) -> None:
        """Serve every request complete in the buffer, while the connection can take one."""
        if conn.state == _BODY:
            self._collect_body(conn)
        buf = conn.buf
        while buf and conn.state == _HEAD:
            try:
                head = parse_head(buf)
            except Problem as problem:
                self._fail(conn, problem)
                return
            if head is None:
                if not conn.in_head:
                    conn.in_head = True
                    conn.deadline = monotonic() + self.header_timeout
                return
            length, method, target, version, headers = head
            del buf[:length]
            conn.in_head = False
            self._request(conn, method, target, version, headers)

    def _request(
        self, conn: _Conn, method: bytes, target: bytes, version: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        conn.target, conn.headers = target, headers  # for the general path, if the fast one declines
        if version == b"HTTP/1.1":
            if method == b"GET" and self._fast_get is not None:
                host, declared = _plain_head(headers)
                if host is not None and declared is None:
                    self._expect(conn, method, True, 0, False, self._fast_get, host, target)
                    return
            elif method == b"PUT" and self._fast_put is not None:
                host, declared = _plain_head(headers)
                if host is not None and declared is not None:
                    put = self._fast_put
                    self._expect(conn, method, True, int(declared), False, put, host, target, declared)
                    return
        request = parse_request(self._base_environ, method, target, version, headers)
        if request is None:
            self._fail(conn, Problem(400, "malformed-request", "Expected a well-formed request head."))
            return
        environ, keep_alive, chunked, length, expect_continue = request
        if chunked:
            conn.chunks = ChunkedDecoder()
            length = -1
        self._expect(conn, method, keep_alive, length, expect_continue, self._call_app, environ)

    def _expect(
        self,
        conn: _Conn,
        method: bytes,
        keep_alive: bool,
        length: int,
        expect_continue: bool,
        handler: Callable[..., Any],
        *args: Any,
    ) -> None:
        """Run ``handler(*args, body)`` once the body (``length`` bytes; -1: chunked) is here."""
        conn.method, conn.keep_alive, conn.handler, conn.args = method, keep_alive, handler, args
        if length > self.max_body:
            conn.linger = True  # the body stays unread
            self._fail(conn, _too_large(self.max_body))
            return
        conn.length = length
        if length == 0:
            self._dispatch(conn, b"")
            return
        conn.state = _BODY
        conn.deadline = monotonic() + self.read_timeout
        if expect_continue and len(conn.buf) < max(length, 1):
            self._send_now(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        self._collect_body(conn)

    def _collect_body(self, conn: _Conn) -> None:
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
            except Problem as problem:
                conn.linger = True
                self._fail(conn, problem)
                return
            if len(chunks.data) > self.max_body:
                conn.linger = True
                self._fail(conn, _too_large(self.max_body))
                return
            if not chunks.done:
                return
            body, conn.chunks = bytes(chunks.data), None
        conn.state = _HEAD
        self._dispatch(conn, body)

    # -- running the application ---------------------------------------------------------------------

    def _dispatch(self, conn: _Conn, body: bytes) -> None:
        if self._pool is None:
            self._send(conn, *self._run(conn, body))
            return
        conn.state = _BUSY
        conn.deadline = math.inf
        self._poller.unregister(conn.fd)
        self._pool.submit(self._work, conn, body)

    def _work(self, conn: _Conn, body: bytes) -> None:
        # The loop leaves the connection alone while it is busy, so reading its request is safe.
        self._done.append((conn, *self._run(conn, body)))
        self._wake()

    def _collect(self) -> None:
        """Send the responses the workers have finished, and go on with those connections."""
        with contextlib.suppress(OSError):
            self._wake_r.recv(4096)
        done = self._done
        while done:
            conn, data, keep_alive = done.popleft()
            if conn.state != _BUSY:  # closed meanwhile
                continue
            conn.state = _HEAD
            self._poller.register(conn.fd, _IN)
            self._send(conn, data, keep_alive)
            self._advance(conn)

    def _run(self, conn: _Conn, body: bytes) -> tuple[bytes, bool]:
        """The response bytes of the connection's request, and whether the connection stays open."""
        method, keep_alive, handler, args = conn.method, conn.keep_alive, conn.handler, conn.args
        try:
            response = handler(*args) if handler is self._fast_get else handler(*args, io.BytesIO(body))
            if response is None:  # the fast path declined: the general path takes it
                request = parse_request(self._base_environ, method, conn.target, b"HTTP/1.1", conn.headers)
                assert request is not None  # a plain head, which parsed before
                response = self._call_app(request[0], io.BytesIO(body))
            status, headers, payload = response
            head, app_closes = encode_head(status, headers, len(payload))
        except Exception:
            _log.exception("Unexpected error in the HTTP server")
            return _problem_bytes(Problem(500, "internal", "The server failed on this request.")), False
        if app_closes or not keep_alive or self._stopping.is_set():
            keep_alive = False
            head += b"Connection: close\r\n"
        return (head + b"\r\n" if method == b"HEAD" else head + b"\r\n" + payload), keep_alive

    def _call_app(self, environ: dict[str, Any], body: io.BytesIO) -> Response:
        environ["wsgi.input"] = body
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = status, headers
            return written.append

        result = self.app(environ, start_response)
        try:
            written.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        return status, headers, b"".join(written)

    # -- writing ------------------------------------------------------------------------------------

    def _send(self, conn: _Conn, data: bytes, keep_alive: bool) -> None:
        conn.keep_alive = keep_alive
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(conn)
            return
        if sent < len(data):
            conn.out = memoryview(data)[sent:]
            conn.state = _SEND
            conn.deadline = monotonic() + self.read_timeout
            self._poller.modify(conn.fd, _OUT)
            return
        self._sent(conn)

    def _send_now(self, conn: _Conn, data: bytes) -> None:
        # A short interim response (100 Continue): on a fresh connection it fits the send buffer.
        with contextlib.suppress(OSError):
            conn.sock.send(data)

    def _flush(self, conn: _Conn) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        conn.out = conn.out[sent:]
        conn.deadline = monotonic() + self.read_timeout
        if not conn.out:
            conn.state = _HEAD
            self._poller.modify(conn.fd, _IN)
            self._sent(conn)
            self._advance(conn)

    def _sent(self, conn: _Conn) -> None:
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
        conn.state = _LINGER
        conn.deadline = monotonic() + LINGER

    def _fail(self, conn: _Conn, problem: Problem) -> None:
        """Answer with a problem document and close the connection."""
        conn.state = _HEAD
        conn.args = conn.chunks = None
        self._send(conn, _problem_bytes(problem), False)


class _Conn:
    """One connection: its buffers, the request being collected, and its next deadline."""

    __slots__ = (
        "args",
        "buf",
        "chunks",
        "deadline",
        "fd",
        "handler",
        "headers",
        "in_head",
        "keep_alive",
        "length",
        "linger",
        "method",
        "out",
        "sock",
        "state",
        "target",
    )

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.buf = bytearray()
        self.out: memoryview = memoryview(b"")
        self.state = _HEAD
        self.deadline = deadline
        self.in_head = False  # a head has begun to arrive (its deadline is set)
        self.keep_alive = True
        self.linger = False  # closing with a request body unread
        self.method = self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.length = 0
        self.chunks: ChunkedDecoder | None = None
        self.handler: Callable[..., Any] = _no_handler
        self.args: Any = None


def _check(**counts: object) -> None:
    # Checked at run time: callers may be untyped (the command line, a configuration file).
    for name, value in counts.items():
        least = 1 if name in ("max_connections", "backlog") else 0
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ConfigurationError(f"Expected an integer >= {least} for {name}. Got {value!r} instead.")


def _check_seconds(**timeouts: object) -> None:
    for name, seconds in timeouts.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise ConfigurationError(f"Expected a positive number of seconds for {name}. Got {seconds!r}.")


def _no_handler(*args: Any) -> Any:
    raise AssertionError("No request is being served on this connection.")


class _Poller:
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


#: Request headers a plain GET or PUT may carry and still take the application's fast path.
_IGNORED = frozenset({b"user-agent", b"accept", b"accept-encoding", b"content-type"})


def _plain_head(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """Host and Content-Length of a request with one of each at most and otherwise only
    ignored headers; ``(None, None)`` for any other request (the general path takes it)."""
    host = length = None
    for name, value in headers:
        lower = name.lower()
        if lower == b"host" and host is None:
            host = value.decode("latin-1")
        elif lower == b"content-length" and length is None and value.isdigit():
            length = value.decode("latin-1")
        elif lower not in _IGNORED:
            return None, None
    return host, length


def _too_large(limit: int) -> Problem:
    return Problem(413, "value-too-large", f"Expected a body of at most {limit} bytes.")


def _problem_bytes(problem: Problem) -> bytes:
    body = problem.body()
    head = (
        f"HTTP/1.1 {problem.status} {problem.title}\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body
