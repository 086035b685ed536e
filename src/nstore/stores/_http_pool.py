"""A thread-safe pool of keep-alive ``http.client`` connections, with timeouts and retries."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from nstore.errors import StoreClosed
from nstore.stores._http_requests import RETRY_STATUSES, backoff_delay, too_large, unreachable

__all__ = ["ConnectionPool", "Response"]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class ConnectionPool:
    """Keep-alive connections to one server, each used by one thread at a time.

    A connection is opened with ``connect_timeout`` and then reads with ``timeout``; idle ones
    are kept up to ``max_idle`` and for ``idle_ttl`` seconds (below the server's keep-alive
    timeout, so a reused connection is rarely one the server has just closed).
    """

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int | None,
        *,
        url: str,
        timeout: float,
        connect_timeout: float,
        max_response: int,
        retries: int,
        backoff: float,
        max_idle: int = 16,
        idle_ttl: float = 10.0,
    ) -> None:
        self._factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        self._host = host
        self._port = port
        self.url = url  # for messages: never holds the token
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_response = max_response
        self.retries = retries
        self.backoff = backoff
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
                if now - since < self._idle_ttl:
                    return conn
                conn.close()
        conn = self._factory(self._host, self._port, timeout=self.connect_timeout)
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(self.timeout)
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

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        idempotent: bool = True,
    ) -> Response:
        """Send a request and read the whole response, retrying idempotent ones with backoff."""
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            last = attempt + 1 == attempts
            try:
                response = self._send(method, path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                if last:
                    raise unreachable(method, self.url + path, exc) from exc
            else:
                if response.status not in RETRY_STATUSES or last:
                    return response
            time.sleep(backoff_delay(self.backoff, attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None
    ) -> Response:
        conn = self._acquire()
        try:
            conn.request(method, path, body, dict(headers or {}))
            resp = conn.getresponse()
            length = resp.getheader("Content-Length")
            declared = int(length) if length is not None and length.isdigit() else 0
            if method != "HEAD" and declared > self.max_response:
                raise too_large(self.url, self.max_response, length)
            data = resp.read(self.max_response + 1)
            if len(data) > self.max_response:
                raise too_large(self.url, self.max_response)
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            self._release(conn)
        return Response(resp.status, resp.headers, data)
