"""HTTPStore: a ``Store[str, bytes]`` over HTTP, for an nstore server or any plain REST server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from nstore._expiry import check_ttl, unsupported_ttl
from nstore.errors import ConfigurationError
from nstore.store import KeyPage, Store, check_limit
from nstore.stores._http_answers import (
    Page,
    ServerCapabilities,
    decode_batch,
    decode_capabilities,
    decode_page,
    decode_ttl,
)
from nstore.stores._http_config import ClientOptions
from nstore.stores._http_pool import ConnectionPool, Response
from nstore.stores._http_requests import (
    BATCH_KEYS,
    PAGE,
    HTTPCapabilities,
    Req,
    batch_pairs,
    check_page_size,
    chunks,
    plain_cannot_list,
)

__all__ = ["HTTPStore"]

MiB = 1024 * 1024


class HTTPStore(HTTPCapabilities, Store[str, bytes]):
    """A remote ``Store[str, bytes]`` served over HTTP by :func:`nstore.server.serve`.

    Parameters
    ----------
    url : the server's base URL, e.g. ``http://127.0.0.1:8470``. With ``api="plain"``, the URL
        that keys are appended to (``GET {url}{key}``), for any server that maps GET, PUT and
        DELETE of a URL to a value.
    token : a bearer token, sent as ``Authorization: Bearer`` in UTF-8 (as the server reads it);
        printable, without spaces; never put in messages.
    timeout : seconds a read from the server may stall (more than 0, at most a day).
    connect_timeout : seconds to open a connection (more than 0, at most a day).
    max_response : largest response body accepted, in bytes (:class:`~nstore.errors.ValueTooLarge`).
    retries : extra attempts for idempotent requests after a connection error or a 502/503/504,
        with exponential backoff from ``backoff`` seconds (0 to a day). Conditional writes are
        never retried; a pooled connection the server has closed is not reused.
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
        self.page_size = check_page_size(page_size)
        options = ClientOptions(timeout, connect_timeout, max_response, retries, backoff)
        self._pool = ConnectionPool(self._setup(url, token, api, options))

    def _send(self, req: Req) -> Response:
        return self._req.checked(req, self._pool.request(req, self._req.headers_of(req)))

    def server_capabilities(self) -> ServerCapabilities:
        """What the server says of its store (``GET /v1/capabilities``), asked once and kept."""
        if self._server is None:
            response = self._send(self._req.capabilities())
            self._server = decode_capabilities(response.status, response.body)
        return self._server

    # -- single keys ----------------------------------------------------------------------------

    def __getitem__(self, key: str, /) -> bytes:
        return self._send(self._req.get(key)).body

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self._send(self._req.put(key, value))

    def __delitem__(self, key: str, /) -> None:
        self._send(self._req.delete(key))

    def __contains__(self, key: object, /) -> bool:
        req = self._req.head(key) if isinstance(key, str) else None
        return req is not None and self._send(req).status == 200

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        # docstring inherited
        return self._send(self._req.create(key, value)).status == 204

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        # docstring inherited
        return self._send(self._req.replace(key, expected, value)).status == 204

    # -- expiry ---------------------------------------------------------------------------------

    def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        # docstring inherited; a server whose store has no expiry refuses a ttl
        if ttl is not None and self.api != "nstore":
            raise unsupported_ttl(self)
        self._send(self._req.put(key, value, ttl))

    def ttl(self, key: str, /) -> float | None:
        # docstring inherited
        if self.api != "nstore":
            return super().ttl(key)
        return decode_ttl(self._send(self._req.ttl(key)).body)

    def touch(self, key: str, /, *, ttl: float | None) -> None:
        # docstring inherited
        if self.api != "nstore":
            raise unsupported_ttl(self)
        self._send(self._req.touch(key, ttl))

    # -- listing and batches ---------------------------------------------------------------------

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        # docstring inherited
        if self.api != "nstore":
            raise plain_cannot_list()
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
            raise plain_cannot_list()
        check_limit(limit)
        if cursor is not None and not isinstance(cursor, str):
            raise ConfigurationError(f"Expected a str cursor from keys_page. Got {type(cursor).__name__}.")
        page = self._page(prefix or "", cursor, min(limit, PAGE))
        return KeyPage(page.keys, page.next_cursor)

    def _page(self, prefix: str, cursor: str | None, limit: int) -> Page:
        return decode_page(self._send(self._req.page(prefix, cursor, limit)).body)

    def _batch(self, payload: dict[str, object], ttl: float | None = None) -> dict[str, bytes]:
        return decode_batch(self._send(self._req.batch(payload, ttl)).body)

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
        if self.api != "nstore":
            return super().set_many(items, ttl=ttl)
        checked = None if ttl is None else check_ttl(ttl)
        for chunk in batch_pairs(items):
            self._batch({"set": chunk}, checked)
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
