"""What HTTPStore and AsyncHTTPStore send and how they read the answers, without I/O.

Request paths, batch and page bodies, the error each response status means, and when a request
is tried again are decided here once; the sync and async stores differ only in their connection
pools (``http.client`` threads or asyncio streams).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from typing import Final, NamedTuple, cast
from urllib.parse import SplitResult, quote, urlsplit

import msgspec

from nstore.errors import (
    AuthError,
    ConfigurationError,
    InvalidKey,
    MissingKey,
    StoreError,
    StoreUnavailable,
    ValueTooLarge,
)
from nstore.store import item_pairs
from nstore.stores._http_wire import key_path, problem_code
from nstore.stores._keys import invalid_key, key_bytes
from nstore.stores._values import as_bytes

__all__ = [
    "BATCH_BYTES",
    "BATCH_KEYS",
    "MSGPACK",
    "PAGE",
    "RETRY_STATUSES",
    "HTTPCapabilities",
    "Page",
    "Target",
    "backoff_delay",
    "batch_body",
    "batch_pairs",
    "chunks",
    "decode_batch",
    "decode_page",
    "key_request_path",
    "page_path",
    "response_error",
    "target",
    "too_large",
    "unreachable",
]

MiB = 1024 * 1024
BATCH_KEYS: Final = 5000  # keys per batch request
BATCH_BYTES: Final = 8 * MiB  # value bytes per batch request, well under the server's default body limit
PAGE: Final = 1000
MSGPACK: Final = {"Content-Type": "application/msgpack"}
#: Statuses worth retrying for an idempotent request: the server or a proxy was briefly unable.
RETRY_STATUSES: Final = frozenset({502, 503, 504})
_STORE = "HTTPStore"


class HTTPCapabilities:
    """Mixin: the capabilities of HTTPStore and AsyncHTTPStore. Remote; listing by prefix and
    atomic conditional writes are the server's (``api="plain"`` lists nothing)."""

    __slots__ = ()
    api: str

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def supports_prefix_listing(self) -> bool:
        return self.api == "nstore"

    @property
    def supports_atomic_writes(self) -> bool:
        return True


class _Batch(msgspec.Struct):
    values: dict[str, bytes]


class Page(msgspec.Struct):
    """One page of a key listing."""

    keys: list[str]
    next_cursor: str | None


_encode = msgspec.msgpack.Encoder().encode
_decode_batch = msgspec.msgpack.Decoder(_Batch).decode
decode_page = msgspec.json.Decoder(Page).decode


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
    if status in (401, 403):
        return AuthError(f"{where} was refused ({status}): check the token and its access.")
    if status == 413:
        return ValueTooLarge(f"{where}: the server refused the body as too large (413).")
    if status == 414 or code == "invalid-key":
        return InvalidKey(f"The server refuses the key {key!r} ({status}).")
    if status >= 500:
        return StoreUnavailable(f"{where} failed on the server ({status}); see the server's log.")
    return StoreError(f"{where} answered {status} {code or ''}".rstrip() + ".")


def batch_body(payload: dict[str, object]) -> bytes:
    """The msgpack body of a ``/v1/batch`` request; InvalidKey names the first key that is not one."""
    (keys,) = payload.values()  # a key list, or a dict by key
    for key in cast("Iterable[object]", keys):
        if type(key) is not str:  # msgpack would send it (an int key is valid msgpack)
            raise invalid_key(key, _STORE)
    try:
        return _encode(payload)
    except UnicodeEncodeError:
        for key in cast("Iterable[str]", keys):
            key_bytes(key, _STORE)  # raises InvalidKey naming the first bad key
        raise


def decode_batch(body: bytes) -> dict[str, bytes]:
    """The values of a ``/v1/batch`` response."""
    return _decode_batch(body).values


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


def backoff_delay(backoff: float, attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential from ``backoff``, jittered."""
    return float(backoff * 2**attempt * (0.5 + random.random()))


def unreachable(method: str, url: str, exc: BaseException) -> StoreUnavailable:
    """The error for a request that could not reach the server on its last attempt."""
    return StoreUnavailable(
        f"Could not {method} {url}: {type(exc).__name__}: {exc}. "
        "Check that the server is running and reachable."
    )


def too_large(url: str, max_response: int, length: str | None = None) -> ValueTooLarge:
    """The error for a response over ``max_response`` bytes (declared ``length`` when known)."""
    if length is not None:
        return ValueTooLarge(
            f"The response from {url} is {length} bytes, over max_response="
            f"{max_response}; raise max_response to read it."
        )
    return ValueTooLarge(
        f"The response from {url} is over max_response={max_response} bytes; raise max_response to read it."
    )


class Target(NamedTuple):
    """Where an HTTP store's requests go: the URL's parts and the paths under it."""

    parts: SplitResult
    host: str
    base: str  # the path prefix of every endpoint
    keys: str  # the path that keys are appended to
    url: str  # the store's URL, for repr and messages (never holds a token)


def target(url: str, api: str) -> Target:
    """Check an HTTP store's ``url`` and ``api`` and say where its requests go.

    With ``api="nstore"``, a URL ending in ``/v1/`` or ``/v1/keys/`` (as ``nstore serve`` prints
    it) names the same server as its base URL; a URL with a query or fragment is refused.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"Expected an http:// or https:// URL with a host. Got {url!r} instead.")
    if api not in ("nstore", "plain"):
        raise ConfigurationError(f"Expected api='nstore' or api='plain'. Got {api!r} instead.")
    if parts.username or parts.password:
        raise ConfigurationError("Expected the credentials in token=..., not in the URL.")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigurationError(f"Expected a base URL without a query or fragment. Got {url!r}.")
    base = _api_base(parts.path) if api == "nstore" else parts.path
    keys = base + "/v1/keys/" if api == "nstore" else base
    return Target(parts, parts.hostname, base, keys, f"{parts.scheme}://{parts.netloc}{base}")


def _api_base(path: str) -> str:
    """The server's base path: a URL given as ``.../v1/`` or ``.../v1/keys/`` means the same server."""
    base = path.rstrip("/")
    for tail in ("/v1/keys", "/v1"):
        if base.endswith(tail):
            return base[: -len(tail)]
    return base
