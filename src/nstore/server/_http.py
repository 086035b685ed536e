"""The embedded HTTP/1.1 WSGI server: keep-alive, TCP_NODELAY, bounded threads, read deadlines.

One thread serves one connection for as long as it stays alive, so a request never waits for a
handoff between threads; the number of threads is bounded (``max_connections``) and a connection
over the bound gets a 503 and is closed. Every read has a deadline: the headers must arrive
within ``header_timeout`` of the request line (a client that trickles headers is cut off), an
idle keep-alive connection is closed after ``keepalive_timeout``, and a body read or a response
write stalls for at most ``read_timeout``. The first two are enforced by a reaper thread that
shuts down connections past their deadline, the last by the kernel (SO_RCVTIMEO/SO_SNDTIMEO):
the request path itself makes no timeout bookkeeping system calls. Request bodies are never
read ahead: the application pulls them through ``wsgi.input``, so a body over the application's
limit is refused without being read. An application with ``fast_get``/``fast_put`` (NStoreApp)
is offered plain GETs and PUTs first, without an environ; it returns None for the WSGI path.
"""

from __future__ import annotations

import contextlib
import logging
import math
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nstore.server._body import NO_BODY, ChunkedInput, CountingIO, LengthInput
from nstore.server._wsgi import base_environ, encode_head, parse_request

__all__ = ["WSGIServer"]

