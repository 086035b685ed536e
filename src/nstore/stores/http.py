"""HTTPStore: a ``Store[str, bytes]`` over HTTP, for an nstore server or any plain REST server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from nstore._expiry import unsupported_ttl
from nstore.errors import ConfigurationError, InvalidKey, UnsupportedOperation
from nstore.store import KeyPage, Store, check_limit
from nstore.stores._http_pool import ConnectionPool, Response
from nstore.stores._http_requests import (
    BATCH_KEYS,
    MSGPACK,
    PAGE,
    HTTPCapabilities,
    Page,
    batch_body,
    batch_pairs,
    chunks,
    decode_batch,
    decode_page,
    key_request_path,
    page_path,
    response_error,
    target,
)
from nstore.stores._http_wire import etag
from nstore.stores._values import as_bytes

__all__ = ["HTTPStore"]

MiB = 1024 * 1024


class HTTPStore(HTTPCapabilities, Store[str, bytes]):
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
        page_size: int = PAGE,
    ) -> None:
        if type(page_size) is not int or not 1 <= page_size <= PAGE:
            raise ConfigurationError(f"Expected page_size from 1 to {PAGE}. Got {page_size!r} instead.")
        parts, host, self._base, self._keys, self.url = target(url, api)
        self.api = api
        self.page_size = page_size
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._pool = ConnectionPool(
            parts.scheme,
            host,
            parts.port,
            url=f"{parts.scheme}://{parts.netloc}",
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_response=max_response,
            retries=retries,
            backoff=backoff,
        )

    # -- requests -------------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        return key_request_path(self._keys, key)

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
            raise response_error(f"{method} {self._pool.url}{path}", response.status, response.body, key)
        return response

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
        page = self._page(prefix or "", cursor, min(limit, PAGE))
        return KeyPage(page.keys, page.next_cursor)

    def _page(self, prefix: str, cursor: str | None, limit: int) -> Page:
        return decode_page(self._request("GET", page_path(self._base, prefix, cursor, limit), ok=(200,)).body)

    def _batch(self, payload: dict[str, object]) -> dict[str, bytes]:
        response = self._request("POST", self._base + "/v1/batch", batch_body(payload), MSGPACK, ok=(200,))
        return decode_batch(response.body)

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        # docstring inherited
        if self.api != "nstore":
            return super().get_many(keys)
        found: dict[str, bytes] = {}
        for chunk in chunks(list(keys), BATCH_KEYS):
            found.update(self._batch({"get": chunk}))
        return found

    def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        # docstring inherited; not atomic across chunks: a large call is sent in several requests
        if ttl is not None:
            raise unsupported_ttl(self)
        if self.api != "nstore":
            return super().set_many(items)
        for chunk in batch_pairs(items):
            self._batch({"set": chunk})
        return None

    def delete_many(self, keys: Iterable[str], /) -> None:
        # docstring inherited
        if self.api != "nstore":
            return super().delete_many(keys)
        for chunk in chunks(list(keys), BATCH_KEYS):
            self._batch({"delete": chunk})
        return None

    # -- life cycle -----------------------------------------------------------------------------

    def close(self) -> None:
        # docstring inherited
        self._pool.close()

    def __repr__(self) -> str:
        return f"HTTPStore({self.url!r})"
