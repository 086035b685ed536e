"""MemoryStore's per-key expiry against cachetools.TTLCache, and its plain reads against a dict
and against the MemoryStore of another revision, interleaved in one run.

Run as ``python -m benchmarks.bench_memory_ttl [--rounds N] [--baseline-rev REV]``. Every pair
(baseline, candidate) is timed in every round, in alternating order, over the same keys, in CPU
time of the timing thread; a round's ratio is ``candidate time / baseline time``, and the table
shows the medians of the rates and of the ratios, with the spread (lowest and highest round).

Pairs and targets:
- get and set of keys with a ttl: MemoryStore (plain, and bounded by ``maxsize``) with
  ``set(key, value, ttl=)`` against ``cachetools.TTLCache`` with the same ttl (target <= 1.2x):
  sets that rewrite the keys, and sets of new keys into a full bounded store (each evicts one);
- get of keys without expiry from a plain MemoryStore against a dict (shown, no target), and against
  the plain MemoryStore of ``--baseline-rev`` (by default the last revision before per-key
  expiry, loaded from ``git show``; target <= 1.05x, i.e. not slower within the noise), and sets
  against it (shown, no target).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._report import fmt, table
from benchmarks.bench_wrappers import KEYS, N_KEYS, VALUE, Loop, Pair, filled, get_loop, set_loop
from nstore import MemoryStore

TTL = 600.0
#: The last revision before MemoryStore had per-key expiry.
BEFORE_TTL = "597de1b"


def ttl_set_loop(store: MemoryStore[str, bytes], keys: list[str] = KEYS) -> Loop:
    put = store.set

    def run() -> None:
        for key in keys:
            put(key, VALUE, ttl=TTL)

    return run


def with_ttl(store: MemoryStore[str, bytes]) -> MemoryStore[str, bytes]:
    for key in KEYS:
        store.set(key, VALUE, ttl=TTL)
    return store


def baseline_memory_store(rev: str) -> type[Any] | None:
    """The ``MemoryStore`` class of ``rev``'s ``stores/memory.py``, loaded beside this tree's
    modules (it imports only what both revisions have); None if git cannot show it."""
    root = Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(
            ["git", "show", f"{rev}:src/nstore/stores/memory.py"],
            cwd=root,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp(prefix="bench-memory-ttl-")) / "baseline_memory.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_memory", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: type[Any] = module.MemoryStore
    return found


def pairs(baseline_rev: str) -> list[Pair]:
    import cachetools

    def ttlcache() -> cachetools.TTLCache[str, bytes]:
        return cachetools.TTLCache(maxsize=2 * N_KEYS, ttl=TTL)

    def ttl_get(bounds: dict[str, Any]) -> Callable[[], tuple[Loop, Loop]]:
        def make() -> tuple[Loop, Loop]:
            ours = with_ttl(MemoryStore[str, bytes](**bounds))
            return get_loop(filled(ttlcache())), get_loop(ours)

        return make

    def ttl_set(bounds: dict[str, Any]) -> Callable[[], tuple[Loop, Loop]]:
        def make() -> tuple[Loop, Loop]:
            return set_loop(ttlcache()), ttl_set_loop(MemoryStore[str, bytes](**bounds))

        return make

    def ttl_set_evicting() -> tuple[Loop, Loop]:
        # twice as many keys as the bound: every set is of a new key and evicts one
        peer: cachetools.TTLCache[str, bytes] = cachetools.TTLCache(maxsize=N_KEYS // 2, ttl=TTL)
        return set_loop(peer), ttl_set_loop(MemoryStore[str, bytes](maxsize=N_KEYS // 2))

    def dict_get() -> tuple[Loop, Loop]:
        plain: dict[str, bytes] = {}
        return get_loop(filled(plain)), get_loop(filled(MemoryStore[str, bytes]()))

    def dict_get_beside_ttl() -> tuple[Loop, Loop]:
        plain: dict[str, bytes] = {}
        ours = filled(MemoryStore[str, bytes]())
        ours.set("expiring", VALUE, ttl=TTL)  # some other key has an expiry
        return get_loop(filled(plain)), get_loop(ours)

    found = [
        Pair("get, key with a ttl", "cachetools.TTLCache", "MemoryStore", 1.2, ttl_get({})),
        Pair(
            "get, key with a ttl",
            "cachetools.TTLCache",
            "MemoryStore(maxsize)",
            1.2,
            ttl_get({"maxsize": 2 * N_KEYS}),
        ),
        Pair("set with a ttl", "cachetools.TTLCache", "MemoryStore", 1.2, ttl_set({})),
        Pair(
            "set with a ttl",
            "cachetools.TTLCache",
            "MemoryStore(maxsize)",
            1.2,
            ttl_set({"maxsize": 2 * N_KEYS}),
        ),
        Pair(
            "set with a ttl, evicting", "cachetools.TTLCache", "MemoryStore(maxsize)", 1.2, ttl_set_evicting
        ),
        Pair("get, no expiry", "dict", "MemoryStore", None, dict_get),
        Pair("get, no expiry, another key expiring", "dict", "MemoryStore", None, dict_get_beside_ttl),
    ]
    old = baseline_memory_store(baseline_rev)
    if old is not None:

        def against_old() -> tuple[Loop, Loop]:
            return get_loop(filled(old())), get_loop(filled(MemoryStore[str, bytes]()))

        def old_beside_ttl() -> tuple[Loop, Loop]:
            ours = filled(MemoryStore[str, bytes]())
            ours.set("expiring", VALUE, ttl=TTL)
            return get_loop(filled(old())), get_loop(ours)

        def set_beside_ttl() -> tuple[Loop, Loop]:
            ours = MemoryStore[str, bytes]()
            ours.set("expiring", VALUE, ttl=TTL)
            return set_loop(old()), set_loop(ours)

        def set_against_old() -> tuple[Loop, Loop]:
            return set_loop(old()), set_loop(MemoryStore[str, bytes]())

        old_name = f"MemoryStore of {baseline_rev}"
        found += [
            Pair("get, no expiry", old_name, "MemoryStore", 1.05, against_old),
            Pair("get, no expiry, another key expiring", old_name, "MemoryStore", 1.05, old_beside_ttl),
            Pair("set, no expiry", old_name, "MemoryStore", None, set_against_old),
            Pair("set, no expiry, another key expiring", old_name, "MemoryStore", None, set_beside_ttl),
        ]
    return found


def _cpu(loop: Loop, repeat: int) -> float:
    """Seconds of CPU time of this thread per run of ``loop`` (other processes do not count)."""
    start = time.thread_time()
    for _ in range(repeat):
        loop()
    return (time.thread_time() - start) / repeat


@dataclass
class Result:
    pair: Pair
    base: list[float]  # seconds per run, one per round
    cand: list[float]

    def ratios(self) -> list[float]:
        return [c / b for b, c in zip(self.base, self.cand, strict=True)]

    def cells(self) -> list[str]:
        ratios, target = self.ratios(), self.pair.target
        ratio = statistics.median(ratios)
        goal = "-" if target is None else f"<= {target}x {'met' if ratio <= target else 'missed'}"
        return [
            self.pair.name,
            self.pair.baseline,
            self.pair.candidate,
            fmt(self.pair.n / statistics.median(self.base)),
            fmt(self.pair.n / statistics.median(self.cand)),
            f"{ratio:.2f}x",
            f"{min(ratios):.2f}-{max(ratios):.2f}x",
            goal,
        ]


def run(chosen: list[Pair], rounds: int, repeat: int) -> list[Result]:
    """Every pair in every round, baseline first in even rounds and candidate first in odd ones."""
    results = [Result(p, [], []) for p in chosen]
    loops = [p.make() for p in chosen]
    for base, cand in loops:  # warm up
        base()
        cand()
    for r in range(rounds):
        for result, (base, cand) in zip(results, loops, strict=True):
            order = [(base, result.base), (cand, result.cand)]
            for loop, seconds in order if r % 2 == 0 else reversed(order):
                seconds.append(_cpu(loop, repeat))
    return results


HEADERS = [
    *("operation", "baseline", "candidate", "baseline ops/s", "candidate ops/s"),
    *("ratio", "spread", "target"),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--repeat", type=int, default=5, help="loops over the keys per timing (default 5)")
    parser.add_argument(
        "--baseline-rev", default=BEFORE_TTL, help=f"the revision whose MemoryStore to compare ({BEFORE_TTL})"
    )
    args = parser.parse_args(argv)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {N_KEYS} keys, "
        f"{len(VALUE)}-byte values,"
    )
    print(
        f"{args.rounds} interleaved rounds, CPU time of the timing thread; ratio = median over rounds of "
        "candidate time / baseline time; spread = lowest and highest round.\n"
    )
    print(table(HEADERS, [r.cells() for r in run(pairs(args.baseline_rev), args.rounds, args.repeat)]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
