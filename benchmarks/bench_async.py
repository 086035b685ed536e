"""The async API against its baselines, on a redis-server this script starts and SQLite in a temp dir.

Run with ``python -m benchmarks.bench_async [--rounds N] [--redis-only]``. Every variant runs
interleaved with its baseline in each round, in one event loop, on the same keys; the table shows
the median time per operation and the median (and range) of the per-round ratios.

Rows:
- AsyncRedisStore GET / SET vs bare ``redis.asyncio`` (target: at most 1.15x);
- 1,000 gets with ``asyncio.gather`` vs the same gets awaited one by one (target: >= 5x faster),
  vs 1,000 gathered gets of bare ``redis.asyncio`` (each on a pooled connection of its own), and
  vs one bare ``redis.asyncio`` pipeline of the 1,000 GETs built by hand (the floor: the store
  sends gathered gets together, so it comes near it);
- AsyncAdapter(SQLiteStore) get vs aiosqlite's own SELECT on the same table (target: >= 2x faster);
- AsyncAdapter get_many of 100 vs one get through the adapter: one thread hop either way;
- AsyncAdapter(MemoryStore) get vs AsyncMemoryStore get: the cost of the thread hop itself;
- a typed ``Msgspec(User) | Zstd()`` view over AsyncRedisStore vs the same codec calls by hand
  around the bytes store (target: within 1.10x).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
import msgspec
import redis.asyncio
from tests.redis_servers import RedisServer, missing_binaries, temporary_directory

from nstore import AsyncAdapter, AsyncMemoryStore, MemoryStore, SQLiteStore
from nstore.codecs import Msgspec, Zstd
from nstore.stores.aredis import AsyncRedisStore

VALUE = bytes(range(256))
KEYS = [f"bench/{i:04d}" for i in range(1000)]


class User(msgspec.Struct):
    id: int
    name: str
    email: str
    tags: list[str]


USER = User(1, "user 1", "user1@example.com", ["reader", "writer"])


@dataclass
class Row:
    name: str
    baseline: str
    ops: int  # operations per timed call, to report time per operation
    run: Callable[[], Awaitable[object]]
    base: Callable[[], Awaitable[object]]
    target: str = ""
    repeat: int = 200
    times: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))


async def _time(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        await fn()
    return (time.perf_counter() - start) / repeat


async def _redis_rows(url: str, opened: list[Callable[[], Awaitable[object]]]) -> list[Row]:
    store = AsyncRedisStore(url)
    bare = redis.asyncio.Redis.from_url(url, protocol=2)
    opened += [store.aclose, bare.aclose]
    await store.set_many(dict.fromkeys(KEYS, VALUE))
    key = KEYS[0]

    async def gathered() -> None:
        await asyncio.gather(*(store.get(k) for k in KEYS))

    # redis.asyncio's default pool refuses calls beyond 100 connections: the bare baseline waits
    # for one of 50, as AsyncRedisStore (max_connections=50) does.
    pool = redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=50, protocol=2)
    bounded = redis.asyncio.Redis.from_pool(pool)
    opened.append(bounded.aclose)

    async def bare_gathered() -> None:
        await asyncio.gather(*(bounded.get(k) for k in KEYS))

    async def bare_pipeline() -> None:
        pipe = bare.pipeline(transaction=False)
        for k in KEYS:
            pipe.get(k)
        await pipe.execute()

    async def one_by_one() -> None:
        for k in KEYS:
            await store.get(k)

    chain = Msgspec(User) | Zstd()
    users = store.with_values(chain)
    await users.set("typed", USER)

    async def by_hand_get() -> User:
        return chain.decode(await store.get("typed"))

    async def by_hand_set() -> None:
        await store.set("typed", chain.encode(USER))

    return [
        Row(
            "redis: GET one key",
            "redis.asyncio get",
            1,
            lambda: store.get(key),
            lambda: bare.get(key),
            "<= 1.15x",
        ),
        Row(
            "redis: SET one key",
            "redis.asyncio set",
            1,
            lambda: store.set(key, VALUE),
            lambda: bare.set(key, VALUE),
            "<= 1.15x",
        ),
        Row(
            "redis: 1,000 gets, gather",
            "1,000 awaited in turn",
            1000,
            gathered,
            one_by_one,
            ">= 5x faster",
            3,
        ),
        Row(
            "redis: 1,000 gets, gather",
            "bare redis.asyncio gather",
            1000,
            gathered,
            bare_gathered,
            "(store's cost)",
            repeat=3,
        ),
        Row(
            "redis: 1,000 gets, gather",
            "bare pipeline of 1,000",
            1000,
            gathered,
            bare_pipeline,
            "(the floor)",
            repeat=3,
        ),
        Row(
            "typed Msgspec|Zstd: GET",
            "codec by hand + GET",
            1,
            lambda: users.get("typed"),
            by_hand_get,
            "<= 1.10x",
        ),
        Row(
            "typed Msgspec|Zstd: SET",
            "codec by hand + SET",
            1,
            lambda: users.set("typed", USER),
            by_hand_set,
            "<= 1.10x",
        ),
    ]


async def _sqlite_rows(directory: Path, opened: list[Callable[[], Awaitable[object]]]) -> list[Row]:
    path = directory / "bench.db"
    adapted = AsyncAdapter(SQLiteStore(path))
    await adapted.set_many(dict.fromkeys(KEYS[:100], VALUE))
    db = await aiosqlite.connect(path)
    key = KEYS[0]

    async def aiosqlite_get() -> bytes:
        async with db.execute("SELECT value FROM nstore WHERE key = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return bytes(row[0])

    memory_adapted = AsyncAdapter(MemoryStore[str, bytes]({key: VALUE}))
    memory = AsyncMemoryStore[str, bytes]({key: VALUE})
    opened += [adapted.aclose, db.close, memory_adapted.aclose, memory.aclose]
    return [
        Row(
            "sqlite adapter: get",
            "aiosqlite SELECT",
            1,
            lambda: adapted.get(key),
            aiosqlite_get,
            ">= 2x faster",
        ),
        Row(
            "sqlite adapter: get_many 100",
            "one adapter get",
            1,
            lambda: adapted.get_many(KEYS[:100]),
            lambda: adapted.get(key),
            "~1x (one hop)",
        ),
        Row(
            "adapter(MemoryStore): get",
            "AsyncMemoryStore get",
            1,
            lambda: memory_adapted.get(key),
            lambda: memory.get(key),
            "(hop cost)",
        ),
    ]


async def _measure(rows: list[Row], rounds: int) -> None:
    for _ in range(rounds):
        for row in rows:
            # Interleaved: the variant and its baseline alternate, so drift hits both alike.
            row.times[0].append(await _time(row.run, row.repeat) / row.ops)
            row.times[1].append(await _time(row.base, row.repeat) / row.ops)


def _print(rows: list[Row]) -> None:
    print(f"{'operation':30} {'µs/op':>8} {'baseline':22} {'µs/op':>8} {'ratio':>7} {'range':>13}  target")
    for row in rows:
        mine, base = statistics.median(row.times[0]) * 1e6, statistics.median(row.times[1]) * 1e6
        ratios = [a / b for a, b in zip(*row.times, strict=True)]
        if "faster" in row.target:
            ratios = [1 / r for r in ratios]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(
            f"{row.name:30} {mine:8.2f} {row.baseline:22} {base:8.2f} "
            f"{statistics.median(ratios):6.2f}x {spread:>13}  {row.target}"
        )


async def _main(rounds: int, url: str, directory: Path, redis_only: bool) -> None:
    opened: list[Callable[[], Awaitable[object]]] = []
    rows = [*await _redis_rows(url, opened)]
    if not redis_only:
        rows += await _sqlite_rows(directory, opened)
    await _measure(rows, 1)  # warm-up: connections, caches
    for row in rows:
        row.times[0].clear()
        row.times[1].clear()
    await _measure(rows, rounds)
    print(
        f"Python {platform.python_version()}, {rounds} interleaved rounds; ratio = median of per-round ratios"
    )
    _print(rows)
    for close in opened:
        await close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--redis-only", action="store_true", help="only the AsyncRedisStore rows")
    args = parser.parse_args(argv)
    problem = missing_binaries()
    if problem:
        raise SystemExit(problem)
    with temporary_directory() as directory, tempfile.TemporaryDirectory() as sqlite_dir:
        server = RedisServer(directory)
        try:
            asyncio.run(_main(args.rounds, server.url, Path(sqlite_dir), args.redis_only))
        finally:
            server.kill()


if __name__ == "__main__":
    main()
