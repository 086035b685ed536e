"""AsyncHTTPStore: an ``AsyncStore[str, bytes]`` over HTTP, native on the event loop.

It speaks to the servers :class:`~nstore.HTTPStore` speaks to, with its parameters, requests,
errors and retry rule (``_http_requests``), over a pool of asyncio stream connections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Literal

from nstore._expiry import unsupported_ttl
from nstore.astore import AsyncStore
from nstore.errors import InvalidKey, UnsupportedOperation
from nstore.stores._ahttp_pool import AsyncConnectionPool, AsyncResponse
from nstore.stores._http_requests import (
    BATCH_KEYS,
    MSGPACK,
    PAGE,
    HTTPCapabilities,
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

__all__ = ["AsyncHTTPStore"]

MiB = 1024 * 1024


class AsyncHTTPStore(HTTPCapabilities, AsyncStore[str, bytes]):
    """A remote async store served over HTTP by ``nstore serve`` (or any plain REST server).

    Parameters are :class:`~nstore.HTTPStore`'s, plus ``max_connections``: requests in flight
    at once (each on its own keep-alive connection); more wait their turn.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import MemoryStore
    >>> from nstore.server import serve_in_thread
    >>> async def main(url: str) -> dict[str, bytes]:
    ...     async with AsyncHTTPStore(url) as store:
    ...         await asyncio.gather(store.set("a", b"1"), store.set("b", b"2"))
    ...         return await store.get_many(["a", "b", "c"])
    >>> with serve_in_thread(MemoryStore[str, bytes]()) as server:
    ...     asyncio.run(main(server.url))
    {'a': b'1', 'b': b'2'}
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
        max_connections: int = 50,
    ) -> None:
        parts, host, self._base, self._keys, self.url = target(url, api)
        self.api = api
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._pool = AsyncConnectionPool(
            parts.scheme,
            host,
            parts.port,
            url=f"{parts.scheme}://{parts.netloc}",
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_response=max_response,
            retries=retries,
            backoff=backoff,
            max_connections=max_connections,
        )

    # -- requests ----------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        key: str | None = None,
        idempotent: bool = True,
        ok: tuple[int, ...] = (200, 204),
    ) -> AsyncResponse:
        all_headers = {**self._headers, **headers} if headers else self._headers
        response = await self._pool.request(method, path, body, all_headers, idempotent=idempotent)
        if response.status not in ok:
            raise response_error(f"{method} {self._pool.url}{path}", response.status, response.body, key)
        return response

    # -- single keys -------------------------------------------------------------------------------

    async def get(self, key: str, /) -> bytes:
        return (await self._request("GET", key_request_path(self._keys, key), key=key, ok=(200,))).body

    async def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        if ttl is not None:
            raise unsupported_ttl(self)
        body = as_bytes(value, key, "HTTPStore")
        await self._request("PUT", key_request_path(self._keys, key), body, key=key)

    async def delete(self, key: str, /) -> None:
        await self._request("DELETE", key_request_path(self._keys, key), key=key)

    async def contains(self, key: str, /) -> bool:
        given: object = key  # a key of another type is not in the store
        if not isinstance(given, str):
            return False
        try:
            path = key_request_path(self._keys, key)
        except InvalidKey:
            return False
        # A HEAD answer has no problem document: 400 and 414 mean a key the server refuses.
        response = await self._request("HEAD", path, key=key, ok=(200, 400, 404, 414))
        return response.status == 200

    async def set_if_absent(self, key: str, value: bytes, /) -> bool:
        body = as_bytes(value, key, "HTTPStore")
        return await self._conditional(key, body, {"If-None-Match": "*"})

    async def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        headers = {"If-Match": etag(as_bytes(expected, key, "HTTPStore"))}
        return await self._conditional(key, as_bytes(value, key, "HTTPStore"), headers)

    async def _conditional(self, key: str, value: bytes, headers: dict[str, str]) -> bool:
        path = key_request_path(self._keys, key)
        response = await self._request("PUT", path, value, headers, key=key, idempotent=False, ok=(204, 412))
        return response.status == 204

    # -- listing and batches ---------------------------------------------------------------------

    async def iter_keys(self, prefix: str | None = None) -> AsyncIterator[str]:
        # docstring inherited
        if self.api != "nstore":
            raise UnsupportedOperation("HTTPStore(api='plain') cannot list keys; use api='nstore'.")
        cursor = None
        while True:
            response = await self._request(
                "GET", page_path(self._base, prefix or "", cursor, PAGE), ok=(200,)
            )
            page = decode_page(response.body)
            for key in page.keys:
                yield key
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _batch(self, payload: dict[str, object]) -> dict[str, bytes]:
        body = batch_body(payload)
        return decode_batch(
            (await self._request("POST", self._base + "/v1/batch", body, MSGPACK, ok=(200,))).body
        )

    async def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        if self.api != "nstore":
            return await super().get_many(keys)
        found: dict[str, bytes] = {}
        for chunk in chunks(list(keys), BATCH_KEYS):
            found.update(await self._batch({"get": chunk}))
        return found

    async def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        # not atomic across chunks: a large call is sent in several requests
        if ttl is not None:
            raise unsupported_ttl(self)
        if self.api != "nstore":
            return await super().set_many(items)
        for chunk in batch_pairs(items):
            await self._batch({"set": chunk})
        return None

    async def delete_many(self, keys: Iterable[str], /) -> None:
        if self.api != "nstore":
            return await super().delete_many(keys)
        for chunk in chunks(list(keys), BATCH_KEYS):
            await self._batch({"delete": chunk})
        return None

    # -- life cycle -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._pool.aclose()

    def __repr__(self) -> str:
        return f"AsyncHTTPStore({self.url!r})"
