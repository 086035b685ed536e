"""Per-key expiry on Redis: ``set(ttl=)``, ``set_many(ttl=)``, ``ttl(key)`` and ``touch(key, ttl=)``.

Beyond the conformance suite's expiry cases (tests/stores/expiry.py), which the Redis stores
join: the time left read within load-proof ranges, ``touch`` of a key that has no expiry (which
``PERSIST`` alone answers like a missing key), the store-wide ttl, and ttls Redis cannot take.
One set of cases runs on RedisStore and on AsyncRedisStore (through the blocking facade), each on
a real server and a real cluster.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from nstore import Store
from nstore.errors import ConfigurationError, MissingKey
from nstore.stores.aredis import AsyncRedisStore
from nstore.stores.redis import RedisStore
from tests.astores.facade import Blocking, LoopThread


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(params=["standalone", "cluster"])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(
        "redis_url" if request.param == "standalone" else "redis_cluster_url"
    )
    return value


def _open(api: str, url: str, ttl: float | None = None) -> Iterator[Store[str, bytes]]:
    if api == "sync":
        with RedisStore(url, ttl=ttl) as store:
            yield store
        return
    loop = LoopThread()
    try:
        with Blocking(AsyncRedisStore(url, ttl=ttl), loop) as blocking:
            yield blocking
    finally:
        loop.stop()


@pytest.fixture
def store(api: str, url: str) -> Iterator[Store[str, bytes]]:
    yield from _open(api, url)


def _within(left: float | None, low: float, high: float) -> bool:
    return left is not None and low < left <= high


def test_ttl_reads_the_time_left(store: Store[str, bytes]) -> None:
    assert store.supports_ttl
    store.set("short", b"v", ttl=2)
    store.set_many({"m1": b"1", "m2": b"2"}, ttl=30)
    store["forever"] = b"f"
    assert _within(store.ttl("short"), 0, 2)
    for key in ["m1", "m2"]:
        assert _within(store.ttl(key), 20, 30)
    assert store.ttl("forever") is None
    with pytest.raises(MissingKey):
        store.ttl("absent")


def test_touch_sets_and_removes_the_expiry(store: Store[str, bytes]) -> None:
    store["k"] = b"v"
    store.touch("k", ttl=30)
    assert _within(store.ttl("k"), 20, 30)
    store.touch("k", ttl=None)
    assert store.ttl("k") is None
    store.touch("k", ttl=None)  # a key without expiry keeps none, and is not reported missing
    assert store["k"] == b"v"
    for ttl in [5, None]:
        with pytest.raises(MissingKey):
            store.touch("absent", ttl=ttl)
    assert "absent" not in store  # touch never creates a key


def test_a_store_wide_ttl_is_the_default(api: str, url: str) -> None:
    for store in _open(api, url, ttl=60):
        store["d"] = b"1"
        assert store.set_if_absent("nx", b"1")
        store.set_many({"dm": b"1"})
        store.set("own", b"1", ttl=5)
        for key in ["d", "nx", "dm"]:
            assert _within(store.ttl(key), 50, 60), key
        assert _within(store.ttl("own"), 0, 5)
        store.touch("d", ttl=None)  # None in touch means never, whatever the store's default
        assert store.ttl("d") is None


@pytest.mark.parametrize("ttl", [0, -1, "10", True, math.inf, math.nan, 1e300])
def test_bad_ttl_is_refused(store: Store[str, bytes], ttl: object) -> None:
    store["k"] = b"v"
    with pytest.raises(ConfigurationError, match="ttl"):
        store.set("k", b"w", ttl=ttl)  # type: ignore[arg-type]  # the bad values are the point
    with pytest.raises(ConfigurationError, match="ttl"):
        store.set_many({"k": b"w"}, ttl=ttl)  # type: ignore[arg-type]  # as above
    with pytest.raises(ConfigurationError, match="ttl"):
        store.touch("k", ttl=ttl)  # type: ignore[arg-type]  # as above
    assert store["k"] == b"v"
    assert store.ttl("k") is None
    with pytest.raises(ConfigurationError, match="ttl"):
        RedisStore("redis://127.0.0.1:1/0", ttl=ttl)  # type: ignore[arg-type]  # as above
    with pytest.raises(ConfigurationError, match="ttl"):
        AsyncRedisStore("redis://127.0.0.1:1/0", ttl=ttl)  # type: ignore[arg-type]  # as above
