"""SQLiteStore's single operations against the same statements on a bare ``sqlite3`` cursor.

Run with ``python -m benchmarks.bench_sqlite_ops [--rounds N] [--ops N]``. Both sides use one
database file in WAL mode with the same pragmas (synchronous=NORMAL) and the same table; for each
operation the two run alternately, in rounds of ``--ops`` calls, and the table shows the median
time per call, the ratio SQLiteStore / bare, and the spread of the per-round ratios. What the
ratio measures is what nstore adds to a call: argument checks, its thread's connection, the
fork gate, error mapping (the store checkpoints inline, as the bare connection does; what a
background checkpoint buys is in bench_sqlite_cache). The last column times the bare call
under a reentrant lock, in the same rounds: what the fork gate alone costs.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

from benchmarks._report import table
from nstore.stores.sqlite import SQLiteStore

KEYS = 1000


def _bare(path: str) -> tuple[sqlite3.Connection, dict[str, Callable[[str], object]]]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous=NORMAL")
    cur = conn.cursor()
    t = "nstore"
    get_sql = f'SELECT value FROM "{t}" WHERE key = ?'
    has_sql = f'SELECT 1 FROM "{t}" WHERE key = ?'
    set_sql = (
        f'INSERT INTO "{t}" (key, value, version) VALUES (?, ?, 1) '
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1"
    )
    value = b"x" * 100
    return conn, {
        "get": lambda k: cur.execute(get_sql, (k,)).fetchone()[0],
        "contains": lambda k: cur.execute(has_sql, (k,)).fetchone() is not None,
        "set": lambda k: cur.execute(set_sql, (k, value)),
    }


def _nstore(store: SQLiteStore) -> dict[str, Callable[[str], object]]:
    value = b"x" * 100
    return {
        "get": store.__getitem__,
        "contains": store.__contains__,
        "set": lambda k: store.__setitem__(k, value),
    }


def _gated(call: Callable[[str], object]) -> Callable[[str], object]:
    """The bare call under a reentrant lock, as SQLiteStore's fork gate holds one around each call."""
    gate = threading.RLock()

    def run(key: str) -> object:
        with gate:
            return call(key)

    return run


def _round(call: Callable[[str], object], keys: list[str]) -> float:
    start = time.perf_counter()
    for key in keys:
        call(key)
    return (time.perf_counter() - start) / len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ops", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        store = SQLiteStore(path, checkpoints="inline")  # as the bare connection: SQLite's own
        store.set_many({f"k{i}": b"x" * 100 for i in range(KEYS)})
        conn, bare = _bare(path)
        mine = _nstore(store)
        rows = []
        for op in ("get", "contains", "set"):
            times: dict[str, list[float]] = {"nstore": [], "bare": [], "gated": []}
            for _ in range(args.rounds):
                keys = [f"k{rng.randrange(KEYS)}" for _ in range(args.ops)]
                order = [("nstore", mine[op]), ("bare", bare[op]), ("gated", _gated(bare[op]))]
                rng.shuffle(order)
                for name, call in order:
                    times[name].append(_round(call, keys))
            ratios = [a / b for a, b in zip(times["nstore"], times["bare"], strict=True)]
            gate_ratios = [a / b for a, b in zip(times["gated"], times["bare"], strict=True)]
            ours, theirs = statistics.median(times["nstore"]), statistics.median(times["bare"])
            rows.append(
                [
                    op,
                    f"{ours * 1e6:.2f}",
                    f"{theirs * 1e6:.2f}",
                    f"{statistics.median(ratios):.2f}x",
                    f"{min(ratios):.2f}-{max(ratios):.2f}",
                    f"{statistics.median(gate_ratios):.3f}x",
                ]
            )
        conn.close()
        store.close()
    headers = ["operation (100 B)", "SQLiteStore µs", "bare µs", "ratio", "spread", "bare + gate"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
