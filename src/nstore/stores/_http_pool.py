"""A thread-safe pool of keep-alive ``http.client`` connections, with timeouts and retries."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from nstore.errors import StoreClosed
from nstore.stores._http_config import ClientConfig, Retry, too_large
from nstore.stores._http_requests import Req

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

    def __init__(self, config: ClientConfig, *, max_idle: int = 16, idle_ttl: float = 10.0) -> None:
        self.config = config
        self.url = config.url  # for messages: never holds the token
        self._factory = (
            http.client.HTTPSConnection if config.scheme == "https" else http.client.HTTPConnection
        )
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
        except (OSError, http.client.HTTPException) as exc:
            return exc

    def _send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None
    ) -> Response:
        conn = self._acquire()
        try:
            conn.request(method, path, body, dict(headers or {}))
            resp = conn.getresponse()
            length = resp.getheader("Content-Length")
            declared = int(length) if length is not None and length.isdigit() else 0
            limit = self.config.max_response
            if method != "HEAD" and declared > limit:
                raise too_large(self.url, limit, length)
            data = resp.read(limit + 1)
            if len(data) > limit:
                raise too_large(self.url, limit)
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            self._release(conn)
        return Response(resp.status, resp.headers, data)
