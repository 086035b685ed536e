"""What HTTPStore and AsyncHTTPStore send and how they read the answers, without I/O.

Request paths, batch and page bodies, the error each response status means, and when a request
is tried again are decided here once; the sync and async stores differ only in their connection
pools (``http.client`` threads or asyncio streams).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Final, NamedTuple, cast
from urllib.parse import quote

import msgspec

from nstore._expiry import check_ttl
from nstore.errors import (
    AuthError,
    ConfigurationError,
    InvalidKey,
    MissingKey,
    ReadOnlyError,
    StoreError,
    StoreUnavailable,
    UnsupportedOperation,
    ValueTooLarge,
)
from nstore.store import item_pairs
from nstore.stores._http_answers import ServerCapabilities
from nstore.stores._http_config import ClientConfig, ClientOptions, R, Target, client_config, target
from nstore.stores._http_wire import etag, key_path, problem_code
from nstore.stores._keys import invalid_key, key_bytes
from nstore.stores._values import as_bytes

__all__ = [
    "BATCH_BYTES",
    "BATCH_KEYS",
    "MSGPACK",
    "PAGE",
    "HTTPCapabilities",
    "Req",
    "Requests",
    "batch_body",
    "batch_pairs",
    "bearer",
    "check_page_size",
    "chunks",
    "key_request_path",
    "page_path",
    "plain_cannot_list",
    "response_error",
    "touch_body",
    "ttl_query",
]

MiB = 1024 * 1024
BATCH_KEYS: Final = 5000  # keys per batch request
BATCH_BYTES: Final = 8 * MiB  # value bytes per batch request, well under the server's default body limit
PAGE: Final = 1000
MSGPACK: Final = {"Content-Type": "application/msgpack"}
JSON: Final = {"Content-Type": "application/json"}
_STORE = "HTTPStore"


class HTTPCapabilities:
    """Mixin: what HTTPStore and AsyncHTTPStore are set up with, and their capabilities. Remote;
    listing by prefix and atomic conditional writes are the server's (``api="plain"`` lists
    nothing); per-key expiry is the store's behind the server, asked once per client
    (:meth:`server_capabilities`)."""

    api: str
    url: str  # for repr and messages (never holds a token)
    _req: Requests
    _server: ServerCapabilities | None  # None until asked

    def _setup(self, url: str, token: str | None, api: str, options: ClientOptions) -> ClientConfig:
        """Check the URL, api and options; keep what requests need; the pool's settings."""
        found = target(url, api)
        config = client_config(found, options)
        self.api = api
        self.url = found.url
        self._req = Requests(found, token, config.url)
        self._server = None if api == "nstore" else ServerCapabilities()
        return config

    def server_capabilities(self) -> ServerCapabilities:
        raise NotImplementedError

    @property
    def supports_ttl(self) -> bool:
        return self.api == "nstore" and self.server_capabilities().supports_ttl

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def supports_prefix_listing(self) -> bool:
        return self.api == "nstore"

    @property
    def supports_atomic_writes(self) -> bool:
        return True


_encode = msgspec.msgpack.Encoder().encode


def key_request_path(keys_base: str, key: str) -> str:
    """The request path of ``key`` under the store's keys URL path; InvalidKey for a bad key."""
    if type(key) is not str:
        raise invalid_key(key, _STORE)
    try:
        return keys_base + key_path(key)
    except UnicodeEncodeError:
        raise invalid_key(key, _STORE) from None


