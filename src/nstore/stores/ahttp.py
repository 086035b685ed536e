"""AsyncHTTPStore: an ``AsyncStore[str, bytes]`` over HTTP, native on the event loop.

It speaks to the servers :class:`~nstore.HTTPStore` speaks to, with its parameters, requests,
errors and retry rule (``_http_requests``), over a pool of asyncio stream connections. Single-key
gets started in one loop tick are sent as one batch (``_http_coalesce``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Literal

from nstore._expiry import check_ttl, unsupported_ttl
from nstore.astore import AsyncStore
from nstore.stores._ahttp_pool import AsyncConnectionPool, AsyncResponse
from nstore.stores._http_answers import (
    ServerCapabilities,
    decode_batch,
    decode_capabilities,
    decode_page,
    decode_ttl,
)
from nstore.stores._http_coalesce import Coalescer
from nstore.stores._http_config import ClientOptions
from nstore.stores._http_pool import ConnectionPool
from nstore.stores._http_requests import (
    BATCH_KEYS,
    PAGE,
    HTTPCapabilities,
    Req,
    batch_pairs,
    chunks,
    plain_cannot_list,
)

__all__ = ["AsyncHTTPStore"]

MiB = 1024 * 1024


class AsyncHTTPStore(HTTPCapabilities, AsyncStore[str, bytes]):
    """A remote async store served over HTTP by ``nstore serve`` (or any plain REST server).

    Parameters are :class:`~nstore.HTTPStore`'s, plus:

    max_connections : requests in flight at once (each on its own keep-alive connection); more
        wait their turn.
    coalesce : send the single-key gets started in one event loop tick (``asyncio.gather`` of
        many ``get``) as one ``/v1/batch`` request (a lone get stays a plain ``GET``); each caller
        still gets its own value or error. Off with ``api="plain"``.

    :attr:`supports_ttl` asks the server once (``GET /v1/capabilities``); the first read of it
    blocks for that request, so read it first outside the event loop, or after
    ``await store.load_capabilities()``.

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
        coalesce: bool = True,
    ) -> None:
        options = ClientOptions(timeout, connect_timeout, max_response, retries, backoff)
        self._config = self._setup(url, token, api, options)
        self._pool = AsyncConnectionPool(self._config, max_connections=max_connections)
        self._coalescer = Coalescer(self._get, self._get_many) if coalesce and api == "nstore" else None

    async def _send(self, req: Req) -> AsyncResponse:
        return self._req.checked(req, await self._pool.request(req, self._req.headers_of(req)))

    def server_capabilities(self) -> ServerCapabilities:
        """What the server says of its store, asked once and kept; blocks the first time (see
        :meth:`load_capabilities`)."""
        if self._server is None:
            pool = ConnectionPool(self._config, max_idle=0)
            req = self._req.capabilities()
            try:
                response = self._req.checked(req, pool.request(req, self._req.headers))
            finally:
                pool.close()
            self._server = decode_capabilities(response.status, response.body)
        return self._server

    async def load_capabilities(self) -> ServerCapabilities:
        """Ask the server what its store can do (once), without blocking the event loop."""
        if self._server is None:
            response = await self._send(self._req.capabilities())
            self._server = decode_capabilities(response.status, response.body)
        return self._server

    # -- single keys -------------------------------------------------------------------------------

    async def get(self, key: str, /) -> bytes:
        if self._coalescer is None:
            return await self._get(key)
        self._req.get(key)  # a bad key fails its own caller, before it joins a batch
        return await self._coalescer.get(key)

    async def _get(self, key: str) -> bytes:
        return (await self._send(self._req.get(key))).body

    async def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        if ttl is not None and self.api != "nstore":
            raise unsupported_ttl(self)
        await self._send(self._req.put(key, value, ttl))

    async def delete(self, key: str, /) -> None:
        await self._send(self._req.delete(key))

    async def contains(self, key: str, /) -> bool:
        given: object = key  # a key of another type is not in the store
        req = self._req.head(key) if isinstance(given, str) else None
        return req is not None and (await self._send(req)).status == 200

    async def set_if_absent(self, key: str, value: bytes, /) -> bool:
        return (await self._send(self._req.create(key, value))).status == 204

    async def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        return (await self._send(self._req.replace(key, expected, value))).status == 204

    async def ttl(self, key: str, /) -> float | None:
        if self.api != "nstore":
            return await super().ttl(key)
        return decode_ttl((await self._send(self._req.ttl(key))).body)

    async def touch(self, key: str, /, *, ttl: float | None) -> None:
        if self.api != "nstore":
            raise unsupported_ttl(self)
        await self._send(self._req.touch(key, ttl))

    # -- listing and batches ---------------------------------------------------------------------

    async def iter_keys(self, prefix: str | None = None) -> AsyncIterator[str]:
        # docstring inherited
        if self.api != "nstore":
            raise plain_cannot_list()
        cursor = None
        while True:
            page = decode_page((await self._send(self._req.page(prefix or "", cursor, PAGE))).body)
            for key in page.keys:
                yield key
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _batch(self, payload: dict[str, object], ttl: float | None = None) -> dict[str, bytes]:
        return decode_batch((await self._send(self._req.batch(payload, ttl))).body)

    async def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        return await self._batch({"get": keys})

    async def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        if self.api != "nstore":
            return await super().get_many(keys)
        found: dict[str, bytes] = {}
        for part in await asyncio.gather(*map(self._get_many, chunks(list(keys), BATCH_KEYS))):
            found.update(part)
        return found

    async def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        # not atomic across chunks: a large call is sent in several requests
        if self.api != "nstore":
            return await super().set_many(items, ttl=ttl)
        checked = None if ttl is None else check_ttl(ttl)
        for chunk in batch_pairs(items):
            await self._batch({"set": chunk}, checked)
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
