"""WSGI framing for the embedded server: request heads to ``environ``, response heads to bytes.

This is the per-request hot path, so it avoids repeated work: the constant part of ``environ``
is copied from a template, header names are translated once and cached, and percent-decoding
is skipped for paths without ``%``.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote_to_bytes

from nstore.server._api import BODILESS

__all__ = ["add_header", "base_environ", "build_environ", "encode_head", "environ_key"]

_names: dict[bytes, str] = {}  # header name -> environ key (bounded: see environ_key)
#: Header names with "_" would share an environ key with the "-" spelling
#: (``Content_Length`` -> ``CONTENT_LENGTH``): such headers are left out of environ.
_DROPPED = ""


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


def environ_key(name: bytes) -> str:
    """The environ key of a header name (``""`` for one that is left out)."""
    key = _names.get(name)
    if key is None:
        text = name.decode("latin-1")
        if "_" in text:
            key = _DROPPED
        else:
            upper = text.upper().replace("-", "_")
            key = upper if upper in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + upper
        if len(_names) < 512:  # clients choose header names: cache only so many
            _names[name] = key
    return key


def build_environ(
    base: dict[str, Any], method: bytes, target: bytes, version: bytes, headers: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    """The WSGI environ of a request whose head :mod:`~nstore.server._framing` has checked.

    Repeated headers are joined with ", " (RFC 9110 5.3); those framing the body were checked
    to come once.
    """
    path, _, query = target.partition(b"?")
    raw = path.decode("latin-1")
    environ = base.copy()
    environ["REQUEST_METHOD"] = method.decode("latin-1")
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if b"%" in path else raw
    environ["RAW_URI"] = raw
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["SERVER_PROTOCOL"] = version.decode("latin-1")
    for name, value in headers:
        add_header(environ, name, value)
    return environ


def add_header(environ: dict[str, Any], name: bytes, value: bytes) -> None:
    """Put a header field in ``environ``, joining a repeated one with ", " (RFC 9110 5.3)."""
    key = environ_key(name)
    if not key:  # dropped
        return
    text = value.decode("latin-1")
    if key in environ:
        environ[key] += ", " + text
    else:
        environ[key] = text


def encode_head(status: str, headers: list[tuple[str, str]], length: int) -> tuple[bytes, bool]:
    """The status line and headers (without the final CRLF), and whether the app asked to close.

    A response without Content-Length is given one, but for a 204 or a 304 (RFC 9110 8.6)."""
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
    if not has_length and status not in BODILESS:
        lines += ("Content-Length: ", str(length), "\r\n")
    return "".join(lines).encode("latin-1"), closes