def response_error(where: str, status: int, body: bytes, key: str | None) -> Exception:
    """The error an unexpected response means; ``where`` is ``"METHOD url"`` for messages."""
    code = problem_code(body)
    if status == 404 and key is not None and code in ("missing-key", ""):
        return MissingKey(key)
    if code == "ttl-unsupported":
        return UnsupportedOperation(
            f"{where}: the store behind the server has no per-key expiry (supports_ttl is False); "
            "store the value without ttl=."
        )
    if code == "unsupported":
        return UnsupportedOperation(
            f"{where}: the store behind the server cannot do this operation ({status}); "
            "see server_capabilities() for what it can."
        )
    if code == "bad-ttl":
        return ConfigurationError(f"{where}: the server refused the ttl (400): it takes up to 1e9 seconds.")
    if code == "read-only":
        return ReadOnlyError(
            f"{where} was refused ({status}): the store behind the server is read-only; "
            "it serves reads only (serve a writable store to write)."
        )
    if status in (401, 403):
        return AuthError(f"{where} was refused ({status}): check the token and its access.")
    if status == 413:
        return ValueTooLarge(f"{where}: the server refused the body as too large (413).")
    if status == 414 or code in ("invalid-key", "key-too-long"):
        return InvalidKey(f"The server refuses the key {key!r} ({status}).")
    if status >= 500:
        return StoreUnavailable(f"{where} failed on the server ({status}); see the server's log.")
    return StoreError(f"{where} answered {status} {code or ''}".rstrip() + ".")


def batch_body(payload: dict[str, object], ttl: float | None = None) -> bytes:
    """The msgpack body of a ``/v1/batch`` request of one part (``get``, ``set`` or ``delete``),
    with the ``ttl`` of the values set; InvalidKey names the first key that is not one."""
    (keys,) = payload.values()  # a key list, or a dict by key
    for key in cast("Iterable[object]", keys):
        if type(key) is not str:  # msgpack would send it (an int key is valid msgpack)
            raise invalid_key(key, _STORE)
    try:
        return _encode(payload if ttl is None else {**payload, "ttl": ttl})
    except UnicodeEncodeError:
        for key in cast("Iterable[str]", keys):
            key_bytes(key, _STORE)  # raises InvalidKey naming the first bad key
        raise


def ttl_query(ttl: float | None) -> str:
    """The query of a PUT storing a value that expires after ``ttl`` seconds ("" for None);
    a ttl that is not a positive, finite number raises ConfigurationError before any request."""
    return "" if ttl is None else f"?ttl={check_ttl(ttl)!r}"


def touch_body(ttl: float | None) -> bytes:
    """The body of ``PUT /v1/ttl/{key}`` (touch)."""
    return msgspec.json.encode({"ttl": None if ttl is None else check_ttl(ttl)})


