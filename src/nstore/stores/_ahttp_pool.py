"""A pool of keep-alive HTTP/1.1 connections over asyncio streams, with timeouts and retries.

Chosen by measurement over httpx and aiohttp (docs/async.md): a request is one write and a read
of the head and the body, on the event loop. A connection whose request was cancelled, timed out
or failed mid-response is closed, never reused, so no later request can read another's reply.
Which statuses are retried, the backoff and the errors are ``_http_requests``'s, as the sync pool's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

from nstore.errors import ConfigurationError, StoreClosed
from nstore.stores._http_config import ClientConfig, Retry, too_large
from nstore.stores._http_framing import ProtocolError, check_final, chunk_size, content_length, is_interim
from nstore.stores._http_requests import Req

__all__ = ["AsyncConnectionPool", "AsyncResponse", "ProtocolError"]

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
#: Bodies over this many bytes are sent while the answer is awaited: a server may answer (a 413)
#: and close before it has read them, and that answer is the one to read.
EARLY_ANSWER = 64 * 1024


@dataclass(frozen=True, slots=True)
class AsyncResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class AsyncConnectionPool:
    """Keep-alive connections to one server, each carrying one request at a time.

    At most ``max_connections`` requests are in flight; more wait their turn. Idle connections
    are kept (as many as may be in flight) for ``idle_ttl`` seconds, as the sync pool keeps them.
    """

    def __init__(self, config: ClientConfig, *, max_connections: int = 50, idle_ttl: float = 10.0) -> None:
        if type(max_connections) is not int or not 1 <= max_connections <= 10_000:
            raise ConfigurationError(
                f"Expected max_connections from 1 to 10000. Got {max_connections!r} instead."
            )
        https = config.scheme == "https"
        self.config = config
        self.url = config.url  # for messages: never holds the token
        self._ssl = ssl.create_default_context() if https else None
        self._port = config.port or (443 if https else 80)
        host = f"[{config.host}]" if ":" in config.host else config.host  # an IPv6 address
        self._host_header = host if config.port is None else f"{host}:{config.port}"
        self._slots = asyncio.Semaphore(max_connections)
        self._max_idle = max_connections
        self._idle_ttl = idle_ttl
        self._idle: list[tuple[Connection, float]] = []
        self.closed = False

    async def request(self, req: Req, headers: Mapping[str, str]) -> AsyncResponse:
        """Send ``req`` with ``headers`` and read the whole response, retrying as :class:`Retry` says."""
        retry = Retry(self.config, req.method, req.path, req.idempotent)
        while (
            delay := retry.after(outcome := await self._attempt(req.method, req.path, req.body, headers))
        ) is not None:
            await asyncio.sleep(delay)
        return retry.result(outcome)

    async def _attempt(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None
    ) -> AsyncResponse | Exception:
        try:
            async with self._slots:
                return await self._send(method, path, body, headers)
        except (OSError, EOFError, ProtocolError, asyncio.LimitOverrunError) as exc:
            return exc

    async def _send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None
    ) -> AsyncResponse:
        reader, writer = await self._acquire()
        try:
            async with asyncio.timeout(self.config.timeout):
                writer.write(self._head(method, path, body, headers))
                if body and len(body) > EARLY_ANSWER:
                    response, keep_alive = await self._send_large(reader, writer, method, body)
                else:
                    if body:
                        writer.write(body)
                    await writer.drain()
                    response, keep_alive = await self._read(reader, method)
        except BaseException:  # cancelled or failed mid-request: the connection's state is unknown
            writer.close()
            raise
        if keep_alive:
            self._release((reader, writer))
        else:
            writer.close()
        return response

    async def _send_large(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, body: bytes
    ) -> tuple[AsyncResponse, bool]:
        """Send ``body`` while reading the answer: if the server answers and closes before it has
        read it all, the send fails and the answer (already read) is the outcome."""
        reading = asyncio.ensure_future(self._read(reader, method))
        try:
            writer.write(body)
            await writer.drain()
        except ConnectionError:
            await asyncio.sleep(0)  # let an answer that came before the failure be read
            if reading.done() and not reading.cancelled() and reading.exception() is None:
                return reading.result()[0], False
            raise
        else:
            return await reading
        finally:
            if not reading.done():
                reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)  # its error is the send's

    def _head(self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host_header}", "Accept-Encoding: identity"]
        if body is not None or method in ("PUT", "POST"):
            lines.append(f"Content-Length: {len(body or b'')}")
        if headers:
            lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _read(self, reader: asyncio.StreamReader, method: str) -> tuple[AsyncResponse, bool]:
        version, status, headers = await _read_head(reader)
        while is_interim(status):  # 100 Continue, 103 Early Hints: the final answer follows
            version, status, headers = await _read_head(reader)
        check_final(status)
        keep_alive = version == b"HTTP/1.1" and headers.get("connection", "").lower() != "close"
        length = headers.get("content-length")
        if method == "HEAD" or status in (204, 304):
            data = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            data = await self._read_chunked(reader)
        elif (declared := content_length(length)) is not None:
            if declared > self.config.max_response:
                raise too_large(self.url, self.config.max_response, length)
            data = await reader.readexactly(declared)
        else:  # the body runs to the end of the connection
            data = await reader.read(self.config.max_response + 1)
            keep_alive = False
            if len(data) > self.config.max_response:
                raise too_large(self.url, self.config.max_response)
        return AsyncResponse(status, headers, data), keep_alive

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = chunk_size(await reader.readuntil(b"\r\n"))
            if chunk == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            size += chunk
            if size > self.config.max_response:
                raise too_large(self.url, self.config.max_response)
            parts.append(await reader.readexactly(chunk))
            if await reader.readexactly(2) != b"\r\n":
                raise ProtocolError(f"Expected CRLF after a chunk of {chunk} bytes.")

    async def _acquire(self) -> Connection:
        if self.closed:
            raise StoreClosed(f"This AsyncHTTPStore for {self.url} is closed; open a new one.")
        now = time.monotonic()
        while self._idle:
            connection, since = self._idle.pop()
            if now - since < self._idle_ttl and _still_open(connection):
                return connection
            connection[1].close()
        async with asyncio.timeout(self.config.connect_timeout):
            return await asyncio.open_connection(self.config.host, self._port, ssl=self._ssl)

    def _release(self, connection: Connection) -> None:
        if not self.closed and len(self._idle) < self._max_idle:
            self._idle.append((connection, time.monotonic()))
        else:
            connection[1].close()

    async def aclose(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for (_, writer), _ in idle:
            writer.close()
        for (_, writer), _ in idle:
            with contextlib.suppress(OSError):  # a connection the server already dropped
                await writer.wait_closed()


def _still_open(connection: Connection) -> bool:
    """Whether an idle connection may carry a request: not closed by the server (FIN or RST)."""
    reader, writer = connection
    return not (reader.at_eof() or reader.exception() is not None or writer.is_closing())


async def _read_head(reader: asyncio.StreamReader) -> tuple[bytes, int, dict[str, str]]:
    """The version, status and header fields of the next response head."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    version, _, tail = status_line.partition(b" ")
    code = tail[:3]
    if not version.startswith(b"HTTP/1.") or not (code.isascii() and code.isdigit()):
        raise ProtocolError(f"Expected an HTTP/1.x status line. Got {status_line[:80]!r}.")
    return version, int(code), _headers(rest)


def _headers(block: bytes) -> dict[str, str]:
    """The header fields of a response head (after its status line), names in lower case."""
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers
