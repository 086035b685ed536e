"""HTTPStore: a ``Store[str, bytes]`` over HTTP, for an nstore server or any plain REST server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Literal, cast
from urllib.parse import quote, urlsplit

import msgspec

from nstore.errors import (
    AuthError,
    ConfigurationError,
    InvalidKey,
    MissingKey,
    StoreError,
    StoreUnavailable,
    UnsupportedOperation,
    ValueTooLarge,
)
from nstore.store import KeyPage, Store, check_limit, item_pairs
from nstore.stores._http_pool import ConnectionPool, Response
from nstore.stores._http_wire import etag, key_path, problem_code
from nstore.stores._keys import invalid_key, key_bytes
from nstore.stores._values import as_bytes

__all__ = ["HTTPStore"]

MiB = 1024 * 1024
_BATCH_KEYS = 5000  # keys per batch request
_BATCH_BYTES = 8 * MiB  # value bytes per batch request, well under the server's default body limit
_PAGE = 1000
_MSGPACK = {"Content-Type": "application/msgpack"}


class _Batch(msgspec.Struct):
    values: dict[str, bytes]


class _Page(msgspec.Struct):
    keys: list[str]
    next_cursor: str | None


_encode = msgspec.msgpack.Encoder().encode
_decode_batch = msgspec.msgpack.Decoder(_Batch).decode
_decode_page = msgspec.json.Decoder(_Page).decode


class HTTPStore(Store[str, bytes]):
    """A remote ``Store[str, bytes]`` served over HTTP by :func:`nstore.server.serve`.

    Parameters
    ----------
    url : the server's base URL, e.g. ``http://127.0.0.1:8470``. With ``api="plain"``, the URL
        that keys are appended to (``GET {url}{key}``), for any server that maps GET, PUT and
        DELETE of a URL to a value.
    token : a bearer token, sent as ``Authorization: Bearer``; never put in messages.
    timeout : seconds a read from the server may stall.
    connect_timeout : seconds to open a connection.
    max_response : largest response body accepted, in bytes (:class:`~nstore.errors.ValueTooLarge`).
    retries : extra attempts for idempotent requests after a connection error or a 502/503/504,
        with exponential backoff from ``backoff`` seconds. Conditional writes are never retried.
    api : ``"nstore"`` (batches, listing, conditional writes) or ``"plain"`` (single keys only).
        With ``"nstore"``, a URL ending in ``/v1/`` or ``/v1/keys/`` (as ``nstore serve`` prints
        it) names the same server as its base URL.
    page_size : keys asked for per listing request (1 to 1000, the server's largest page).

    Examples
    --------
    >>> from nstore import MemoryStore
    >>> from nstore.codecs import Utf8
    >>> from nstore.server import serve_in_thread
    >>> with serve_in_thread(MemoryStore[str, bytes]()) as server, HTTPStore(server.url) as store:
    ...     notes = store.with_values(Utf8())
    ...     notes["todo/1"] = "write docs"
    ...     sorted(store.keys(prefix="todo/")), store.get_many(["todo/1", "nope"])
    (['todo/1'], {'todo/1': b'write docs'})
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_response: int = 64 * MiB + 64 * 1024,
        retries: int = 2,
        backoff: float = 0.05,
        api: Literal["nstore", "plain"] = "nstore",
        page_size: int = _PAGE,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"Expected an http:// or https:// URL with a host. Got {url!r} instead.")
        if api not in ("nstore", "plain"):
            raise ConfigurationError(f"Expected api='nstore' or api='plain'. Got {api!r} instead.")
        if parts.username or parts.password:
            raise ConfigurationError("Expected the credentials in token=..., not in the URL.")
        if parts.query or parts.fragment or url.endswith(("?", "#")):
            raise ConfigurationError(f"Expected a base URL without a query or fragment. Got {url!r}.")
        if type(page_size) is not int or not 1 <= page_size <= _PAGE:
            raise ConfigurationError(f"Expected page_size from 1 to {_PAGE}. Got {page_size!r} instead.")
        self.api = api
        self.page_size = page_size
        base = _api_base(parts.path) if api == "nstore" else parts.path
        self._keys = base + "/v1/keys/" if api == "nstore" else base
        self._base = base
        self.url = f"{parts.scheme}://{parts.netloc}{base}"
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._pool = ConnectionPool(
            parts.scheme,
            parts.hostname,
            parts.port,
            url=f"{parts.scheme}://{parts.netloc}",
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_response=max_response,
            retries=retries,
            backoff=backoff,
        )

    # -- capabilities ---------------------------------------------------------------------------

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def supports_prefix_listing(self) -> bool:
        return self.api == "nstore"

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    # -- requests -------------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        if type(key) is not str:
            raise invalid_key(key, "HTTPStore")
        try:
            return self._keys + key_path(key)
        except UnicodeEncodeError:
            raise invalid_key(key, "HTTPStore") from None

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        key: str | None = None,
        idempotent: bool = True,
        ok: tuple[int, ...] = (200, 204),
    ) -> Response:
        all_headers = {**self._headers, **headers} if headers else self._headers
        response = self._pool.request(method, path, body, all_headers, idempotent=idempotent)
        if response.status not in ok:
            raise self._error(method, path, response, key)
        return response

    def _error(self, method: str, path: str, response: Response, key: str | None) -> Exception:
        status = response.status
        code = problem_code(response.body)
        where = f"{method} {self._pool.url}{path}"
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

    # -- single keys ----------------------------------------------------------------------------

    def __getitem__(self, key: str, /) -> bytes:
        return self._request("GET", self._path(key), key=key, ok=(200,)).body

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self._request("PUT", self._path(key), as_bytes(value, key, "HTTPStore"), key=key)

    def __delitem__(self, key: str, /) -> None:
        self._request("DELETE", self._path(key), key=key)

    def __contains__(self, key: object, /) -> bool:
        if not isinstance(key, str):
            return False
        try:
            path = self._path(key)
        except InvalidKey:
            return False
        # A HEAD answer has no problem document: 400 and 414 mean a key the server refuses.
        response = self._request("HEAD", path, key=key, ok=(200, 400, 404, 414))
        return response.status == 200

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        # docstring inherited
        headers = {"If-None-Match": "*"}
        path = self._path(key)
        return self._conditional(path, as_bytes(value, key, "HTTPStore"), headers, key)

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        # docstring inherited
        headers = {"If-Match": etag(as_bytes(expected, key, "HTTPStore"))}
        return self._conditional(self._path(key), as_bytes(value, key, "HTTPStore"), headers, key)

    def _conditional(self, path: str, value: bytes, headers: dict[str, str], key: str) -> bool:
        response = self._request("PUT", path, value, headers, key=key, idempotent=False, ok=(204, 412))
        return response.status == 204

    # -- listing and batches ---------------------------------------------------------------------

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        # docstring inherited
        if self.api != "nstore":
            raise UnsupportedOperation("HTTPStore(api='plain') cannot list keys; use api='nstore'.")
        return self._pages(prefix or "")

    def _pages(self, prefix: str) -> Iterator[str]:
        try:
            prefix.encode()
        except UnicodeEncodeError:
            return  # a prefix with a lone surrogate: no key starts with it
        cursor = None
        while True:
            page = self._page(prefix, cursor, self.page_size)
            yield from page.keys
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def keys_page(
        self, prefix: str | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[str]:
        # docstring inherited; one request, the cursor being the server's
        if self.api != "nstore":
            raise UnsupportedOperation("HTTPStore(api='plain') cannot list keys; use api='nstore'.")
        check_limit(limit)
        if cursor is not None and not isinstance(cursor, str):
            raise ConfigurationError(f"Expected a str cursor from keys_page. Got {type(cursor).__name__}.")
        page = self._page(prefix or "", cursor, min(limit, _PAGE))
        return KeyPage(page.keys, page.next_cursor)

    def _page(self, prefix: str, cursor: str | None, limit: int) -> _Page:
        query = f"?prefix={quote(prefix, safe='')}&limit={limit}"
        if cursor is not None:
            query += f"&cursor={quote(cursor, safe='')}"
        return _decode_page(self._request("GET", self._base + "/v1/keys" + query, ok=(200,)).body)

    def _batch(self, payload: dict[str, object]) -> dict[str, bytes]:
        (keys,) = cast("list[Iterable[object]]", list(payload.values()))  # a key list, or a dict by key
        for key in keys:
            if type(key) is not str:  # msgpack would send it (an int key is valid msgpack)
                raise invalid_key(key, "HTTPStore")
        try:
            body = _encode(payload)
        except UnicodeEncodeError:
            for key in keys:
                key_bytes(key, "HTTPStore")  # raises InvalidKey naming the first bad key
            raise
        response = self._request("POST", self._base + "/v1/batch", body, _MSGPACK, ok=(200,))
        return _decode_batch(response.body).values

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        # docstring inherited
        if self.api != "nstore":
            return super().get_many(keys)
        found: dict[str, bytes] = {}
        for chunk in _chunks(list(keys), _BATCH_KEYS):
            found.update(self._batch({"get": chunk}))
        return found

    def set_many(self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /) -> None:
        # docstring inherited; not atomic across chunks: a large call is sent in several requests
        if self.api != "nstore":
            return super().set_many(items)
        pairs = item_pairs(items)
        chunk: dict[str, bytes] = {}
        size = 0
        for key, value in pairs:
            if type(key) is not str:
                raise invalid_key(key, "HTTPStore")
            chunk[key] = as_bytes(value, key, "HTTPStore")
            size += len(value) + len(key)
            if size >= _BATCH_BYTES or len(chunk) >= _BATCH_KEYS:
                self._batch({"set": chunk})
                chunk, size = {}, 0
        if chunk:
            self._batch({"set": chunk})
        return None

    def delete_many(self, keys: Iterable[str], /) -> None:
        # docstring inherited
        if self.api != "nstore":
            return super().delete_many(keys)
        for chunk in _chunks(list(keys), _BATCH_KEYS):
            self._batch({"delete": chunk})
        return None

    # -- life cycle -----------------------------------------------------------------------------

    def close(self) -> None:
        # docstring inherited
        self._pool.close()

    def __repr__(self) -> str:
        return f"HTTPStore({self.url!r})"


def _api_base(path: str) -> str:
    """The server's base path: a URL given as ``.../v1/`` or ``.../v1/keys/`` means the same server."""
    base = path.rstrip("/")
    for tail in ("/v1/keys", "/v1"):
        if base.endswith(tail):
            return base[: -len(tail)]
    return base


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
