"""nstore's stores against their peers: one command, every scenario, one table and one chart.

Run ``python -m benchmarks.bench_peers`` (peers: ``pip install 'nstore[bench]'``). For each value
size every peer is opened in a fresh directory and timed on ``n`` single sets of new keys, ``n`` gets
in random order, one ``get_many`` of all keys and (in a fresh store) one ``set_many`` of all keys,
where the peer has them. Peers run interleaved in a rotating order, each round repeated; the table
shows medians. Rows that fsync every write run fewer keys (the ``n`` column says how many), and so do
64 KiB values. The targets are checked as ratios between rows of equal durability in the same run.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from benchmarks._peers import BARE_SQLITE, Peer, find, peers
from benchmarks._report import chart, fmt, peers_table, size_name, typed_table
from benchmarks._typed import run_typed

T = TypeVar("T")

SIZES = (100, 1024, 64 * 1024)
RESULTS = Path(__file__).parent / "results"


def _timed(n: int, work: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    work()
    return n / (time.perf_counter() - start)


def _timed_both(n: int, work: Callable[[], object]) -> tuple[float, float]:
    """Ops/s by the wall clock and by this process's CPU time (steadier on a busy machine)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return n / (time.perf_counter() - start), n / max(time.process_time() - cpu, 1e-9)


def measure(peer: Peer, n: int, value: bytes, rng: random.Random) -> dict[str, float]:
    """One round of one peer: ops/s of set, get, get_many and set_many."""
    keys = [f"key/{i:08d}" for i in range(n)]
    order = keys[:]
    rng.shuffle(order)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="nstore-bench-") as tmp:
        h = peer.open(Path(tmp))
        set_, get = h.set, h.get

        def sets() -> None:
            for key in keys:
                set_(key, value)

        def gets() -> None:
            for key in order:
                get(key)

        out["set"] = _timed(n, sets)
        out["get"], out["get_cpu"] = _timed_both(n, gets)
        get_many = h.get_many
        if get_many is not None:
            out["get_many"] = _timed(n, lambda: get_many(order))
        h.close()
    with tempfile.TemporaryDirectory(prefix="nstore-bench-") as tmp:
        h = peer.open(Path(tmp))
        set_many = h.set_many
        if set_many is not None:
            items = dict.fromkeys(keys, value)
            out["set_many"] = _timed(n, lambda: set_many(items))
        h.close()
    return out


def measure_gets(peer: Peer, n: int, value: bytes, rng: random.Random) -> dict[str, float]:
    """Ops/s of gets in random order, the store loaded untimed (in one batch where it has one)."""
    keys = [f"key/{i:08d}" for i in range(n)]
    order = keys[:]
    rng.shuffle(order)
    with tempfile.TemporaryDirectory(prefix="nstore-bench-") as tmp:
        h = peer.open(Path(tmp))
        if h.set_many is not None:
            h.set_many(dict.fromkeys(keys, value))
        else:
            for key in keys:
                h.set(key, value)
        get = h.get

        def gets() -> None:
            for key in order:
                get(key)

        rate, cpu = _timed_both(n, gets)
        h.close()
    return {"get": rate, "get_cpu": cpu}


