"""A thread-safe pool of keep-alive ``http.client`` connections, with timeouts and retries."""

from __future__ import annotations

import http.client
import select
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from nstore.errors import StoreClosed
from nstore.stores._http_config import ClientConfig, Retry, too_large
from nstore.stores._http_framing import ProtocolError, check_final, chunk_size, content_length, is_interim
from nstore.stores._http_requests import Req

__all__ = ["ConnectionPool", "Response"]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class _FinalResponse(http.client.HTTPResponse):
    """A response that skips interim (1xx) answers, as http.client skips only 100 Continue."""

    def begin(self) -> None:
        super().begin()
        while is_interim(self.status):
            self.headers = None  # type: ignore[assignment]  # read the next head
            super().begin()


class _Connection(http.client.HTTPConnection):
    response_class = _FinalResponse


class _SecureConnection(http.client.HTTPSConnection):
    response_class = _FinalResponse


class ConnectionPool:
    """Keep-alive connections to one server, each used by one thread at a time.

    A connection is opened with ``connect_timeout`` and then reads with ``timeout``; idle ones
    are kept up to ``max_idle`` and for ``idle_ttl`` seconds (below the server's keep-alive
    timeout); one the server has closed meanwhile is seen before reuse (:func:`_still_open`).
    """

    def __init__(self, config: ClientConfig, *, max_idle: int = 16, idle_ttl: float = 10.0) -> None:
        self.config = config
        self.url = config.url  # for messages: never holds the token
        self._factory = _SecureConnection if config.scheme == "https" else _Connection
        self._max_idle = max_idle
        self._idle_ttl = idle_ttl
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()
        self.closed = False

    def _acquire(self) -> http.client.HTTPConnection:
        now = time.monotonic()
        with self._lock:
            if self.closed:
                raise StoreClosed(f"This HTTPStore for {self.url} is closed; open a new one.")
            while self._idle:
                conn, since = self._idle.pop()
                if now - since < self._idle_ttl and _still_open(conn.sock):
                    return conn
                conn.close()
        config = self.config
        conn = self._factory(config.host, config.port, timeout=config.connect_timeout)
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(config.timeout)
        return conn

    def _release(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self.closed and len(self._idle) < self._max_idle:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()

    def request(self, req: Req, headers: Mapping[str, str]) -> Response:
        """Send ``req`` with ``headers`` and read the whole response, retrying as :class:`Retry` says."""
        retry = Retry(self.config, req.method, req.path, req.idempotent)
        while (
            delay := retry.after(outcome := self._attempt(req.method, req.path, req.body, headers))
        ) is not None:
            time.sleep(delay)
        return retry.result(outcome)

    def _attempt(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None
    ) -> Response | Exception:
        try:
            return self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException, ProtocolError) as exc:
            return exc

    def _send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None
    ) -> Response:
        conn = self._acquire()
        try:
            resp, reusable = _exchange(conn, method, path, body, dict(headers or {}))
        except BaseException:
            conn.close()
            raise
        try:
            data = self._body(resp, method)
        except BaseException:
            resp.close()  # a response that closes the connection is no longer the connection's
            conn.close()
            raise
        if resp.will_close or not reusable:
            conn.close()
        else:
            self._release(conn)
        return Response(resp.status, resp.headers, data)

    def _body(self, resp: http.client.HTTPResponse, method: str) -> bytes:
        """The whole body of ``resp``, checked against its framing and ``max_response``."""
        check_final(resp.status)
        limit = self.config.max_response
        if method == "HEAD" or resp.status in (204, 304):
            return resp.read()  # no body
        if resp.chunked:
            data = _read_chunked(resp.fp, self.url, limit)
            resp.close()
            return data
        length = resp.getheader("Content-Length")
        declared = content_length(length)
        if declared is not None:
            if declared > limit:
                raise too_large(self.url, limit, length)
            return resp.read()  # http.client raises IncompleteRead for a body cut short
        data = resp.read(limit + 1)  # the body runs to the end of the connection
        if len(data) > limit:
            raise too_large(self.url, limit)
        return data


def _exchange(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[http.client.HTTPResponse, bool]:
    """Send a request and read the head of its answer; whether the connection may carry another.

    A server may answer before it has read the whole body (a 413) and close: the send then fails,
    and the answer it sent is the one to read; without one, the send's error is the outcome.
    """
    try:
        conn.request(method, path, body, headers)
    except ConnectionError as exc:
        try:
            return conn.getresponse(), False
        except (OSError, http.client.HTTPException):
            raise exc from None
    return conn.getresponse(), True


def _read_chunked(fp: BinaryIO, url: str, limit: int) -> bytes:
    """A chunked body read strictly (http.client takes ``-5`` or ``0x2`` as chunk sizes)."""
    parts: list[bytes] = []
    size = 0
    while chunk := chunk_size(fp.readline(1024)):
        size += chunk
        if size > limit:
            raise too_large(url, limit)
        part = fp.read(chunk)
        if len(part) < chunk or fp.read(2) != b"\r\n":
            raise ProtocolError(f"Expected a chunk of {chunk} bytes then CRLF. The body was cut short.")
        parts.append(part)
    while (line := fp.readline(8192)) != b"\r\n":  # trailers
        if not line.endswith(b"\r\n"):
            raise ProtocolError("Expected the trailer fields of a chunked body. The body was cut short.")
    return b"".join(parts)


def _still_open(sock: socket.socket | None) -> bool:
    """Whether an idle connection may carry a request: readable means the server closed it (or
    sent what no request asked for), so it is not reused."""
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        return not select.select([sock], [], [], 0)[0]
    except (OSError, ValueError):
        return False
