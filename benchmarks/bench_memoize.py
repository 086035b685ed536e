"""memoize hits against a bare read of the same store plus building the key, interleaved in one run.

Run as ``python -m benchmarks.bench_memoize [--rounds N]``. Each pair (baseline, candidate) is
timed in every round, in alternating order, over the same 1,000 calls (all hits); a round's ratio is
``candidate time / baseline time``, and the table shows the median rates, the median ratio and
its spread (lowest and highest round). Every pair is timed in CPU time of the timing thread, so
other load on the machine counts against neither side (for Redis: what the client spends on a
round trip, not its wait for the server).

Pairs and targets:
- a memoize hit vs ``store[build_key(x)]`` with memoize's own key builder, on MemoryStore,
  SQLiteStore, RedisStore and an AsyncMemoryStore (target <= 1.5x)
- with a ``key=`` of one f-string over MemoryStore, shown without a target: the key costs about
  as much as the read, so the ratio shows the decorator's own call; beside it the floor of any
  decorator, a bare closure that builds the key and reads (no counts, no miss path)
- for context, without a target: ``functools.lru_cache`` vs memoize over MemoryStore, and
  diskcache's ``Cache.memoize`` vs memoize over SQLiteStore (both on disk, WAL)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks._report import fmt, table
from benchmarks.bench_wrappers import Loop, Pair
from nstore import AsyncMemoryStore, MemoryStore, SQLiteStore, Store, memoize
from nstore._memoize._keys import default_key

CALLS = 1000
ARGS = [(f"user-{i}", i) for i in range(CALLS)]
VALUE = b"r" * 100


def compute(name: str, n: int) -> bytes:
    return VALUE


def calls_loop(fn: Callable[[str, int], object]) -> Loop:
    def run() -> None:
        for name, n in ARGS:
            fn(name, n)

    return run


def bare_loop(store: Store[str, bytes], build: Callable[[str, int], str]) -> Loop:
    def run() -> None:
        for name, n in ARGS:
            store[build(name, n)]

    return run


def floor(store: Store[str, bytes], build: Callable[..., str]) -> Callable[..., bytes]:
    """The least a decorator can do on a hit: a closure that builds the key from the arguments
    it was called with and reads the store's reader (no counts, no miss path)."""
    read = store.reader().__getitem__

    def hit(*args: Any, **kwargs: Any) -> bytes:
        return read(build(*args, **kwargs))

    return hit


def bare_default_loop(store: Store[str, bytes], name: str) -> Loop:
    """A read of the key that memoize's default builder makes, called with the arguments packed."""
    build = default_key(name)

    def run() -> None:
        for arg, n in ARGS:
            store[build((arg, n), {})]

    return run


def filled(fn: Callable[[str, int], object]) -> None:
    calls_loop(fn)()


def loops(base: Loop, candidate: Loop) -> Callable[[], tuple[Loop, Loop]]:
    return lambda: (base, candidate)


def _hit_pair(label: str, store: Store[str, bytes]) -> Pair:
    memoized = memoize(store, name="bench.compute")(compute)
    filled(memoized)
    return Pair(
        "hit, default key",
        f"{label} get + key",
        f"memoize({label})",
        1.5,
        loops(bare_default_loop(store, "bench.compute"), calls_loop(memoized)),
        CALLS,
    )


def _pairs(stack: ExitStack, directory: Path, redis_url: str | None) -> list[Pair]:
    memory = MemoryStore[str, bytes]()
    sqlite = stack.enter_context(SQLiteStore(directory / "memoize.db"))
    pairs = [_hit_pair("MemoryStore", memory), _hit_pair("SQLiteStore", sqlite)]

    def cheap_key(name: str, n: int) -> str:
        return f"k/{name}/{n}"

    keyed = memoize(memory, key=cheap_key)(compute)
    filled(keyed)
    pairs.append(
        Pair(
            "hit, key= an f-string",
            "MemoryStore get + key",
            "memoize(MemoryStore)",
            None,
            loops(bare_loop(memory, cheap_key), calls_loop(keyed)),
            CALLS,
        )
    )
    pairs.append(
        Pair(
            "hit, key= an f-string",
            "MemoryStore get + key",
            "floor: a closure",
            None,
            loops(bare_loop(memory, cheap_key), calls_loop(floor(memory, cheap_key))),
            CALLS,
        )
    )
    pairs.append(_async_pair())
    lru = functools.lru_cache(maxsize=None)(compute)
    filled(lru)
    pairs.append(
        Pair(
            "hit, context",
            "functools.lru_cache",
            "memoize(MemoryStore)",
            None,
            loops(calls_loop(lru), pairs[0].make()[1]),
            CALLS,
        )
    )
    import diskcache  # type: ignore[import-untyped]  # the package ships no types

    cache = stack.enter_context(diskcache.Cache(str(directory / "diskcache")))
    peer = cache.memoize(name="bench.compute")(compute)
    filled(peer)
    pairs.append(
        Pair(
            "hit, context",
            "diskcache memoize",
            "memoize(SQLiteStore)",
            None,
            loops(calls_loop(peer), pairs[1].make()[1]),
            CALLS,
        )
    )
    if redis_url is not None:
        from nstore import RedisStore

        redis_store = stack.enter_context(RedisStore(redis_url))
        pairs.append(_hit_pair("RedisStore", redis_store))
    return pairs


