"""AsyncHTTPStore joins the StoreTests suite over a real server on 127.0.0.1 (memory and files behind
the embedded server; an AsyncMemoryStore behind the ASGI app under uvicorn).

Ground truth is the store behind the server, through the sync suites' accessors.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.stores.test_http as http_tests
from nstore import MemoryStore, Store, aopen
from nstore.errors import AuthError, StoreUnavailable
from nstore.server import make_asgi_app, serve_in_thread
from nstore.stores.ahttp import AsyncHTTPStore
from nstore.stores.amemory import AsyncMemoryStore
from tests.astores.facade import Blocking, LoopThread
from tests.astores.silent import silent_server
from tests.server.asgi_server import asgi_server


class _AsyncHTTPTests(http_tests._HTTPStoreTests):
    @pytest.fixture
    def store(self, tmp_path: Path, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        backend = self.backend(tmp_path)
        with serve_in_thread(backend) as server, Blocking(AsyncHTTPStore(server.url), loop) as store:
            http_tests._BACKENDS[id(store)] = backend
            yield store
            del http_tests._BACKENDS[id(store)]
        backend.close()


class TestAsyncHTTPOverMemory(_AsyncHTTPTests, http_tests.TestHTTPOverMemory):
    pass


class TestAsyncHTTPOverFiles(_AsyncHTTPTests, http_tests.TestHTTPOverFiles):
    pass


class TestAsyncHTTPOverASGIAsyncMemory(http_tests.TestHTTPOverMemory):
    """An async store awaited by the app, and the async client."""

    @pytest.fixture
    def store(self, tmp_path: Path, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        backend = MemoryStore[str, bytes]()
        app = make_asgi_app(AsyncMemoryStore(store=backend))
        with asgi_server(app) as url, Blocking(AsyncHTTPStore(url), loop) as store:
            http_tests._BACKENDS[id(store)] = backend
            yield store
            del http_tests._BACKENDS[id(store)]


def test_concurrent_requests_each_get_their_own_reply() -> None:
    # Values of 256 KiB and more take several reads each, so most cancels land mid-response.
    backend = MemoryStore[str, bytes](
        {f"k{i}": (f"{i}:".encode() * 200_000)[: 256 * 1024 + i] for i in range(50)}
    )
    rng = random.Random(28858)

    async def main(url: str) -> None:
        async with AsyncHTTPStore(url, max_connections=20) as store:
            keys = [f"k{i % 50}" for i in range(300)]
            replies = await asyncio.gather(*(store.get(k) for k in keys))
            assert all(r == backend[k] for k, r in zip(keys, replies, strict=True))
            # Cancel requests mid-flight, each at its own moment; their connections must not be reused.
            for _ in range(3):
                tasks = [asyncio.ensure_future(store.get(k)) for k in keys[:60]]
                for task in tasks:
                    await asyncio.sleep(rng.uniform(0, 0.001))
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            replies = await asyncio.gather(*(store.get(k) for k in keys))
            assert all(r == backend[k] for k, r in zip(keys, replies, strict=True))

    with serve_in_thread(backend) as server:
        asyncio.run(main(server.url))


def test_token_errors_and_an_unreachable_server() -> None:
    async def main(url: str) -> None:
        async with AsyncHTTPStore(url, token="wrong-token-of-20-chars") as store:
            with pytest.raises(AuthError):
                await store.get("k")
        async with AsyncHTTPStore("http://127.0.0.1:1", retries=0, connect_timeout=0.5) as store:
            with pytest.raises(StoreUnavailable, match="Could not GET"):
                await store.get("k")

    with serve_in_thread(MemoryStore[str, bytes](), tokens=["right-token-of-20-chars"]) as server:
        asyncio.run(main(server.url))


def test_aopen_gives_the_native_http_store() -> None:
    async def main(url: str) -> bytes:
        store = aopen(url)
        assert isinstance(store, AsyncHTTPStore)
        async with store:
            await store.set("k", b"v")
            return await store.get("k")

    with serve_in_thread(MemoryStore[str, bytes]()) as server:
        assert asyncio.run(main(server.url)) == b"v"


def test_a_server_that_never_answers_times_out() -> None:
    async def main() -> None:
        async with silent_server() as port, AsyncHTTPStore(f"http://127.0.0.1:{port}", timeout=0.2) as store:
            with pytest.raises(StoreUnavailable, match="TimeoutError"):
                await store.get("k")

    asyncio.run(main())


def test_capabilities_are_asked_once_without_blocking_the_loop() -> None:
    async def main(url: str) -> None:
        async with AsyncHTTPStore(url) as store:
            capabilities = await store.load_capabilities()
            assert capabilities.supports_ttl
            assert store.supports_ttl  # kept: no request now
            await store.set("k", b"v", ttl=600)
            left = await store.ttl("k")
            assert left is not None
            assert 500 < left <= 600
            await store.touch("k", ttl=None)
            assert await store.ttl("k") is None
        fresh = AsyncHTTPStore(url)
        assert fresh.supports_ttl  # the first read asks, blocking once
        await fresh.aclose()

    with serve_in_thread(MemoryStore[str, bytes]()) as server:
        asyncio.run(main(server.url))
