"""AsyncRedisStore beyond the common suite: gets sent together, replica acknowledgements.

Each test runs its own event loop (``asyncio.run``) against a real redis-server or cluster; the
server's own counters (``INFO stats``) say how many connections the store opened.
"""

from __future__ import annotations

import asyncio
import random

import pytest
import redis

import nstore
from nstore.errors import MissingKey, StoreError, StoreUnavailable
from nstore.stores.aredis import AsyncRedisStore
from tests.astores.silent import silent_server
from tests.redis_servers import RedisCluster, raw_cluster


def _connections_received(raw: redis.Redis) -> int:
    received: int = raw.info("stats")["total_connections_received"]
    return received


# -- gets sent together ---------------------------------------------------------------------------


def test_gathered_gets_travel_together_each_with_its_own_reply(redis_url: str) -> None:
    values = {f"k{i}": str(i).encode() for i in range(500)}
    keys = [*values, "absent", "list", "secret", "k7"]
    # A user that may not read "secret": GET fails for that key alone (NOPERM).
    limited = redis_url.replace("redis://", "redis://batch:batch-password@")

    async def main(raw: redis.Redis) -> tuple[list[bytes | BaseException], int]:
        async with AsyncRedisStore(limited) as store:
            await store.set_many(values)
            before = _connections_received(raw)
            results = await asyncio.gather(*(store.get(k) for k in keys), return_exceptions=True)
            return results, _connections_received(raw) - before

    with redis.Redis.from_url(redis_url) as raw:
        raw.rpush(b"list", b"x")  # a key that another client made a list: not a key of the store
        may_read = ["k*", "absent", "list"]
        password = ["+batch-password"]
        raw.acl_setuser("batch", enabled=True, passwords=password, keys=may_read, commands=["+@all"])
        try:
            results, opened = asyncio.run(main(raw))
        finally:
            raw.acl_deluser("batch")
    assert results[:500] == list(values.values())
    assert isinstance(results[500], MissingKey)
    assert isinstance(results[501], MissingKey)
    assert isinstance(results[502], StoreError)
    assert "no permissions" in str(results[502])
    assert "'secret'" in str(results[502])
    assert results[503] == b"7"  # a key asked twice in one batch
    # One connection for the first get, which goes alone, and one for the batch of the others
    # (a connection per concurrent get would open up to max_connections).
    assert opened <= 2, opened


def test_gathered_gets_on_a_cluster(redis_cluster: RedisCluster, redis_cluster_url: str) -> None:
    values = {f"k{i}": str(i).encode() for i in range(300)}

    async def main() -> list[bytes | BaseException]:
        async with AsyncRedisStore(redis_cluster_url) as store:
            await store.set_many(values)
            keys = [*values, "absent", "list"]
            return await asyncio.gather(*(store.get(k) for k in keys), return_exceptions=True)

    with raw_cluster(redis_cluster) as raw:
        raw.rpush(b"list", b"x")
        results = asyncio.run(main())
    assert results[:300] == list(values.values())
    assert isinstance(results[300], MissingKey)
    assert isinstance(results[301], MissingKey)  # a list is not a key of the store


def test_a_failed_batch_names_each_callers_key() -> None:
    async def main() -> list[BaseException]:
        async with silent_server() as port:
            url = f"redis://127.0.0.1:{port}/0"
            async with AsyncRedisStore(url, timeout=0.2, connect_timeout=0.2, retries=0) as store:
                results = await asyncio.gather(
                    *(store.get(f"k{i}") for i in range(5)), return_exceptions=True
                )
        return [r for r in results if isinstance(r, BaseException)]

    errors = asyncio.run(main())
    assert len(errors) == 5
    for i, error in enumerate(errors):
        assert isinstance(error, StoreUnavailable)
        assert f"unavailable while reading 'k{i}'" in str(error)


