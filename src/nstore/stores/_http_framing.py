"""How both HTTP clients read a response's framing strictly: Content-Length, chunk sizes, interim
(1xx) answers. Anything else is a :class:`ProtocolError`: the connection is closed, and the attempt
fails as a connection failure does (retried when the request may be, then StoreUnavailable)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ProtocolError", "check_final", "chunk_size", "content_length", "is_interim"]

_DIGITS: Final = re.compile(r"[0-9]{1,18}")
_HEX: Final = re.compile(rb"[0-9A-Fa-f]{1,15}")


class ProtocolError(Exception):
    """A response that is not HTTP/1.1 as the clients read it (the server is told apart from us)."""


def content_length(value: str | None) -> int | None:
    """The byte count a Content-Length field declares (None without one); ASCII digits only."""
    if value is None:
        return None
    if not _DIGITS.fullmatch(value):
        raise ProtocolError(f"Expected a number of bytes in Content-Length. Got {value[:40]!r} instead.")
    return int(value)


def chunk_size(line: bytes) -> int:
    """The size in a chunk-size line (hex digits, then any ``;`` extensions, then CRLF)."""
    size = line.split(b";", 1)[0].rstrip(b"\r\n").rstrip(b" \t")
    if not line.endswith(b"\r\n") or not _HEX.fullmatch(size):
        raise ProtocolError(f"Expected a chunk size in hex digits. Got {line[:40]!r} instead.")
    return int(size, 16)


def is_interim(status: int) -> bool:
    """An interim (1xx) answer, to be skipped for the final one (RFC 9110, 15.2); 101 is not one."""
    return 100 <= status < 200 and status != 101


def check_final(status: int) -> None:
    """Refuse a 101 Switching Protocols (or any 1xx left): the clients never ask to switch."""
    if status < 200:
        raise ProtocolError(f"Expected a final response (status 200 or over). Got {status} instead.")
