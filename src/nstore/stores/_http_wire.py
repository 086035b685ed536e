"""What the HTTP client and server agree on: ETags, key paths, problem types."""

from __future__ import annotations

import json
from hashlib import blake2b
from urllib.parse import quote

__all__ = ["PROBLEM_TYPE", "etag", "key_path", "problem_code"]

PROBLEM_TYPE = "urn:nstore:problem:"


def etag(value: bytes) -> str:
    """The ETag of a value: its quoted BLAKE2b-128 hex digest, computed alike on both sides."""
    return '"' + blake2b(value, digest_size=16).hexdigest() + '"'


def key_path(key: str) -> str:
    """``key`` percent-encoded for a URL path: '/' kept, '.' and '..' segments encoded.

    Encoding the dot segments keeps clients and proxies from collapsing them (RFC 3986, 5.2.4),
    so ``a/../b`` reaches the server as the key it is and is refused or stored there.
    """
    path = quote(key, safe="/")
    if "." in path:
        path = "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in path.split("/"))
    return path


def problem_code(body: bytes) -> str:
    """The nstore problem code of an error response body (``""`` if it is not one)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    kind = doc.get("type") if isinstance(doc, dict) else None
    if isinstance(kind, str) and kind.startswith(PROBLEM_TYPE):
        return kind[len(PROBLEM_TYPE) :]
    return ""