def _async_pair() -> Pair:
    store = AsyncMemoryStore[str, bytes]()
    build = default_key("bench.acompute")

    async def acompute(name: str, n: int) -> bytes:
        return VALUE

    memoized = memoize(store, name="bench.acompute")(acompute)

    async def bare() -> None:
        for name, n in ARGS:
            await store.get(build((name, n), {}))

    async def hits() -> None:
        for name, n in ARGS:
            await memoized(name, n)

    asyncio.run(hits())  # fills
    return Pair(
        "hit, default key",
        "AsyncMemoryStore get + key",
        "memoize(AsyncMemoryStore)",
        1.5,
        loops(lambda: asyncio.run(bare()), lambda: asyncio.run(hits())),
        CALLS,
    )


def _time(loop: Loop, repeat: int) -> float:
    # CPU time of this thread: other processes on a busy machine do not count against a variant,
    # and a Redis round trip counts by what the client spends on it
    start = time.thread_time()
    for _ in range(repeat):
        loop()
    return (time.thread_time() - start) / repeat


def run(pairs: list[Pair], rounds: int, repeat: int) -> list[dict[str, Any]]:
    made = [pair.make() for pair in pairs]
    for base, cand in made:  # warm up
        base()
        cand()
    times: list[tuple[list[float], list[float]]] = [([], []) for _ in pairs]
    for r in range(rounds):
        for (base, cand), (base_times, cand_times) in zip(made, times, strict=True):
            order = (
                [(cand, cand_times), (base, base_times)]
                if r % 2
                else [(base, base_times), (cand, cand_times)]
            )
            for loop, into in order:
                into.append(_time(loop, repeat))
    results = []
    for pair, (base_times, cand_times) in zip(pairs, times, strict=True):
        ratios = [c / b for b, c in zip(base_times, cand_times, strict=True)]
        results.append(
            {
                "pair": pair,
                "baseline": CALLS / statistics.median(base_times),
                "candidate": CALLS / statistics.median(cand_times),
                "ratio": statistics.median(ratios),
                "spread": (min(ratios), max(ratios)),
            }
        )
    return results


def report(results: list[dict[str, Any]]) -> str:
    headers = [
        "operation",
        "baseline",
        "candidate",
        "baseline ops/s",
        "candidate ops/s",
        "ratio",
        "spread",
        "target",
    ]
    rows = []
    for r in results:
        pair: Pair = r["pair"]
        goal = (
            "-"
            if pair.target is None
            else f"<= {pair.target}x " + ("met" if r["ratio"] <= pair.target else "missed")
        )
        low, high = r["spread"]
        cells = [pair.name, pair.baseline, pair.candidate, fmt(r["baseline"]), fmt(r["candidate"])]
        rows.append([*cells, f"{r['ratio']:.2f}x", f"{low:.2f}-{high:.2f}x", goal])
    return table(headers, rows)


def _redis(stack: ExitStack, wanted: bool) -> str | None:
    if not wanted:
        return None
    from tests.redis_servers import RedisServer, missing_binaries, temporary_directory

    problem = missing_binaries()
    if problem is not None:
        print(f"(no Redis row: {problem})")
        return None
    directory = stack.enter_context(temporary_directory())
    server = RedisServer(directory)
    stack.callback(server.kill)
    return server.url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--repeat", type=int, default=5, help="loops over the calls per timing (default 5)")
    parser.add_argument("--no-redis", action="store_true", help="leave out the RedisStore row")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}, {CALLS} distinct calls, all hits,")
    print(
        f"{args.rounds} interleaved rounds; ratio = median over rounds of candidate time / baseline time, "
        "spread = lowest-highest round.\n"
    )
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-memoize-")))
        pairs = _pairs(stack, directory, _redis(stack, not args.no_redis))
        print(report(run(pairs, args.rounds, args.repeat)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
