"""memoize over async stores: 1,000 tasks compute one key once, errors, cancellation, leases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from nstore import (
    AsyncAdapter,
    AsyncMemoryStore,
    AsyncRedisStore,
    AsyncStore,
    MemoryStore,
    SQLiteStore,
    memoize,
)
from nstore.codecs import Msgspec
from nstore.errors import ConfigurationError

TASKS = 1000

Factory = Callable[[], Awaitable[AsyncStore[str, bytes]]]


@pytest.fixture(params=["memory", "adapted-sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    """Makes the store inside the test's event loop (an async Redis client belongs to one loop)."""

    async def make() -> AsyncStore[str, bytes]:
        if request.param == "memory":
            return AsyncMemoryStore[str, bytes]()
        if request.param == "adapted-sqlite":
            return AsyncAdapter(SQLiteStore(tmp_path / "cache.db"))
        return AsyncRedisStore(request.getfixturevalue("redis_url"))

    if request.param == "redis":
        request.getfixturevalue("redis_url")  # start the server outside the loop
    return make


def test_a_thousand_tasks_compute_one_key_once(make_store: Factory) -> None:
    calls: list[int] = []

    async def main() -> None:
        store = await make_store()

        @memoize(store.with_values(Msgspec(list[int])), ttl=600)
        async def slow(n: int) -> list[int]:
            calls.append(n)
            await asyncio.sleep(0.1)
            return list(range(n))

        results = await asyncio.gather(*(slow(3) for _ in range(TASKS)))
        assert results == [[0, 1, 2]] * TASKS
        left = await store.ttl(slow.cache_key(3))
        assert left is not None
        assert 0 < left <= 600
        assert await slow(3) == [0, 1, 2]
        info = slow.cache_info()
        assert info.computations == 1
        assert info.waits == TASKS - 1
        assert info.hits == 1
        await slow.cache_clear()
        assert [k async for k in store.iter_keys()] == []
        await store.aclose()

    asyncio.run(main())
    assert calls == [3]


def test_every_waiting_task_gets_the_exception() -> None:
    calls: list[int] = []

    async def main() -> None:
        @memoize(AsyncMemoryStore[str, int]())
        async def failing(n: int) -> int:
            calls.append(n)
            await asyncio.sleep(0.05)
            raise LookupError(n)

        outcomes = await asyncio.gather(*(failing(1) for _ in range(TASKS)), return_exceptions=True)
        assert all(isinstance(o, LookupError) for o in outcomes)
        assert failing.cache_info().errors == 1
        with pytest.raises(LookupError):  # not cached by default: computed again
            await failing(1)

    asyncio.run(main())
    assert calls == [1, 1]


def test_a_cancelled_computing_task_leaves_the_computation_to_a_waiter() -> None:
    calls: list[str] = []

    async def main() -> None:
        started = asyncio.Event()

        @memoize(AsyncMemoryStore[str, str]())
        async def compute(x: str) -> str:
            calls.append(x)
            started.set()
            await asyncio.sleep(0.2)
            return x.upper()

        first = asyncio.create_task(compute("a"))
        await started.wait()
        waiters = [asyncio.create_task(compute("a")) for _ in range(10)]
        await asyncio.sleep(0.01)
        waiters[0].cancel()  # a cancelled waiter cancels only itself
        first.cancel()  # the computing task: one of the waiters computes again
        with pytest.raises(asyncio.CancelledError):
            await first
        with pytest.raises(asyncio.CancelledError):
            await waiters[0]
        assert await asyncio.gather(*waiters[1:]) == ["A"] * 9

    asyncio.run(main())
    assert calls == ["a", "a"]


def test_two_memoized_functions_share_one_computation_through_a_lease(redis_url: str) -> None:
    calls: list[str] = []

    async def main() -> None:
        store = AsyncRedisStore(redis_url)

        def make() -> Callable[[str], Awaitable[bytes]]:  # two of them: as in two processes
            @memoize(store, name="report", leases=store, lease_poll=0.01)
            async def report(day: str) -> bytes:
                calls.append(day)
                await asyncio.sleep(0.2)
                return day.encode()

            return report

        one, two = make(), make()
        assert await asyncio.gather(*(f("mon") for f in (one, two) for _ in range(50))) == [b"mon"] * 100
        assert [k async for k in store.iter_keys("lease/")] == []
        await store.aclose()

    asyncio.run(main())
    assert calls == ["mon"]


def test_a_sync_function_needs_a_sync_store() -> None:
    def plain(x: int) -> int:
        return x

    with pytest.raises(ConfigurationError, match="not an async function"):
        memoize(AsyncMemoryStore[str, int]())(plain)  # type: ignore[arg-type]  # the mistake under test
    leases = MemoryStore[str, bytes]()
    with pytest.raises(ConfigurationError, match=r"Expected an AsyncStore for leases.*AsyncAdapter"):
        memoize(AsyncMemoryStore[str, int](), leases=leases)  # type: ignore[call-overload]  # the mistake under test


def test_invalidate_and_cache_key() -> None:
    calls: list[int] = []

    async def main() -> None:
        store = AsyncMemoryStore[str, int]()

        @memoize(store)
        async def double(x: int) -> int:
            calls.append(x)
            return 2 * x

        assert await double(2) == 4
        assert await store.get(double.cache_key(2)) == 4
        await double.invalidate(2)
        assert await double(2) == 4

    asyncio.run(main())
    assert calls == [2, 2]


def test_ttl_goes_through_the_async_stores_set() -> None:
    async def main() -> None:
        store = AsyncMemoryStore[str, int]()

        @memoize(store, ttl=30)
        async def triple(x: int) -> int:
            return 3 * x

        assert await triple(2) == 6
        left = await store.ttl(triple.cache_key(2))
        assert left is not None
        assert 0 < left <= 30

    asyncio.run(main())