def page_path(base: str, prefix: str, cursor: str | None, limit: int) -> str:
    """The request path of one page of the listing of ``prefix``, from ``cursor`` (None first);
    the cursor is percent-encoded, so keys with ``+``, ``&``, ``%`` or ``#`` page correctly."""
    query = f"?prefix={quote(prefix, safe='')}&limit={limit}"
    if cursor is not None:
        query += f"&cursor={quote(cursor, safe='')}"
    return base + "/v1/keys" + query


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    """``items`` in lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_pairs(items: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> Iterator[dict[str, bytes]]:
    """The pairs of a ``set_many`` in batches of at most BATCH_KEYS keys and about BATCH_BYTES bytes."""
    chunk: dict[str, bytes] = {}
    size = 0
    for key, value in item_pairs(items):
        if type(key) is not str:
            raise invalid_key(key, _STORE)
        chunk[key] = as_bytes(value, key, _STORE)
        size += len(value) + len(key)
        if size >= BATCH_BYTES or len(chunk) >= BATCH_KEYS:
            yield chunk
            chunk, size = {}, 0
    if chunk:
        yield chunk


def bearer(token: object) -> str:
    """The Authorization value of ``token``: its UTF-8 bytes, as the server reads them, held in a
    str that the clients send as latin-1 (one byte a character). A token no header can carry (not
    a str, or with spaces or control characters) is refused, without showing it."""
    if not isinstance(token, str) or not token.isprintable() or " " in token:
        raise ConfigurationError(
            "Expected the token as a str of printable characters without spaces (as the server "
            f"takes them, e.g. secrets.token_urlsafe()). Got a {type(token).__name__} that is not one "
            "instead."
        )
    return f"Bearer {token}".encode().decode("latin-1")


class Req(NamedTuple):
    """One request of an HTTP store: what is sent, and the statuses that are not an error."""

    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    key: str | None = None
    idempotent: bool = True
    ok: tuple[int, ...] = (200, 204)


class Requests:
    """What each operation of HTTPStore and AsyncHTTPStore sends, and how an answer is checked:
    the stores differ only in how they send a :class:`Req` (their pools)."""

    __slots__ = ("base", "headers", "keys", "url")

    def __init__(self, target: Target, token: str | None, url: str) -> None:
        self.base = target.base
        self.keys = target.keys
        self.url = url  # scheme://netloc, for messages
        self.headers: Mapping[str, str] = {"Authorization": bearer(token)} if token else {}

    def headers_of(self, req: Req) -> Mapping[str, str]:
        return {**self.headers, **req.headers} if req.headers else self.headers

    def checked(self, req: Req, response: R) -> R:
        """``response``, or the error its status means."""
        if response.status not in req.ok:
            where = f"{req.method} {self.url}{req.path}"
            raise response_error(where, response.status, response.body, req.key)
        return response

    def get(self, key: str) -> Req:
        return Req("GET", key_request_path(self.keys, key), key=key, ok=(200,))

    def put(self, key: str, value: bytes, ttl: float | None = None) -> Req:
        path = key_request_path(self.keys, key) + ttl_query(ttl)
        return Req("PUT", path, as_bytes(value, key, _STORE), key=key)

    def delete(self, key: str) -> Req:
        return Req("DELETE", key_request_path(self.keys, key), key=key)

    def head(self, key: str) -> Req | None:
        """The HEAD of ``key``, or None for a key no server stores."""
        try:
            path = key_request_path(self.keys, key)
        except InvalidKey:
            return None
        # A HEAD answer has no problem document: 400 and 414 mean a key the server refuses.
        return Req("HEAD", path, key=key, ok=(200, 400, 404, 414))

    def create(self, key: str, value: bytes) -> Req:
        """PUT ``value`` only if ``key`` is absent (204 stored, 412 not)."""
        return self._conditional(key, value, {"If-None-Match": "*"})

    def replace(self, key: str, expected: bytes, value: bytes) -> Req:
        """PUT ``value`` only if the stored value is ``expected`` (204 stored, 412 not)."""
        return self._conditional(key, value, {"If-Match": etag(as_bytes(expected, key, _STORE))})

    def _conditional(self, key: str, value: bytes, headers: dict[str, str]) -> Req:
        body = as_bytes(value, key, _STORE)
        path = key_request_path(self.keys, key)
        return Req("PUT", path, body, headers, key=key, idempotent=False, ok=(204, 412))

    def page(self, prefix: str, cursor: str | None, limit: int) -> Req:
        return Req("GET", page_path(self.base, prefix, cursor, limit), ok=(200,))

    def batch(self, payload: dict[str, object], ttl: float | None = None) -> Req:
        return Req("POST", self.base + "/v1/batch", batch_body(payload, ttl), MSGPACK, ok=(200,))

    def ttl(self, key: str) -> Req:
        return Req("GET", key_request_path(self.base + "/v1/ttl/", key), key=key, ok=(200,))

    def touch(self, key: str, ttl: float | None) -> Req:
        return Req("PUT", key_request_path(self.base + "/v1/ttl/", key), touch_body(ttl), JSON, key=key)

    def capabilities(self) -> Req:
        return Req("GET", self.base + "/v1/capabilities", ok=(200, 404))


def check_page_size(page_size: object) -> int:
    if type(page_size) is not int or not 1 <= page_size <= PAGE:
        raise ConfigurationError(f"Expected page_size from 1 to {PAGE}. Got {page_size!r} instead.")
    return page_size


def plain_cannot_list() -> UnsupportedOperation:
    return UnsupportedOperation("HTTPStore(api='plain') cannot list keys; use api='nstore'.")
