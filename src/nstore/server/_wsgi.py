"""WSGI framing for the embedded server: request heads to ``environ``, response heads to bytes.

This is the per-request hot path, so it avoids repeated work: the constant part of ``environ``
is copied from a template, header names are translated once and cached, and percent-decoding
is skipped for paths without ``%``.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote_to_bytes

__all__ = ["base_environ", "encode_head", "parse_request"]

Request = tuple[dict[str, Any], bool, bool, int, bool]
_names: dict[bytes, str] = {}  # header name -> environ key (bounded: see _environ_key)
#: The headers that change how the server frames the request (all others only go to environ).
_FRAMING = frozenset({"CONTENT_LENGTH", "HTTP_CONNECTION", "HTTP_TRANSFER_ENCODING", "HTTP_EXPECT"})


def base_environ(host: str, port: int) -> dict[str, Any]:
    """The part of ``environ`` that is the same for every request."""
    return {
        "SCRIPT_NAME": "",
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _environ_key(name: bytes) -> str:
    key = _names.get(name)
    if key is None:
        upper = name.decode("latin-1").upper().replace("-", "_")
        key = upper if upper in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + upper
        if len(_names) < 512:  # clients choose header names: cache only so many
            _names[name] = key
    return key


def parse_request(
    base: dict[str, Any], method: bytes, target: bytes, version: bytes, headers: list[tuple[bytes, bytes]]
) -> Request | None:
    """``(environ, keep_alive, chunked, content_length, expect_continue)``, or None if malformed."""
    path, _, query = target.partition(b"?")
    raw = path.decode("latin-1")
    environ = base.copy()
    environ["REQUEST_METHOD"] = method.decode("latin-1")
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if b"%" in path else raw
    environ["RAW_URI"] = raw
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["SERVER_PROTOCOL"] = version.decode("latin-1")
    keep_alive = version == b"HTTP/1.1"
    chunked = False
    length: int | None = None
    expect_continue = False
    for name, value in headers:
        key = _environ_key(name)
        text = value.decode("latin-1")
        if key in environ:
            if key == "CONTENT_LENGTH":
                return None  # a repeated Content-Length (RFC 9112, 6.3)
            environ[key] += "," + text
        else:
            environ[key] = text
        if key in _FRAMING:
            lower = text.lower()
            if key == "CONTENT_LENGTH":
                if not value.isdigit():
                    return None
                length = int(value)
            elif key == "HTTP_CONNECTION":
                if "close" in lower:
                    keep_alive = False
                elif "keep-alive" in lower:
                    keep_alive = True
            elif key == "HTTP_TRANSFER_ENCODING":
                if lower.strip() != "chunked":
                    return None  # no other codings are supported
                chunked = True
            elif key == "HTTP_EXPECT":
                expect_continue = lower == "100-continue"
    if chunked and length is not None:
        return None  # request smuggling guard (RFC 9112, 6.1)
    return environ, keep_alive, chunked, length or 0, expect_continue


def encode_head(status: str, headers: list[tuple[str, str]], length: int) -> tuple[bytes, bool]:
    """The status line and headers (without the final CRLF), and whether the app asked to close."""
    lines = ["HTTP/1.1 ", status, "\r\n"]
    has_length = False
    closes = False
    for name, value in headers:
        lower = name.lower()
        if lower == "content-length":
            has_length = True
        elif lower == "connection":
            closes = value.lower() == "close"
            continue  # the server decides, and adds it once
        lines += (name, ": ", value, "\r\n")
    if not has_length:
        lines += ("Content-Length: ", str(length), "\r\n")
    return "".join(lines).encode("latin-1"), closes
