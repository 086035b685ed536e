"""AsyncRedisStore joins the StoreTests suite on a real redis-server and a real Redis Cluster.

Ground truth is read and written with a separate sync redis-py client, as for RedisStore.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

import tests.stores.test_redis as redis_tests
from nstore import Store
from nstore.stores.aredis import AsyncRedisStore
from tests.astores.facade import Blocking, LoopThread
from tests.redis_servers import RedisCluster as Cluster
from tests.redis_servers import raw_cluster


class TestAsyncRedisStore(redis_tests.TestRedisStore):
    @pytest.fixture
    def store(self, redis_url: str, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        with redis.Redis.from_url(redis_url) as raw:
            self.raw = raw
            with Blocking(AsyncRedisStore(redis_url, prefix=self.prefix or None, timeout=5), loop) as store:
                yield store


class TestAsyncRedisStoreWithGlobPrefix(TestAsyncRedisStore):
    # Glob characters in the prefix must match only themselves in SCAN MATCH.
    prefix = "ns*[a-z]?\\:"


class TestAsyncRedisStoreOnCluster(redis_tests.TestRedisStoreOnCluster):
    @pytest.fixture
    def store(
        self, redis_cluster: Cluster, redis_cluster_url: str, loop: LoopThread
    ) -> Iterator[Store[str, bytes]]:
        with raw_cluster(redis_cluster) as raw:
            self.raw = raw
            with Blocking(AsyncRedisStore(redis_cluster_url, timeout=5), loop) as store:
                yield store
