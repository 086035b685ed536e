"""SQLiteStore with expiry and with a size bound against diskcache, in the same run.

Run with ``python -m benchmarks.bench_sqlite_cache [--rounds N] [--ops N] [--size BYTES]``.
Every case runs its variants alternately, in a new random order each round, ``--ops`` calls per
round, each variant on its own database file in one temporary directory; the table shows the
median time per call, the ratio diskcache / SQLiteStore of the same round (above 1: SQLiteStore
is faster) and the spread of those per-round ratios. Both use WAL with synchronous=NORMAL
(diskcache's default, SQLiteStore's ``durability="normal"``).

- ``set, ttl``: ``store.set(k, v, ttl=600)`` vs ``cache.set(k, v, expire=600)``, overwriting keys
  of a store of ``--keys`` keys (target: diskcache at least 2x slower);
- ``set, bounded``: new keys into a store full to its bound, so every write makes room:
  ``SQLiteStore(max_bytes=B, eviction=...)`` vs ``Cache(size_limit=B)`` with its default culling
  (least recently stored, up to 10 keys per write; target: at least 2x) and, for the LRU case,
  ``eviction_policy="least-recently-used"``;
- ``get, bounded lru``: hits of the same bounded stores (diskcache's LRU writes the access time on
  every read; SQLiteStore records reads in memory and writes them in batches);
- ``set`` and ``get`` without ttl or bound, for reference, and ``set, inline checkpoints``: the
  plain set of a store opened with ``checkpoints="inline"`` (SQLite checkpoints in the write that
  fills the WAL, as diskcache's connection does), to show what the checkpoint thread buys.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchmarks._report import table
from nstore.stores.sqlite import Eviction, SQLiteStore

Call = Callable[[str], object]
TARGETS = {"set, ttl": 2.0, "set, bounded fifo": 2.0, "set, bounded lru": 2.0}


def _diskcache(path: str, **settings: Any) -> Any:
    import diskcache  # type: ignore[import-untyped]  # the bench extra; the package ships no types

    return diskcache.Cache(path, **settings)


def _setter(write: Callable[[str, bytes], object], value: bytes) -> Call:
    return lambda key: write(key, value)


def _round(call: Call, keys: list[str]) -> float:
    start = time.perf_counter()
    for key in keys:
        call(key)
    return (time.perf_counter() - start) / len(keys)


class Case:
    """One comparison: SQLiteStore's call and diskcache's, and where their keys come from."""

    def __init__(self, name: str, ours: Call, theirs: Call, keys: Callable[[int], list[str]]) -> None:
        self.name, self.ours, self.theirs, self.keys = name, ours, theirs, keys
        self.times: dict[str, list[float]] = {"ours": [], "theirs": []}

    def run(self, ops: int, rng: random.Random) -> None:
        keys = self.keys(ops)
        order = [("ours", self.ours), ("theirs", self.theirs)]
        rng.shuffle(order)
        for side, call in order:
            self.times[side].append(_round(call, keys))

    def row(self) -> list[str]:
        ours, theirs = self.times["ours"], self.times["theirs"]
        ratios = [b / a for a, b in zip(ours, theirs, strict=True)]
        target = TARGETS.get(self.name)
        return [
            self.name,
            f"{statistics.median(ours) * 1e6:.1f}",
            f"{statistics.median(theirs) * 1e6:.1f}",
            f"{statistics.median(ratios):.2f}x",
            f"{min(ratios):.2f}-{max(ratios):.2f}",
            "-" if target is None else f">= {target:g}x",
        ]


def _cases(tmp: str, args: argparse.Namespace, rng: random.Random) -> list[Case]:
    value = os.urandom(args.size)
    existing = [f"k{i:07d}" for i in range(args.keys)]
    fresh = iter(range(10**9))

    def old(n: int) -> list[str]:
        return [rng.choice(existing) for _ in range(n)]

    def new(n: int) -> list[str]:
        return [f"n{next(fresh):09d}" for _ in range(n)]

    plain = SQLiteStore(os.path.join(tmp, "plain.db"))
    plain.set_many(dict.fromkeys(existing, value))
    inline = SQLiteStore(os.path.join(tmp, "inline.db"), checkpoints="inline")
    inline.set_many(dict.fromkeys(existing, value))
    cache = _diskcache(os.path.join(tmp, "dc-plain"), size_limit=2**40)
    for key in existing:
        cache.set(key, value)
    cases = [
        Case("set", lambda k: plain.set(k, value), lambda k: cache.set(k, value), old),
        Case(
            "set, ttl", lambda k: plain.set(k, value, ttl=600), lambda k: cache.set(k, value, expire=600), old
        ),
        Case("set, inline checkpoints", lambda k: inline.set(k, value), lambda k: cache.set(k, value), old),
        Case("get", plain.__getitem__, cache.__getitem__, old),
    ]
    bound = args.bound
    policies: list[tuple[Eviction, str]] = [("fifo", "least-recently-stored"), ("lru", "least-recently-used")]
    for policy, theirs_policy in policies:
        ours = SQLiteStore(os.path.join(tmp, f"{policy}.db"), max_bytes=bound, eviction=policy)
        theirs = _diskcache(
            os.path.join(tmp, f"dc-{policy}"), size_limit=bound, eviction_policy=theirs_policy
        )
        for key in new(2 * bound // args.size):  # full, and evicting
            ours[key] = value
            theirs.set(key, value)
        cases.append(
            Case(
                f"set, bounded {policy}",
                _setter(ours.__setitem__, value),
                _setter(theirs.set, value),
                new,
            )
        )
    # Reads of bounded LRU stores that the writes above do not touch, filled to half their bound.
    ours = SQLiteStore(os.path.join(tmp, "lru-reads.db"), max_bytes=bound, eviction="lru")
    theirs = _diskcache(
        os.path.join(tmp, "dc-lru-reads"), size_limit=bound, eviction_policy="least-recently-used"
    )
    held = new(bound // 2 // args.size)
    for key in held:
        ours[key] = value
        theirs.set(key, value)
    cases.append(
        Case(
            "get, bounded lru",
            ours.__getitem__,
            theirs.__getitem__,
            lambda n: [rng.choice(held) for _ in range(n)],
        )
    )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024, help="value size in bytes")
    parser.add_argument("--keys", type=int, default=10_000, help="keys of the unbounded stores")
    parser.add_argument("--bound", type=int, default=4 * 1024 * 1024, help="max_bytes / size_limit")
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(tmp, args, rng)
        for _ in range(args.rounds):
            for case in rng.sample(cases, len(cases)):
                case.run(args.ops, rng)
        rows = [case.row() for case in cases]
    load = os.getloadavg()[0]
    headers = ["operation", "SQLiteStore µs", "diskcache µs", "diskcache / SQLiteStore", "spread", "target"]
    print(f"{args.size} B values, {args.rounds} rounds of {args.ops} calls, load {load:.1f}")
    print(table(headers, rows))


if __name__ == "__main__":
    main()
