"""AsyncRedisStore, as RedisStore: Redis keys of other types (hashes, lists) are not its keys."""

from __future__ import annotations

import asyncio

import pytest

from nstore.errors import MissingKey
from nstore.stores.aredis import AsyncRedisStore


@pytest.mark.parametrize("kind", ["standalone", "cluster"])
def test_keys_of_other_types_are_not_listed_read_or_in(kind: str, request: pytest.FixtureRequest) -> None:
    url: str = request.getfixturevalue("redis_url" if kind == "standalone" else "redis_cluster_url")
    strings = {f"s{i:03d}": b"v" for i in range(200)}

    async def main() -> None:
        async with AsyncRedisStore(url) as store:
            await store.client.hset(b"hash", b"f", b"v")
            await store.client.rpush(b"list", b"x")
            await store.set_many(strings)
            assert sorted([key async for key in store.iter_keys()]) == sorted(strings)
            for key in ["hash", "list"]:
                with pytest.raises(MissingKey):
                    await store.get(key)
                assert not await store.contains(key)
            # gets of one turn travel together: a key of another type is missing for its caller alone
            keys = ["s001", "hash", "s002", "list", "absent"]
            results = await asyncio.gather(*(store.get(k) for k in keys), return_exceptions=True)
            assert results[0] == results[2] == b"v"
            assert all(isinstance(results[i], MissingKey) for i in (1, 3, 4)), results
            assert await store.get_many(["hash", "s003"]) == {"s003": b"v"}
            assert await store.client.hget(b"hash", b"f") == b"v"  # left alone

    asyncio.run(main())
