"""How HTTPStore and AsyncHTTPStore read the documents a server answers with, without I/O: the
capabilities, a page of keys, the values of a batch, a key's ttl. A body that is not the document
expected (a proxy's HTML page, another kind of server) is a StoreError saying what was expected."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec

from nstore.errors import StoreError

__all__ = ["Page", "ServerCapabilities", "decode_batch", "decode_capabilities", "decode_page", "decode_ttl"]


class ServerCapabilities(msgspec.Struct):
    """What ``GET /v1/capabilities`` says of the store behind a server (all False if the server
    predates the endpoint, or is not an nstore server)."""

    supports_ttl: bool = False
    supports_atomic_writes: bool = False
    supports_prefix_listing: bool = False
    is_persistent: bool = False


_decode_capabilities = msgspec.json.Decoder(ServerCapabilities).decode
T = TypeVar("T")


def _decoded(decode: Callable[[bytes], T], body: bytes, endpoint: str, document: str) -> T:
    """``body`` decoded, or StoreError for an answer that is not the document expected (a proxy's
    HTML page, another kind of server); msgspec's ValidationError is one of its DecodeErrors."""
    try:
        return decode(body)
    except msgspec.DecodeError as exc:
        raise StoreError(
            f"Expected {document} from {endpoint}. Got a body nstore cannot read instead ({exc}; "
            f"it starts {body[:40]!r}). Check that the URL names an nstore server."
        ) from None


def decode_capabilities(status: int, body: bytes) -> ServerCapabilities:
    """The capabilities in a response to ``GET /v1/capabilities`` (a 404: an older server)."""
    if status == 404:
        return ServerCapabilities()
    return _decoded(_decode_capabilities, body, "/v1/capabilities", "a JSON capabilities document")


class _Batch(msgspec.Struct):
    values: dict[str, bytes]


class Page(msgspec.Struct):
    """One page of a key listing."""

    keys: list[str]
    next_cursor: str | None


_decode_batch = msgspec.msgpack.Decoder(_Batch).decode
_decode_page = msgspec.json.Decoder(Page).decode


def decode_page(body: bytes) -> Page:
    """One page of a key listing, from a response to ``GET /v1/keys``."""
    return _decoded(_decode_page, body, "/v1/keys", "a JSON page of keys")


def decode_batch(body: bytes) -> dict[str, bytes]:
    """The values of a ``/v1/batch`` response."""
    return _decoded(_decode_batch, body, "/v1/batch", "a msgpack map of values").values


class _TTL(msgspec.Struct):
    ttl: float | None


_decode_ttl = msgspec.json.Decoder(_TTL).decode


def decode_ttl(body: bytes) -> float | None:
    """The seconds left in a response to ``GET /v1/ttl/{key}``."""
    return _decoded(_decode_ttl, body, "/v1/ttl", "a JSON document with the ttl").ttl
