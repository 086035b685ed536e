"""RedisStore against bare redis-py, on a redis-server and a Redis Cluster this script starts itself.

Run with ``python -m benchmarks.bench_redis [--rounds N]``. Every variant runs interleaved with its
baseline in each round, on the same server and the same keys; the table shows the median time per
operation over the rounds and the median of the per-round ratios to the baseline.

Rows:
- single GET / SET: ``store[k]`` vs ``redis.Redis.get`` (target: at most 1.15x the bare client);
- expiry: ``set(ttl=)``, ``ttl(k)``, ``touch(k, ttl=)`` vs ``set(px=)``, ``pttl``, ``pexpire``;
- 100 keys: ``get_many``/``set_many`` vs 100 single ``store[k]`` calls (target: at least 10x faster);
- the same on the cluster (bare ``RedisCluster`` for the single-key baseline);
- a typed pipeline ``Msgspec(User) | Zstd()`` over RedisStore vs the plain bytes store.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import redis
from tests.redis_servers import RedisCluster, RedisServer, missing_binaries, raw_cluster, temporary_directory

from nstore import Store
from nstore.codecs import Msgspec, Zstd
from nstore.stores.redis import RedisStore

VALUE = bytes(range(256))  # 256 bytes
KEYS = [f"bench/{i:03d}" for i in range(100)]


class User(msgspec.Struct):
    id: int
    name: str
    email: str
    tags: list[str]


USERS = {
    key: User(i, f"user {i}", f"user{i}@example.com", ["reader", "writer", "admin"][: i % 3 + 1])
    for i, key in enumerate(KEYS)
}


@dataclass
class Row:
    name: str
    baseline: str
    ops: int  # operations per timed call, to report time per operation
    run: Callable[[], object]
    base: Callable[[], object]
    target: str = ""
    times: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))


def _time(fn: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def _rows(label: str, store: RedisStore, bare: Any) -> list[Row]:
    key = KEYS[0]
    store.set_many(dict.fromkeys(KEYS, VALUE))
    pairs = dict.fromkeys(KEYS, VALUE)

    def singles_get() -> None:
        for k in KEYS:
            store[k]

    def singles_set() -> None:
        for k in KEYS:
            store[k] = VALUE

    return [
        Row(
            f"{label}: GET one key", "redis-py get", 1, lambda: store[key], lambda: bare.get(key), "<= 1.15x"
        ),
        Row(
            f"{label}: SET one key",
            "redis-py set",
            1,
            lambda: store.__setitem__(key, VALUE),
            lambda: bare.set(key, VALUE),
            "<= 1.15x",
        ),
        Row(
            f"{label}: SET, ttl=60",
            "redis-py set(px=)",
            1,
            lambda: store.set(key, VALUE, ttl=60),
            lambda: bare.set(key, VALUE, px=60_000),
            "<= 1.15x",
        ),
        Row(
            f"{label}: ttl(k)", "redis-py pttl", 1, lambda: store.ttl(key), lambda: bare.pttl(key), "<= 1.15x"
        ),
        Row(
            f"{label}: touch(k, ttl=60)",
            "redis-py pexpire",
            1,
            lambda: store.touch(key, ttl=60),
            lambda: bare.pexpire(key, 60_000),
            "<= 1.15x",
        ),
        Row(
            f"{label}: get_many 100",
            "100 x store[k]",
            100,
            lambda: store.get_many(KEYS),
            singles_get,
            ">= 10x faster",
        ),
        Row(
            f"{label}: set_many 100",
            "100 x store[k] = v",
            100,
            lambda: store.set_many(pairs),
            singles_set,
            ">= 10x faster",
        ),
    ]


def _tagged_rows(store: RedisStore) -> list[Row]:
    """get_many/set_many of 100 keys that share a hash tag: one slot, so one MGET/MSET."""
    tagged = RedisStore(store.client, prefix="{tag}/")
    pairs = dict.fromkeys(KEYS, VALUE)
    tagged.set_many(pairs)

    def singles_get() -> None:
        for k in KEYS:
            tagged[k]

    def singles_set() -> None:
        for k in KEYS:
            tagged[k] = VALUE

    bare: Any = store.client
    return [
        Row(
            "cluster: get_many 100",
            "redis-py mget_nonatomic",
            100,
            lambda: store.get_many(KEYS),
            lambda: bare.mget_nonatomic(KEYS),
            "(reference)",
        ),
        Row(
            "cluster: get_many 100, one {tag}",
            "100 x store[k]",
            100,
            lambda: tagged.get_many(KEYS),
            singles_get,
            ">= 10x faster",
        ),
        Row(
            "cluster: set_many 100, one {tag}",
            "100 x store[k] = v",
            100,
            lambda: tagged.set_many(pairs),
            singles_set,
            ">= 10x faster",
        ),
    ]


def _typed_rows(store: RedisStore) -> list[Row]:
    typed = RedisStore(store.client, prefix="typed/")
    users: Store[str, User] = typed.with_values(Msgspec(User) | Zstd())
    users.set_many(USERS)
    raw = {k: msgspec.msgpack.encode(u) for k, u in USERS.items()}
    store_raw = RedisStore(store.client, prefix="raw/")
    store_raw.set_many(raw)
    key = KEYS[1]
    return [
        Row("typed Msgspec|Zstd: GET one", "bytes store GET", 1, lambda: users[key], lambda: store_raw[key]),
        Row(
            "typed Msgspec|Zstd: SET one",
            "bytes store SET",
            1,
            lambda: users.__setitem__(key, USERS[key]),
            lambda: store_raw.__setitem__(key, raw[key]),
        ),
        Row(
            "typed Msgspec|Zstd: get_many 100",
            "bytes get_many 100",
            100,
            lambda: users.get_many(KEYS),
            lambda: store_raw.get_many(KEYS),
        ),
    ]


def _measure(rows: list[Row], rounds: int) -> None:
    for _ in range(rounds):
        for row in rows:
            repeat = max(1, 100 // row.ops)
            # Interleaved: the variant and its baseline alternate, so drift hits both alike.
            row.times[0].append(_time(row.run, repeat) / row.ops)
            row.times[1].append(_time(row.base, repeat) / row.ops)


def _print(rows: list[Row]) -> None:
    print(f"{'operation':36} {'nstore µs/op':>13} {'baseline':20} {'base µs/op':>11} {'ratio':>7}  target")
    for row in rows:
        mine, base = statistics.median(row.times[0]) * 1e6, statistics.median(row.times[1]) * 1e6
        # The median of each round's ratio: a burst of load on the machine hits both sides of a round.
        ratios = [a / b for a, b in zip(*row.times, strict=True)]
        if "faster" in row.target:
            ratio = f"{statistics.median(1 / r for r in ratios):.1f}x"
        else:
            ratio = f"{statistics.median(ratios):.2f}x"
        print(f"{row.name:36} {mine:13.1f} {row.baseline:20} {base:11.1f} {ratio:>7}  {row.target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    problem = missing_binaries()
    if problem:
        raise SystemExit(problem)
    print(
        f"Python {platform.python_version()}, redis-py {redis.__version__}, {platform.machine()}, "
        f"rounds={args.rounds}; 'ratio' is nstore/baseline time (baseline/nstore for 'faster' rows)"
    )
    with temporary_directory() as directory:
        server = RedisServer(directory)
        cluster = RedisCluster(directory / "cluster")
        try:
            bare = redis.Redis(host="127.0.0.1", port=server.port)
            bare_cluster = raw_cluster(cluster)
            store = RedisStore(server.url)
            cluster_store = RedisStore(cluster.url)
            rows = _rows("standalone", store, bare) + _rows("cluster", cluster_store, bare_cluster)
            rows += _tagged_rows(cluster_store) + _typed_rows(store)
            _measure(rows, args.rounds)
            _print(rows)
        finally:
            server.kill()
            cluster.kill()


if __name__ == "__main__":
    main()
