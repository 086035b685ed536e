"""The embedded HTTP/1.1 WSGI server: one event loop for the network, threads for blocking stores.

One thread runs an event loop (epoll, or poll elsewhere) over every connection: it accepts,
reads what has arrived into the connection's buffer, parses request heads
(:mod:`~nstore.server._framing`, strict), collects bodies, and writes responses, all without
blocking. A client that trickles bytes holds no thread, only a buffer and a deadline. This
module owns the loop, the listening socket and the connection table; what happens on a
connection is :mod:`~nstore.server._exchange`'s part (requests in) and
:mod:`~nstore.server._sender`'s (responses out), and where the application runs (on the loop,
on worker threads, or through a writer thread) is :mod:`~nstore.server._runner`'s; an
application with ``fast_key`` (NStoreApp) is offered plain GETs and PUTs first, without an
environ.

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
from nstore.server._conn import BODY, BUSY, HEAD, LINGER, SEND, Budget, Conn, Limits, Poller, problem_bytes
from nstore.server._exchange import Exchange
from nstore.server._runner import Runner
from nstore.server._wsgi import base_environ
from nstore.server.problems import Problem

__all__ = ["WSGIServer"]

_log = logging.getLogger("nstore.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MiB = 1024 * 1024
_TICK = 0.25  # seconds between deadline checks
_PAUSE = 0.25  # seconds without accepting after the process ran out of descriptors
_IN = select.POLLIN | select.POLLERR | select.POLLHUP


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
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))
            self._sock.listen(backlog)
        except BaseException:  # a port in use, say: the caller gets the error, not a leaked socket
            self._sock.close()
            raise
        self._sock.setblocking(False)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._conns: dict[int, Conn] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._runner = Runner(app, self.workers, self._wake)
        self._accepting_at = 0.0  # when accepting resumes after running out of descriptors
        self._starved = False
        self._poller = Poller()
        limits = Limits(self.max_body, header_timeout, read_timeout, keepalive_timeout, min_rate)
        self._exchange = Exchange(
            limits,
            poller=self._poller,
            budget=self.budget,
            runner=self._runner,
            base_environ=base_environ(host, self.port),
            app=app,
            close=self._close,
        )

    @property
    def bytes_received(self) -> int:
        """Bytes received from clients so far, request lines and headers included."""
        return self._exchange.bytes_received

    @property
    def open_connections(self) -> int:
        """Connections open now."""
        return len(self._conns)

    # -- the loop ---------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` is called (from another thread)."""
        poller, conns, exchange = self._poller, self._conns, self._exchange
        flush = exchange.sender.flush
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
                                flush(conn)
                            elif conn.state <= BODY:
                                exchange.read(conn)
                        except Exception:  # a defect here must cost one connection, not the server
                            _log.exception("Unexpected error in the HTTP server")
                            self._close(conn)
                    elif fd == listen_fd:
                        self._accept()
                    elif fd == wake_fd:
                        self._collect()
                while self._runner.batched:  # PUTs that arrived together are committed together
                    self._runner.commit()
                    exchange.send_done()
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
        self._runner.stopping = True
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
            self._exchange.release(conn)
        self.budget.used -= conn.out_held
        conn.out_held = 0
        conn.out = []
        conn.state = LINGER  # a worker's late response for it is dropped
        with contextlib.suppress(OSError):
            conn.sock.close()

    def _collect(self) -> None:
        """Send the responses the threads have finished, and go on with those connections."""
        with contextlib.suppress(OSError):
            self._wake_r.recv(4096)
        self._exchange.send_done()


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
