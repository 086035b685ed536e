"""RedisStore joins the StoreTests suite on a real redis-server and a real Redis Cluster.

Ground truth is read and written with a separate redis-py client, not through the store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from nstore import Store
from nstore.stores.redis import RedisStore
from tests.redis_servers import RedisCluster as Cluster
from tests.redis_servers import raw_cluster
from tests.stores.base import StoreTests


class _RawAccess(StoreTests):
    """raw_get/raw_set over a separate client; ``prefix`` is the store's key prefix in Redis."""

    pages_sorted = False  # SCAN order

    prefix = ""
    raw: redis.Redis | RedisCluster

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        value = self.raw.get((self.prefix + key).encode())
        assert value is None or isinstance(value, bytes)
        return value

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        self.raw.set((self.prefix + key).encode(), value)


class TestRedisStore(_RawAccess):
    @pytest.fixture
    def store(self, redis_url: str) -> Iterator[Store[str, bytes]]:
        with redis.Redis.from_url(redis_url) as raw:
            self.raw = raw
            with RedisStore(redis_url, prefix=self.prefix or None, timeout=5) as store:
                yield store


class TestRedisStoreWithGlobPrefix(TestRedisStore):
    # Glob characters in the prefix must match only themselves in SCAN MATCH.
    prefix = "ns*[a-z]?\\:"


class TestRedisStoreOnCluster(_RawAccess):
    @pytest.fixture
    def store(self, redis_cluster: Cluster, redis_cluster_url: str) -> Iterator[Store[str, bytes]]:
        with raw_cluster(redis_cluster) as raw:
            self.raw = raw
            with RedisStore(redis_cluster_url, timeout=5) as store:
                yield store
