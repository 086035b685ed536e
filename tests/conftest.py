"""Shared fixtures: real Redis servers started from the binary on free loopback ports.

``redis_url`` (a standalone server) and ``redis_cluster_url`` (a 3-master, 3-replica Redis Cluster)
start once per session and are flushed before each test that uses them. When ``redis-server`` or
``redis-cli`` is missing, these fixtures fail with a message saying what to install.

Tests marked ``slow`` (long soak, fuzz and crash runs) are deselected unless ``-m`` is given, as
the marker's declaration in pyproject.toml says; run them with ``pytest -m slow``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_servers import RedisCluster, RedisServer, missing_binaries, temporary_directory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr"):
        return  # an explicit -m expression decides
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


def _require_redis() -> None:
    problem = missing_binaries()
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def redis_directory() -> Iterator[Path]:
    """A temporary working directory for every Redis server of the session."""
    with temporary_directory() as directory:
        yield directory


@pytest.fixture(scope="session")
def redis_server(redis_directory: Path) -> Iterator[RedisServer]:
    """The session's standalone redis-server (not flushed: use ``redis_url`` in tests)."""
    _require_redis()
    server = RedisServer(redis_directory)
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def redis_cluster(redis_directory: Path) -> Iterator[RedisCluster]:
    """The session's Redis Cluster (not flushed: use ``redis_cluster_url`` in tests)."""
    _require_redis()
    cluster = RedisCluster(redis_directory / "cluster")
    try:
        yield cluster
    finally:
        cluster.kill()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """``redis://127.0.0.1:<port>/0`` of an empty standalone server (FLUSHALL before the test)."""
    redis_server.command("FLUSHALL")
    return redis_server.url


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisCluster) -> str:
    """``redis+cluster://127.0.0.1:<port>,...`` of an empty Redis Cluster (FLUSHALL on every master)."""
    redis_cluster.flushall()
    return redis_cluster.url


@pytest.fixture
def redis_cluster_urls(redis_cluster: RedisCluster) -> list[str]:
    """``redis://`` URLs of the empty cluster's six nodes (FLUSHALL on every master)."""
    redis_cluster.flushall()
    return redis_cluster.node_urls