_log = logging.getLogger("nstore.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_MAX_LINE = 8192
_MAX_HEADERS = 100
#: A body left unread by the application is drained up to this much to keep the connection alive.
DRAIN_LIMIT = 64 * 1024
#: Seconds a connection closed with a body unread waits after its response, before the reset.
LINGER = 0.5
_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


class WSGIServer:
    """Serve a WSGI application on ``host:port`` (``port=0`` picks a free port).

    Parameters
    ----------
    app : WSGI application
    host, port : where to listen.
    max_connections : connections served at once (one thread each); more get a 503.
    header_timeout : seconds for a whole request line and headers to arrive.
    read_timeout : seconds a body read or a response write may stall.
    keepalive_timeout : seconds an idle keep-alive connection is kept open.
    """

    def __init__(
        self,
        app: WSGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_connections: int = 128,
        header_timeout: float = 10.0,
        read_timeout: float = 30.0,
        keepalive_timeout: float = 15.0,
        backlog: int = 1024,
    ) -> None:
        self.app = app
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.read_timeout = read_timeout
        self.keepalive_timeout = keepalive_timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(backlog)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._pool = ThreadPoolExecutor(max_connections, thread_name_prefix="nstore-http")
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._bytes_done = 0
        self._live: dict[socket.socket, _Conn] = {}
        self._base_environ = base_environ(host, self.port)
        # An application may answer plain GETs without WSGI (see NStoreApp.fast_get).
        self._fast_get: Callable[[str, bytes], Any] | None = getattr(app, "fast_get", None)
        self._fast_put: Callable[[str, bytes, str, Any], Any] | None = getattr(app, "fast_put", None)

    @property
    def bytes_received(self) -> int:
        """Bytes received from clients so far, request lines and headers included."""
        with self._lock:
            return self._bytes_done + sum(c.raw.count for c in self._live.values())

    def serve_forever(self) -> None:
        """Accept connections until :meth:`shutdown` is called (from another thread)."""
        reaper = threading.Thread(target=self._reap, name="nstore-http-reaper", daemon=True)
        reaper.start()
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        conn, _addr = self._sock.accept()
                    except OSError:
                        continue
                    self._admit(conn)
        finally:
            sel.close()
            self._stopped.set()

    def _reap(self) -> None:
        """Shut down connections past their deadline: their thread's blocked read then ends."""
        while not self._stopping.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [c for c in self._live.values() if c.deadline < now]
            for conn in late:
                conn.deadline = math.inf
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)

    def _admit(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            full = len(self._conns) >= self.max_connections
            if not full:
                self._conns.add(conn)
        if full:
            # Over the bound: answer at once rather than queue behind busy connections.
            conn.settimeout(1.0)
            _send_error(conn, 503, close=True)
            conn.close()
            return
        self._pool.submit(self._serve_connection, conn)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests in progress finish, close idle connections, and return."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake_w.send(b"x")
        self._stopped.wait(timeout)
        self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            # EOF for readers waiting on the next request; a response being written still goes out.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RD)
        self._pool.shutdown(wait=True)
        self._wake_r.close()
        self._wake_w.close()

    # -- one connection ---------------------------------------------------------------------------

    def _serve_connection(self, conn: socket.socket) -> None:
        state = _Conn(conn)
        conn.settimeout(None)
        timeval = struct.pack("ll", int(self.read_timeout), int(self.read_timeout % 1 * 1e6))
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        with self._lock:
            self._live[conn] = state
        rfile = state.raw.buffered()
        try:
            while not self._stopping.is_set():
                if not self._handle_one(conn, rfile, state):
                    break
        except (TimeoutError, ConnectionError, OSError):
            pass  # the client went away or stalled: nothing to answer
        except Exception:
            _log.exception("Unexpected error in the HTTP server")
        finally:
            if state.linger:
                # Closing a socket with unread input sends a reset, which can destroy the
                # response before the client reads it: send FIN first, give the client a
                # moment to read, and only then close, still without reading the body.
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)
                    time.sleep(LINGER)
            with self._lock:
                self._conns.discard(conn)
                del self._live[conn]
                self._bytes_done += state.raw.count
            with contextlib.suppress(OSError):
                conn.close()

    def _handle_one(self, conn: socket.socket, rfile: Any, state: _Conn) -> bool:
        """Serve one request; return whether the connection stays open."""
        state.deadline = time.monotonic() + self.keepalive_timeout
        line = rfile.readline(_MAX_LINE + 1)
        if not line:
            return False
        state.deadline = time.monotonic() + self.header_timeout
        if line in (b"\r\n", b"\n"):  # a stray CRLF between requests (RFC 9112, 2.2)
            line = rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE or not line.endswith(b"\n"):
            return _send_error(conn, 400 if len(line) <= _MAX_LINE else 431, close=True)
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return _send_error(conn, 400, close=True)
        method, target, version = parts
        headers: list[tuple[bytes, bytes]] = []
        while True:
            hline = rfile.readline(_MAX_LINE + 1)
            if hline in (b"\r\n", b"\n"):
                break
            if not hline.endswith(b"\n") or len(headers) >= _MAX_HEADERS:
                return _send_error(conn, 431 if hline else 400, close=True)
            name, sep, value = hline.partition(b":")
            if not sep or not name or name != name.strip():
                return _send_error(conn, 400, close=True)
            headers.append((name, value.strip()))
        state.deadline = math.inf
        if version == b"HTTP/1.1":
            if method == b"GET" and self._fast_get is not None:
                host, length = _plain_head(headers)
                if host is not None and length is None:
                    response = self._fast_get(host, target)
                    if response is not None:
                        return self._respond(conn, method, state, response, NO_BODY, True)
            elif method == b"PUT" and self._fast_put is not None:
                host, length = _plain_head(headers)
                if host is not None and length is not None:
                    body = LengthInput(rfile, int(length), None)
                    response = self._fast_put(host, target, length, body)
                    if response is not None:
                        return self._respond(conn, method, state, response, body, True)
        return self._run_app(conn, rfile, state, method, target, version, headers)

    def _run_app(
        self,
        conn: socket.socket,
        rfile: Any,
        state: _Conn,
        method: bytes,
        target: bytes,
        version: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> bool:
        request = parse_request(self._base_environ, method, target, version, headers)
        if request is None:
            return _send_error(conn, 400, close=True)
        environ, keep_alive, chunked, length, expect_continue = request
        body: Any
        if chunked or length:
            cont = (lambda: conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")) if expect_continue else None
            body = ChunkedInput(rfile, cont) if chunked else LengthInput(rfile, length, cont)
        else:
            body = NO_BODY  # no body, so no 100 Continue either (as LengthInput with length 0)
        environ["wsgi.input"] = body
        started: list[Any] = []

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = status, response_headers
            return conn.sendall

        result = self.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, response_headers = started
        return self._respond(conn, method, state, (status, response_headers, payload), body, keep_alive)

    def _respond(
        self, conn: socket.socket, method: bytes, state: _Conn, response: Any, body: Any, keep_alive: bool
    ) -> bool:
        """Send head and body in one ``sendall``; return whether the connection stays open."""
        status, response_headers, payload = response
        head, app_closes = encode_head(status, response_headers, len(payload))
        # A body the application left unread is drained if small, else the connection is closed
        # without reading it (and without draining at all when the application asked for that).
        if app_closes or not body.finish(DRAIN_LIMIT):
            keep_alive = False
            state.linger = body.unread()
        if not keep_alive or self._stopping.is_set():
            keep_alive = False
            head += b"Connection: close\r\n"
        conn.sendall(head + b"\r\n" if method == b"HEAD" else head + b"\r\n" + payload)
        return keep_alive


class _Conn:
    """A connection's socket, its byte count, and the time by which it must make progress."""

    __slots__ = ("deadline", "linger", "raw", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.raw = CountingIO(sock)
        self.deadline = math.inf
        self.linger = False  # closing with a request body unread


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


def _send_error(conn: socket.socket, status: int, *, close: bool) -> bool:
    reason = _REASONS.get(status, "Error")
    body = f'{{"type":"about:blank","title":"{reason}","status":{status}}}'.encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    )
    with contextlib.suppress(OSError):
        conn.sendall(head.encode("latin-1") + body)
    return not close
