"""Wrappers and the memory store against their baselines, interleaved in one run.

Run as ``python -m benchmarks.bench_wrappers [--rounds N]``. Each pair (baseline, candidate) is
timed in every round, in alternating order, over the same keys; a round's ratio is
``candidate time / baseline time``, and the table shows medians of rates and of ratios.

Pairs and targets:
- LoggingStore, logging disabled, vs the bare MemoryStore (target <= 1.3x) and the bare SQLiteStore
  (target <= 1.05x); beside it, without a target, a ForwardingStore that adds nothing (the floor of
  any wrapper method that calls the wrapped store's own method)
- CacheStore hit path vs the bare MemoryStore it reads (target <= 1.5x); with hits counted, shown
  without a target (counting is the ``count_hits=True`` option); entries that expire (set with a
  ttl: the cache's reader does not hold them), shown without a target
- bounded MemoryStore vs cachetools.LRUCache (target: at least as fast, <= 1.0x)
- unbounded MemoryStore[str, bytes] vs a plain dict (target <= 2.5x)
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import sys
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

from benchmarks._report import fmt, table
from nstore import MemoryStore, Store
from nstore.wrappers import CacheStore, ForwardingStore, LoggingStore

N_KEYS = 10_000
SQLITE_KEYS = 1_000
KEYS = [f"key/{i:06d}" for i in range(N_KEYS)]
VALUE = b"v" * 100

Loop = Callable[[], None]


def get_loop(store: MutableMapping[str, bytes], keys: list[str] = KEYS) -> Loop:
    def run() -> None:
        for key in keys:
            store[key]

    return run


def set_loop(store: MutableMapping[str, bytes], keys: list[str] = KEYS) -> Loop:
    def run() -> None:
        for key in keys:
            store[key] = VALUE

    return run


M = TypeVar("M", bound=MutableMapping[str, bytes])


def filled(store: M) -> M:
    for key in KEYS:
        store[key] = VALUE
    return store


@dataclass
class Pair:
    name: str
    baseline: str
    candidate: str
    target: float | None
    make: Callable[[], tuple[Loop, Loop]]
    n: int = N_KEYS


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("bench.access")
    logger.setLevel(logging.WARNING)  # DEBUG records are disabled
    logger.propagate = False
    return logger


def _pairs() -> list[Pair]:
    import cachetools

    evicting = [f"evict/{i:06d}" for i in range(N_KEYS)]  # twice the bound: every set evicts
    half = N_KEYS // 2

    def logging_get() -> tuple[Loop, Loop]:
        bare = filled(MemoryStore[str, bytes]())
        return get_loop(bare), get_loop(LoggingStore(bare, _quiet_logger()))

    def logging_set() -> tuple[Loop, Loop]:
        bare = MemoryStore[str, bytes]()
        return set_loop(bare), set_loop(LoggingStore(MemoryStore[str, bytes](), _quiet_logger()))

    def forwarding_get() -> tuple[Loop, Loop]:
        bare = filled(MemoryStore[str, bytes]())
        return get_loop(bare), get_loop(ForwardingStore(bare))

    def forwarding_set() -> tuple[Loop, Loop]:
        return set_loop(MemoryStore[str, bytes]()), set_loop(ForwardingStore(MemoryStore[str, bytes]()))

    def cache_hit(
        maxsize: int | None = None, *, write_behind: bool = False, count_hits: bool = False
    ) -> Callable[[], tuple[Loop, Loop]]:
        def make() -> tuple[Loop, Loop]:
            bare, cache = (filled(MemoryStore[str, bytes](maxsize=maxsize)) for _ in range(2))
            primary = MemoryStore[str, bytes]()
            cached = CacheStore(primary, cache, write_behind=write_behind, count_hits=count_hits)
            return get_loop(bare), get_loop(cached)

        return make

    def cache_hit_expiring() -> tuple[Loop, Loop]:
        bare = MemoryStore[str, bytes]()
        cached = CacheStore(MemoryStore[str, bytes](), MemoryStore[str, bytes]())
        for key in KEYS:
            bare.set(key, VALUE, ttl=3600)
            cached.set(key, VALUE, ttl=3600)  # the cache entries expire with the primary's
        return get_loop(bare), get_loop(cached)

    def lru_get() -> tuple[Loop, Loop]:
        peer = filled(cachetools.LRUCache[str, bytes](maxsize=N_KEYS))
        ours = filled(MemoryStore[str, bytes](maxsize=N_KEYS))
        return get_loop(peer), get_loop(ours)

    def lru_set_evicting() -> tuple[Loop, Loop]:
        peer: cachetools.LRUCache[str, bytes] = cachetools.LRUCache(maxsize=half)
        ours = MemoryStore[str, bytes](maxsize=half)
        return set_loop(peer, evicting), set_loop(ours, evicting)

    def lru_bytes_set() -> tuple[Loop, Loop]:
        peer: cachetools.LRUCache[str, bytes] = cachetools.LRUCache(maxsize=half * len(VALUE), getsizeof=len)
        ours = MemoryStore[str, bytes](maxbytes=half * len(VALUE))
        return set_loop(peer, evicting), set_loop(ours, evicting)

    few = KEYS[:SQLITE_KEYS]

    def sqlite_logging_get() -> tuple[Loop, Loop]:
        bare = _sqlite(few)
        return get_loop(bare, few), get_loop(LoggingStore(bare, _quiet_logger()), few)

    def sqlite_logging_set() -> tuple[Loop, Loop]:
        bare = _sqlite(few)
        return set_loop(bare, few), set_loop(LoggingStore(bare, _quiet_logger()), few)

    def sqlite_cache_hit() -> tuple[Loop, Loop]:
        primary = _sqlite(few)
        cached = CacheStore(primary, MemoryStore[str, bytes](maxsize=N_KEYS))
        get_loop(cached, few)()  # fills the cache
        return get_loop(primary, few), get_loop(cached, few)

    def dict_get() -> tuple[Loop, Loop]:
        plain: dict[str, bytes] = filled({})
        return get_loop(plain), get_loop(filled(MemoryStore[str, bytes]()))

    def dict_set() -> tuple[Loop, Loop]:
        plain: dict[str, bytes] = {}
        return set_loop(plain), set_loop(MemoryStore[str, bytes]())

    return [
        Pair("get, logging disabled", "MemoryStore", "LoggingStore", 1.3, logging_get),
        Pair("set, logging disabled", "MemoryStore", "LoggingStore", 1.3, logging_set),
        Pair("get, forwarded as is", "MemoryStore", "ForwardingStore", None, forwarding_get),
        Pair("set, forwarded as is", "MemoryStore", "ForwardingStore", None, forwarding_set),
        Pair("get, cache hit", "MemoryStore", "CacheStore", 1.5, cache_hit()),
        Pair("get, cache hit, write-behind", "MemoryStore", "CacheStore", 1.5, cache_hit(write_behind=True)),
        Pair("get, cache hit", "MemoryStore(maxsize)", "CacheStore", 1.5, cache_hit(N_KEYS)),
        Pair("get, cache hit, hits counted", "MemoryStore", "CacheStore", None, cache_hit(count_hits=True)),
        Pair("get, expiring entries", "MemoryStore", "CacheStore", None, cache_hit_expiring),
        Pair("get, bounded", "cachetools.LRUCache", "MemoryStore(maxsize)", 1.0, lru_get),
        Pair("set, evicting", "cachetools.LRUCache", "MemoryStore(maxsize)", 1.0, lru_set_evicting),
        Pair(
            "set, evicting by bytes", "LRUCache(getsizeof=len)", "MemoryStore(maxbytes)", 1.0, lru_bytes_set
        ),
        Pair("get, unbounded", "dict", "MemoryStore", 2.5, dict_get),
        Pair("set, unbounded", "dict", "MemoryStore", 2.5, dict_set),
        Pair("get, logging disabled", "SQLiteStore", "LoggingStore", 1.05, sqlite_logging_get, SQLITE_KEYS),
        Pair("set, logging disabled", "SQLiteStore", "LoggingStore", 1.05, sqlite_logging_set, SQLITE_KEYS),
        Pair("get, cache hit", "SQLiteStore", "CacheStore", None, sqlite_cache_hit, SQLITE_KEYS),
    ]


def _sqlite(keys: list[str]) -> Store[str, bytes]:
    import tempfile

    from nstore.stores.sqlite import SQLiteStore

    directory = tempfile.mkdtemp(prefix="bench-wrappers-")
    store = SQLiteStore(f"{directory}/bench.db", durability="off")
    store.set_many((k, VALUE) for k in keys)
    return store


def _time(loop: Loop, repeat: int) -> float:
    # CPU time of this thread: other processes on a busy machine do not count against a variant.
    start = time.thread_time()
    for _ in range(repeat):
        loop()
    return (time.thread_time() - start) / repeat


def run(rounds: int, repeat: int) -> list[dict[str, Any]]:
    pairs = _pairs()
    loops = [p.make() for p in pairs]
    for base, cand in loops:  # warm up
        base()
        cand()
    times: list[tuple[list[float], list[float]]] = [([], []) for _ in pairs]
    for r in range(rounds):
        for (base, cand), (base_times, cand_times) in zip(loops, times, strict=True):
            if r % 2:
                cand_times.append(_time(cand, repeat))
                base_times.append(_time(base, repeat))
            else:
                base_times.append(_time(base, repeat))
                cand_times.append(_time(cand, repeat))
    results = []
    for pair, (base_times, cand_times) in zip(pairs, times, strict=True):
        ratios = [c / b for b, c in zip(base_times, cand_times, strict=True)]
        ratio = statistics.median(ratios)
        results.append(
            {
                "pair": pair,
                "baseline": pair.n / statistics.median(base_times),
                "candidate": pair.n / statistics.median(cand_times),
                "ratio": ratio,
                "spread": (min(ratios), max(ratios)),
            }
        )
    return results


def report(results: list[dict[str, Any]]) -> str:
    headers = [
        *("operation", "baseline", "candidate", "baseline ops/s", "candidate ops/s"),
        *("ratio", "range", "target"),
    ]
    rows = []
    for r in results:
        pair: Pair = r["pair"]
        if pair.target is None:
            goal = "-"
        else:
            goal = f"<= {pair.target}x " + ("met" if r["ratio"] <= pair.target else "missed")
        rows.append(
            [
                pair.name,
                pair.baseline,
                pair.candidate,
                fmt(r["baseline"]),
                fmt(r["candidate"]),
                f"{r['ratio']:.2f}x",
                "{:.2f}-{:.2f}".format(*r["spread"]),
                goal,
            ]
        )
    return table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--repeat", type=int, default=5, help="loops over the keys per timing (default 5)")
    args = parser.parse_args(argv)
    version, machine = platform.python_version(), platform.machine()
    print(
        f"Python {version} on {machine}, {N_KEYS} keys ({SQLITE_KEYS} on SQLite), {len(VALUE)}-byte values,"
    )
    print(
        f"{args.rounds} interleaved rounds, CPU time of the timing thread; ratio = median over rounds of "
        "candidate time / baseline time.\n"
    )
    print(report(run(args.rounds, args.repeat)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