@pytest.mark.parametrize("kind", ["standalone", "cluster"])
@pytest.mark.parametrize("bulk", [False, True], ids=["get", "get_many"])
def test_cancelled_reads_leave_no_unread_reply(kind: str, bulk: bool, request: pytest.FixtureRequest) -> None:
    # Replies of 256 KiB and more take many socket reads, so cancels land mid-reply: in a batch of
    # gets sent together (which runs on, its callers gone), or in get_many's own batch.
    url: str = request.getfixturevalue("redis_url" if kind == "standalone" else "redis_cluster_url")
    values = {f"c{i}": (f"{i}:".encode() * 200_000)[: 256 * 1024 + i] for i in range(32)}
    rng = random.Random(28858)

    async def read(store: AsyncRedisStore, keys: list[str]) -> dict[str, bytes]:
        if bulk:
            return await store.get_many(keys)
        return {keys[0]: await store.get(keys[0])}

    async def main() -> None:
        async with AsyncRedisStore(url, timeout=5) as store:
            await store.set_many(values)
            for _ in range(5):
                tasks = [asyncio.ensure_future(read(store, rng.sample(list(values), 4))) for _ in range(60)]
                for task in sorted(tasks, key=lambda _: rng.random()):
                    await asyncio.sleep(rng.uniform(0, 0.002))
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                assert any(t.cancelled() for t in tasks)
                asked = [rng.sample(list(values), 3) for _ in range(60)]
                replies = await asyncio.gather(*(read(store, keys) for keys in asked))
                for keys, reply in zip(asked, replies, strict=True):
                    assert reply == {k: values[k] for k in (keys if bulk else keys[:1])}

    asyncio.run(main())


def test_close_waits_for_the_batches_under_way(redis_url: str) -> None:
    async def main() -> list[bytes]:
        store = AsyncRedisStore(redis_url)
        await store.set_many({f"k{i}": b"v" for i in range(300)})
        tasks = [asyncio.ensure_future(store.get(f"k{i}")) for i in range(300)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the first get alone, the batch of the others: both under way
        await store.aclose()
        return await asyncio.gather(*tasks)

    assert asyncio.run(main()) == [b"v"] * 300


# -- replica acknowledgements, as RedisStore's ------------------------------------------------------


def test_replicas_wait_on_a_cluster(redis_cluster_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisStore(redis_cluster_url, replicas=1, replica_timeout=2) as store:
            await store.set("k", b"1")
            assert await store.set_if_absent("n", b"1")
            assert await store.compare_and_set("k", b"1", b"2")
            await store.set_many({f"m{i}": b"v" for i in range(50)})
            await store.set_many({"e": b"v"}, ttl=30)
            await store.touch("e", ttl=None)
            await store.delete_many(["m1", "m2"])
            await store.delete("n")
            assert await store.get("k") == b"2"
            assert len([key async for key in store.iter_keys()]) == 50

    asyncio.run(main())


def test_too_few_replicas_is_unavailable(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisStore(redis_url, replicas=1, replica_timeout=0.1, retries=0) as store:
            with pytest.raises(StoreUnavailable, match="only 0 of 1 replicas"):
                await store.set("k", b"v")
            assert await store.get("k") == b"v"  # on the master, but not known to be safe
            with pytest.raises(StoreUnavailable, match="replicas"):
                await store.set_many({"a": b"1", "b": b"2"})
            with pytest.raises(StoreUnavailable, match="replicas"):
                await store.touch("k", ttl=5)

    asyncio.run(main())


def test_the_url_options_of_async_redis_store_and_aopen_are_the_same(redis_url: str) -> None:
    url = redis_url + "?replicas=1&replica_timeout=0.1&retries=0&connect_timeout=1&prefix=same:"

    async def main() -> None:
        for store in (AsyncRedisStore(url), nstore.aopen(url)):
            async with store:
                assert isinstance(store, AsyncRedisStore)
                with pytest.raises(StoreUnavailable, match="only 0 of 1 replicas"):
                    await store.set("k", b"v")  # the server has no replica: both wait for one
                assert await store.client.get(b"same:k") == b"v"
                await store.client.delete(b"same:k")

    asyncio.run(main())
