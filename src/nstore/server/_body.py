"""Request bodies for the embedded server: counted socket reads, Content-Length and chunked input.

Bodies are read only when the application asks (``wsgi.input.read``), so an application that
refuses a body never makes the server read it. ``100 Continue`` is sent on the first read.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["NO_BODY", "ChunkedInput", "CountingIO", "LengthInput", "ProtocolError"]

_BUFFER = 16 * 1024
_MAX_CHUNK_LINE = 1024


class ProtocolError(ValueError):
    """A malformed request body (bad chunk framing, early end of stream)."""


class CountingIO(io.RawIOBase):
    """A socket as a raw stream that counts the bytes it has received."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._sock.recv_into(buffer)
        self.count += n
        return n

    def buffered(self) -> io.BufferedReader:
        return io.BufferedReader(self, _BUFFER)


class _Input:
    """The common part of ``wsgi.input``: ``100 Continue`` once, readline, iteration."""

    def __init__(self, rfile: Any, send_continue: Callable[[], None] | None) -> None:
        self._rfile = rfile
        self._send_continue = send_continue
        self.broken = False

    def _started(self) -> None:
        if self._send_continue is not None:
            send, self._send_continue = self._send_continue, None
            send()

    def read(self, size: int = -1, /) -> bytes:
        raise NotImplementedError

    def readline(self, size: int = -1, /) -> bytes:
        # Bodies here are values, not lines; a byte-wise readline is enough for WSGI conformance.
        out = bytearray()
        while size < 0 or len(out) < size:
            byte = self.read(1)
            if not byte:
                break
            out += byte
            if byte == b"\n":
                break
        return bytes(out)

    def readlines(self, hint: int = -1, /) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def finish(self, limit: int) -> bool:
        """Drain what the application left unread, up to ``limit`` bytes; True if all of it."""
        if self._send_continue is not None:
            return self._unread() == 0  # the client waits for 100 Continue: nothing was sent
        if self.broken:
            return False
        try:
            while limit > 0:
                got = self.read(min(limit, _BUFFER))
                if not got:
                    return True
                limit -= len(got)
        except (ValueError, OSError):  # a malformed or stalled body: the connection closes
            self.broken = True
            return False
        return self._unread() == 0

    def unread(self) -> bool:
        """True if part of the body was never read."""
        return self.broken or self._unread() > 0

    def _unread(self) -> int:
        raise NotImplementedError


class LengthInput(_Input):
    """A body of ``Content-Length`` bytes."""

    def __init__(self, rfile: Any, length: int, send_continue: Callable[[], None] | None) -> None:
        super().__init__(rfile, send_continue if length else None)
        self.remaining = length

    def read(self, size: int = -1, /) -> bytes:
        if self.remaining <= 0:
            return b""
        self._started()
        n = self.remaining if size < 0 else min(size, self.remaining)
        data: bytes = self._rfile.read(n)
        if len(data) < n:
            raise ProtocolError("The request body ended before its Content-Length.")
        self.remaining -= n
        return data

    def _unread(self) -> int:
        return self.remaining


class ChunkedInput(_Input):
    """A ``Transfer-Encoding: chunked`` body, decoded as it is read."""

    def __init__(self, rfile: Any, send_continue: Callable[[], None] | None) -> None:
        super().__init__(rfile, send_continue)
        self._left = 0  # bytes left in the current chunk
        self._done = False

    def _next_chunk(self) -> None:
        line = self._rfile.readline(_MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n"):
            raise ProtocolError("Expected a chunk-size line.")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError("Expected a hexadecimal chunk size.") from None
        if size < 0 or size_text.startswith((b"-", b"+", b"0x", b"0X")):
            raise ProtocolError("Expected a hexadecimal chunk size.")
        if size == 0:
            while True:  # trailer fields, ignored, up to the empty line
                trailer = self._rfile.readline(_MAX_CHUNK_LINE + 1)
                if trailer in (b"\r\n", b"\n"):
                    break
                if not trailer.endswith(b"\n"):
                    raise ProtocolError("Expected the end of the chunked body.")
            self._done = True
        self._left = size

    def read(self, size: int = -1, /) -> bytes:
        if self.broken:
            raise ProtocolError("The chunked body was malformed.")
        try:
            return self._read(size)
        except ProtocolError:
            self.broken = True
            raise

    def _read(self, size: int) -> bytes:
        self._started()
        out = bytearray()
        while not self._done and (size < 0 or len(out) < size):
            if self._left == 0:
                self._next_chunk()
                continue
            n = self._left if size < 0 else min(self._left, size - len(out))
            data = self._rfile.read(n)
            if len(data) < n:
                raise ProtocolError("The chunked body ended early.")
            out += data
            self._left -= n
            if self._left == 0 and self._rfile.readline(3) not in (b"\r\n", b"\n"):
                raise ProtocolError("Expected CRLF after a chunk.")
        return bytes(out)

    def _unread(self) -> int:
        return 0 if self._done else 1


class _NoBody:
    """``wsgi.input`` of a request without a body (most reads): stateless, so one is shared."""

    def read(self, size: int = -1, /) -> bytes:
        return b""

    def readline(self, size: int = -1, /) -> bytes:
        return b""

    def readlines(self, hint: int = -1, /) -> list[bytes]:
        return []

    def __iter__(self) -> Any:
        return iter(())

    def finish(self, limit: int) -> bool:
        return True

    def unread(self) -> bool:
        return False


#: The body of every request with neither a Content-Length above 0 nor chunked framing.
NO_BODY = _NoBody()
