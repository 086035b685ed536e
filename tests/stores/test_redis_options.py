"""RedisStore's options at their edges: ports, timeouts, replica waits."""

from __future__ import annotations

import time

import pytest

import nstore
from nstore.errors import ConfigurationError, StoreUnavailable
from nstore.stores.redis import RedisStore


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:0/0",  # redis-py would read port 0 as "none given" and use 6379
        "redis://127.0.0.1:65536/0",
        "redis+cluster://127.0.0.1:1,127.0.0.1:0",
    ],
)
def test_a_port_out_of_range_is_refused_before_connecting(url: str) -> None:
    with pytest.raises(ConfigurationError, match="Expected a port from 1 to 65535"):
        RedisStore(url)
    with pytest.raises(ConfigurationError, match="Expected a port from 1 to 65535"):
        nstore.open(url)


@pytest.mark.parametrize(
    "node", [("127.0.0.1", 0), ("127.0.0.1", 70000), "127.0.0.1:70000", "127.0.0.1:\uff16\uff13\uff17\uff19"]
)
def test_a_cluster_node_with_a_port_out_of_range_is_refused(node: object) -> None:
    with pytest.raises(ConfigurationError, match="a port from 1 to 65535"):
        RedisStore([node])  # type: ignore[list-item]  # a wrong node on purpose


@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "replica_timeout"])
@pytest.mark.parametrize("seconds", [float("inf"), 1e10, 86_401.0, 0.0])
def test_a_timeout_must_be_positive_and_at_most_a_day(redis_url: str, name: str, seconds: float) -> None:
    with pytest.raises(ConfigurationError, match=f"at most 86400, for {name}"):
        RedisStore(redis_url, **{name: seconds})  # type: ignore[arg-type]  # a name from the list
    with pytest.raises(ConfigurationError):
        nstore.open(f"{redis_url}?{name}={seconds}")


def test_a_replica_timeout_below_a_millisecond_still_ends(redis_url: str) -> None:
    # WAIT with 0 ms waits for ever: a timeout under 1 ms waits 1 ms
    with RedisStore(redis_url, replicas=1, replica_timeout=0.0004, retries=0, timeout=5) as store:
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match="only 0 of 1 replicas"):
            store["k"] = b"v"
        assert time.monotonic() - began < 2.5


def _write_each(store: RedisStore, keys: str) -> None:
    for key in keys:
        store[key] = b"v"


def test_a_cluster_node_opened_as_one_server_says_to_open_the_cluster(redis_cluster_urls: list[str]) -> None:
    node = RedisStore(redis_cluster_urls[0], retries=0)
    try:
        with pytest.raises(ConfigurationError, match=r"a node of a cluster.*redis\+cluster://"):
            _write_each(node, "abcdef")  # of six keys, some are held by another master
    finally:
        node.close()


def test_a_database_the_server_does_not_have_is_a_configuration_error(redis_url: str) -> None:
    with (
        RedisStore(redis_url.rsplit("/", 1)[0] + "/99", retries=0) as store,
        pytest.raises(ConfigurationError, match="no database of that number"),
    ):
        store["k"] = b"v"


def test_a_cluster_url_naming_one_server_says_to_open_it_as_one(redis_url: str) -> None:
    host_port = redis_url.split("//", 1)[1].rsplit("/", 1)[0]
    with pytest.raises(ConfigurationError, match=r"not a cluster.*redis://host:port/0"):
        RedisStore(f"redis+cluster://{host_port}", retries=0)
