"""One listing page of the HTTP API, before and after ``keys_page``, at 10k, 80k and 300k keys.

Run ``python -m benchmarks.bench_listing [--rounds 5] [--sizes 10000,80000,300000]``. For each store
(SQLite, FileStore, MemoryStore) and size, the time of one page of 1000 keys in the middle of the
key range, as the server's listing handler computes it:

- before: the handler's previous code, one pass over ``iter_keys(prefix)`` keeping the 1001
  smallest keys after the cursor in a heap (every page cost the whole prefix);
- after: ``store.keys_page(prefix, cursor=..., limit=1000)``, served from the cursor (the
  MemoryStore: from its sorted copy of the keys, kept while the keys are unchanged).

Rounds interleave before and after; the table gives the medians and the median of the per-round
ratios, with the spread (min-max) of those ratios. The FileStore is skipped above 80k keys
(300k files take minutes to write on a shared machine).
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nstore import MemoryStore, Store
from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore

PAGE = 1000
PREFIX = "k/"


def _before(store: Store[str, bytes], cursor: str) -> list[str]:
    keys = store.iter_keys(PREFIX)
    page = heapq.nsmallest(PAGE + 1, (k for k in keys if k > cursor))
    return page[:PAGE]


def _after(store: Store[str, bytes], cursor: str) -> list[str]:
    return store.keys_page(PREFIX, cursor=cursor, limit=PAGE).keys


def _time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _fill(store: Store[str, bytes], n: int) -> None:
    keys = [f"{PREFIX}{i // 100:05d}/{i:07d}" for i in range(n)]  # 100 keys a directory on files
    for start in range(0, n, 5000):
        store.set_many(dict.fromkeys(keys[start : start + 5000], b"v"))


def _measure(name: str, store: Store[str, bytes], n: int, rounds: int) -> list[str]:
    _fill(store, n)
    middle = sorted(store.iter_keys(PREFIX))[n // 2]
    assert _before(store, middle) == _after(store, middle)
    repeat = 3 if n > 50_000 else 10
    befores, afters, ratios = [], [], []
    for _ in range(rounds):
        b = _time(lambda: _before(store, middle), repeat)
        a = _time(lambda: _after(store, middle), repeat)
        befores.append(b)
        afters.append(a)
        ratios.append(b / a)
    b, a = statistics.median(befores), statistics.median(afters)
    return [
        name,
        f"{n:,}",
        f"{b * 1e3:.2f} ms",
        f"{a * 1e3:.2f} ms",
        f"{statistics.median(ratios):.0f}x ({min(ratios):.0f}-{max(ratios):.0f}x)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="10000,80000,300000")
    args = parser.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            stores: list[tuple[str, Store[str, bytes]]] = [
                ("SQLiteStore", SQLiteStore(Path(tmp) / "db.sqlite", durability="off")),
                ("MemoryStore", MemoryStore[str, bytes]()),
            ]
            if n <= 80_000:
                stores.append(("FileStore", FileStore(Path(tmp) / "files", durable=False)))
            for name, store in stores:
                with store:
                    rows.append(_measure(name, store, n, args.rounds))
                    print(" | ".join(rows[-1]), flush=True)
    print()
    print("| store | keys | page before | page after | before / after (spread) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
