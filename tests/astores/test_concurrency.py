"""Async-only promises: cancellation leaves no stray reply, timeouts, 1,000 tasks, an unstalled loop.

Every test runs its own event loop (``asyncio.run``) against real servers and real files.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from nstore import AsyncAdapter, AsyncMemoryStore, AsyncStore, SQLiteStore
from nstore.codecs import Zstd
from nstore.errors import StoreUnavailable
from nstore.stores.aredis import AsyncRedisStore
from tests.astores.silent import silent_server

# -- cancellation: the redis-py CVE-2023-28858 class ------------------------------------------------


async def _cancel_then_check(store: AsyncStore[str, bytes]) -> None:
    # Values of 256 KiB and more take several socket reads each, so most cancels land mid-reply.
    values = {f"c{i}": (f"{i}:".encode() * 200_000)[: 256 * 1024 + i] for i in range(32)}
    await store.set_many(values)
    rng = random.Random(28858)
    for _ in range(5):
        tasks = [asyncio.ensure_future(store.get(rng.choice(list(values)))) for _ in range(100)]
        # Each task is cancelled at its own moment, while its request or its reply is under way.
        for task in sorted(tasks, key=lambda _: rng.random()):
            await asyncio.sleep(rng.uniform(0, 0.0005))
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert any(t.cancelled() for t in tasks)
    # Every later reply must be the one asked for, on whichever pooled connection it travels.
    keys = [rng.choice(list(values)) for _ in range(200)]
    replies = await asyncio.gather(*(store.get(k) for k in keys))
    assert all(reply == values[k] for k, reply in zip(keys, replies, strict=True))
    for key in keys[:50]:
        assert await store.get(key) == values[key]


def test_cancelled_gets_leave_no_unread_reply(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisStore(redis_url, timeout=5) as store:
            await _cancel_then_check(store)

    asyncio.run(main())


def test_cancelled_gets_leave_no_unread_reply_on_cluster(redis_cluster_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisStore(redis_cluster_url, timeout=5) as store:
            await _cancel_then_check(store)

    asyncio.run(main())


def test_timeout_of_a_user_cancels_only_that_call(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisStore(redis_url, timeout=5) as store:
            await store.set("k", b"v" * 1_000_000)
            for _ in range(20):
                try:
                    async with asyncio.timeout(0.0005):
                        await store.get("k")
                except TimeoutError:
                    pass
            await store.set("small", b"s")
            assert await store.get("small") == b"s"
            assert await store.get("k") == b"v" * 1_000_000

    asyncio.run(main())


# -- timeouts ----------------------------------------------------------------------------------------


def test_a_server_that_never_replies_times_out() -> None:
    async def main() -> float:
        async with silent_server() as port:
            url = f"redis://127.0.0.1:{port}/0"
            async with AsyncRedisStore(url, timeout=0.2, connect_timeout=0.2, retries=0) as store:
                start = time.monotonic()
                with pytest.raises(StoreUnavailable, match="unavailable while reading 'k'"):
                    await store.get("k")
                return time.monotonic() - start

    assert asyncio.run(main()) < 5  # the configured 0.2 s, not a hang


# -- 1,000 concurrent tasks ---------------------------------------------------------------------------


async def _thousand_tasks(store: AsyncStore[str, bytes]) -> None:
    async def one(i: int) -> bytes:
        key = f"task/{i}"
        await store.set(key, key.encode())
        assert await store.set_if_absent(key, b"no") is False
        return await store.get(key)

    results = await asyncio.gather(*(one(i) for i in range(1000)))
    assert results == [f"task/{i}".encode() for i in range(1000)]
    assert len([k async for k in store.iter_keys("task/")]) == 1000


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis", "cluster"])
def test_thousand_concurrent_tasks(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    makers: dict[str, Callable[[], AsyncStore[str, bytes]]] = {
        "memory": AsyncMemoryStore[str, bytes],
        "sqlite": lambda: AsyncAdapter(SQLiteStore(tmp_path / "s.db")),
        "redis": lambda: AsyncRedisStore(request.getfixturevalue("redis_url")),
        "cluster": lambda: AsyncRedisStore(request.getfixturevalue("redis_cluster_url")),
    }
    make = makers[kind]

    async def main() -> None:
        async with make() as store:
            await _thousand_tasks(store)

    asyncio.run(main())


def test_compare_and_set_is_atomic_across_tasks(redis_url: str) -> None:
    async def main() -> bytes:
        async with AsyncRedisStore(redis_url) as store:
            await store.set("counter", b"0")

            async def increment() -> None:
                for _ in range(10):
                    while True:
                        current = await store.get("counter")
                        if await store.compare_and_set("counter", current, str(int(current) + 1).encode()):
                            break

            await asyncio.gather(*(increment() for _ in range(20)))
            return await store.get("counter")

    assert asyncio.run(main()) == b"200"


# -- the event loop is not stalled by a codec -----------------------------------------------------------


async def _largest_gap(work: Awaitable[object]) -> float:
    """The longest the loop went without running a 1 ms ticker while ``work`` ran, in seconds."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.01)
    try:
        await work
    finally:
        done.set()
        await tick
    return max(gaps)


def test_large_zstd_value_does_not_stall_the_loop() -> None:
    codec = Zstd(level=19)
    value = os.urandom(1 << 20) + bytes(range(256)) * (3 << 12)  # 4 MiB, partly compressible
    start = time.perf_counter()
    encoded = codec.encode(value)
    inline = time.perf_counter() - start  # what the loop would wait if encoding ran on it

    async def main() -> tuple[float, float]:
        async with AsyncMemoryStore[str, bytes]() as store:
            view = store.with_values(codec)
            set_gap = await _largest_gap(view.set("big", value))
            get_gap = await _largest_gap(view.get("big"))
            assert await view.get("big") == value
            assert store.store["big"] == encoded
        return set_gap, get_gap

    set_gap, get_gap = asyncio.run(main())
    assert set_gap < inline / 2, (set_gap, inline)
    assert get_gap < inline / 2, (get_gap, inline)