def run_pairs(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The targets' pairs head to head: A and B alternate, --pair-repeat times, per value size.

    Measured close together in time, a pair's ratio is far less exposed to the machine's load
    drifting than two rows of the big table.
    """
    all_peers = peers()
    sqlite_normal = find(all_peers, "nstore SQLiteStore", "normal")
    sqlite_off = find(all_peers, "nstore SQLiteStore", "off")
    diskcache = find(all_peers, "diskcache.Cache", "normal")
    sqlitedict = find(all_peers, "sqlitedict", "off")
    rng = random.Random(args.seed + 2)
    out = []
    for size in SIZES:
        n = min(args.pair_keys, args.big_keys) if size >= 64 * 1024 else args.pair_keys
        value = os.urandom(size)
        a_runs: list[dict[str, float]] = []
        b_runs: list[dict[str, float]] = []
        gets: list[tuple[dict[str, float], dict[str, float]]] = []
        for round_no in range(args.pair_repeat):
            _log(f"pairs round {round_no + 1}/{args.pair_repeat} {size_name(size)} n={n}")
            a_run, b_run = _alternate(
                round_no,
                partial(measure, sqlite_normal, n, value, rng),
                partial(measure, diskcache, n, value, rng),
            )
            a_runs.append(a_run)
            b_runs.append(b_run)
            gets.append(
                _alternate(
                    round_no,
                    partial(measure_gets, sqlite_off, n, value, rng),
                    partial(measure_gets, sqlitedict, n, value, rng),
                )
            )
        for op in ("set", "get", "get_cpu", "set_many"):
            a = statistics.median(r[op] for r in a_runs)
            b = statistics.median(r[op] for r in b_runs)
            out.append(_pair(size, n, op, sqlite_normal, diskcache, a, b))
        for op in ("get", "get_cpu"):
            a = statistics.median(g[0][op] for g in gets)
            b = statistics.median(g[1][op] for g in gets)
            out.append(_pair(size, n, op, sqlite_off, sqlitedict, a, b))
    return out


def _alternate(round_no: int, a: Callable[[], T], b: Callable[[], T]) -> tuple[T, T]:
    """Run ``a`` and ``b``, ``a`` first in even rounds and ``b`` first in odd ones."""
    if round_no % 2 == 0:
        first = a()
        return first, b()
    second = b()
    return a(), second


def _pair(size: int, n: int, op: str, a: Peer, b: Peer, a_rate: float, b_rate: float) -> dict[str, Any]:
    return {"size": size, "n": n, "op": op, "a": a.label, "b": b.label, "a_rate": a_rate, "b_rate": b_rate}


def _count(peer: Peer, size: int, args: argparse.Namespace) -> int:
    n: int = args.keys
    if peer.fsync_per_write:
        n = min(n, args.durable_keys)
    if peer.slow_writes:
        n = min(n, args.slow_keys)
    if size >= 64 * 1024:
        n = min(n, args.big_keys)
    return n


def run_peers(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = peers()
    samples: dict[tuple[int, int], list[dict[str, float]]] = {}
    rng = random.Random(args.seed)
    for round_no in range(args.repeat):
        for size in SIZES:
            value = os.urandom(size)
            shift = round_no % len(rows)
            order = list(range(len(rows)))[shift:] + list(range(len(rows)))[:shift]
            for index in order:
                peer = rows[index]
                n = _count(peer, size, args)
                _log(f"round {round_no + 1}/{args.repeat} {size_name(size):>6} {peer.label} n={n}")
                samples.setdefault((size, index), []).append(measure(peer, n, value, rng))
    results = []
    for size in SIZES:
        for index, peer in enumerate(rows):
            runs = samples[(size, index)]
            row: dict[str, Any] = {
                "label": peer.label,
                "name": peer.name,
                "level": peer.level,
                "durability": peer.durability,
                "size": size,
                "n": _count(peer, size, args),
            }
            for op in runs[0]:
                row[op] = statistics.median(r[op] for r in runs)
            results.append(row)
    return results


def run_batches(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Single sets against one set_many of the same values (100 B and 1 KiB), interleaved."""
    wanted = [("nstore SQLiteStore", level) for level in ("off", "normal", "full")]
    wanted += [("nstore FileStore", "off"), ("nstore FileStore", "full"), ("lmdb, txn per write", "full")]
    chosen = [find(peers(), name, level) for name, level in wanted]
    chosen.insert(2, BARE_SQLITE)  # right after SQLiteStore [normal]: its ceiling
    rng = random.Random(args.seed + 1)
    samples: dict[tuple[int, int], list[dict[str, float]]] = {}
    for round_no in range(args.repeat):
        for size in (100, 1024):
            value = os.urandom(size)
            for index, peer in enumerate(chosen):
                n = _batch_count(peer, args)
                _log(f"batch round {round_no + 1}/{args.repeat} {size_name(size)} {peer.label} n={n}")
                samples.setdefault((size, index), []).append(measure(peer, n, value, rng))
    out = []
    for size in (100, 1024):
        for index, peer in enumerate(chosen):
            runs = samples[(size, index)]
            single = statistics.median(r["set"] for r in runs)
            batch = statistics.median(r["set_many"] for r in runs)
            out.append(
                {
                    "label": peer.label,
                    "size": size,
                    "n": _batch_count(peer, args),
                    "set": single,
                    "set_many": batch,
                    "ratio": batch / single,
                }
            )
    return out


def _batch_count(peer: Peer, args: argparse.Namespace) -> int:
    n: int = args.batch
    if peer.fsync_per_write:
        n = min(n, args.durable_keys)
    elif peer.slow_writes:
        n = min(n, args.slow_keys)
    return n


def _ratio(
    results: list[dict[str, Any]], a: tuple[str, str], b: tuple[str, str], op: str, size: int
) -> float:
    def pick(name: str, level: str) -> float:
        row = next(r for r in results if r["name"] == name and r["level"] == level and r["size"] == size)
        return float(row[op])

    return pick(*a) / pick(*b)


def targets(pairs: list[dict[str, Any]], batches: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(what, measured ratio, target) for every target of the issue."""
    goals = {
        ("get", "nstore SQLiteStore [off]"): 5.0,
        ("set", "nstore SQLiteStore [normal]"): 2.0,
        ("get", "nstore SQLiteStore [normal]"): 1.5,
    }
    out = []
    for p in pairs:
        goal = goals.get((p["op"], p["a"]))
        if goal is not None:
            what = f"{size_name(p['size'])}: {p['a']} {p['op']} / {p['b']} {p['op']}, n={p['n']}"
            out.append((what, p["a_rate"] / p["b_rate"], goal))
    for b in batches:
        if b["label"] == "nstore SQLiteStore [normal]":
            what = f"{size_name(b['size'])}: SQLiteStore set_many / single sets, {b['n']} values [normal]"
            out.append((what, b["ratio"], 20.0))
    return out


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_peers", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--keys", type=int, default=20_000, help="keys per row (default 20,000)")
    parser.add_argument(
        "--durable-keys", type=int, default=1_000, help="keys for rows that fsync every write"
    )
    parser.add_argument(
        "--slow-keys", type=int, default=3_000, help="keys for rows that create a file per write"
    )
    parser.add_argument("--big-keys", type=int, default=2_000, help="keys for 64 KiB values")
    parser.add_argument("--batch", type=int, default=10_000, help="values in the set_many comparison")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the table shows medians")
    parser.add_argument("--pair-keys", type=int, default=5_000, help="keys in the head-to-head pairs")
    parser.add_argument("--pair-repeat", type=int, default=5, help="rounds of the head-to-head pairs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 keys, 300 durable, 1 round: a smoke run")
    parser.add_argument("--no-typed", action="store_true", help="skip the typed-records scenario")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for peers.txt and peers.png")
    args = parser.parse_args(argv)
    if args.quick:
        args.keys, args.durable_keys, args.slow_keys, args.big_keys = 2_000, 300, 1_000, 500
        args.batch, args.repeat, args.pair_keys, args.pair_repeat = 2_000, 1, 1_000, 2
    started = time.perf_counter()
    pairs = run_pairs(args)
    batches = run_batches(args)
    results = run_peers(args)
    typed: list[dict[str, Any]] = []
    if not args.no_typed:
        typed_rounds = [
            run_typed(args.keys, min(args.keys, args.slow_keys // 2), args.seed + r)
            for r in range(args.repeat)
        ]
        for i, first in enumerate(typed_rounds[0]):
            row = dict(first)
            for op in ("set", "get", "set_many", "get_many"):
                row[op] = statistics.median(rounds[i][op] for rounds in typed_rounds)
            typed.append(row)
    report = _render(args, results, pairs, batches, typed, time.perf_counter() - started)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peers.txt").write_text(report + "\n")
    chart(results, SIZES, typed, args.out / "peers.png")
    _log(f"wrote {args.out / 'peers.txt'} and {args.out / 'peers.png'}")
    return 0


def _render(
    args: argparse.Namespace,
    results: list[dict[str, Any]],
    pairs: list[dict[str, Any]],
    batches: list[dict[str, Any]],
    typed: list[dict[str, Any]],
    seconds: float,
) -> str:
    parts = [
        f"nstore bench_peers: Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, SQLite {__import__('sqlite3').sqlite_version}; medians of {args.repeat} "
        f"round(s); ops/s; ref = nstore SQLiteStore [normal]; took {seconds:.0f} s",
        "Durability: memory = in process memory; off = no fsync (power loss may lose or corrupt data); "
        "normal = survives a process crash, power loss may lose the last writes; full = fsync per write.",
    ]
    for size in SIZES:
        ref = next(r for r in results if r["size"] == size and r["label"] == "nstore SQLiteStore [normal]")
        parts.append(f"\n### {size_name(size)} values\n")
        parts.append(peers_table(results, size, ref))
    parts.append("\n### One set_many against single sets\n")
    parts.append(
        "\n".join(
            f"- {size_name(b['size'])}, {b['label']}: n={b['n']}, single {fmt(b['set'])}/s, "
            f"set_many {fmt(b['set_many'])}/s, "
            f"{b['ratio']:.1f}x"
            for b in batches
        )
    )
    if typed:
        parts.append("\n### Typed 8-field records through codec pipelines (objects/s)\n")
        parts.append(typed_table(typed))
    parts.append(
        f"\n### Head to head (alternating, medians of {args.pair_repeat} rounds, ops/s; get_cpu: gets "
        "per second of this process's CPU time, steadier than the wall clock on a busy machine)\n"
    )
    parts.append(
        "\n".join(
            f"- {size_name(p['size'])} {p['op']}, n={p['n']}: {p['a']} {fmt(p['a_rate'])}, {p['b']} "
            f"{fmt(p['b_rate'])}: {p['a_rate'] / p['b_rate']:.2f}x"
            for p in pairs
        )
    )
    parts.append("\n### Targets (ratios in this run, equal durability)\n")
    parts.append(
        "\n".join(
            f"- {what}: {ratio:.2f}x (target >= {goal:g}x) {'met' if ratio >= goal else 'NOT met'}"
            for what, ratio, goal in targets(pairs, batches)
        )
    )
    return "\n".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
