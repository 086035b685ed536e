"""The nstore command: start-up time, and `nstore copy` throughput by batch size.

Run: ``.venv/bin/python -m benchmarks.bench_cli``. Variants are interleaved in each round and
every figure is the median of the rounds.

- Start-up: wall time of ``python -c pass``, ``import nstore``, ``nstore --version`` and a real
  ``nstore get`` on a SQLite store, each a fresh process, as a shell runs them.
- Copy: ``nstore copy`` of 20,000 values of 1 KiB from one SQLite store to another, at batch sizes
  10, 100, 500 and 2,000 (a checkpoint is written after each batch), against the same copy done
  in-process with ``get_many``/``set_many`` in batches of 500 and no checkpoint.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._report import table
from nstore.stores.sqlite import SQLiteStore

KEYS = 20_000
VALUE = os.urandom(1024)
NSTORE = str(Path(sys.executable).parent / "nstore")


def _wall(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def startup(rounds: int, work: Path) -> list[list[str]]:
    with SQLiteStore(work / "s.db") as store:
        store["k"] = b"v"
    variants: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import nstore'": [sys.executable, "-c", "import nstore"],
        "nstore --version": [NSTORE, "--version"],
        "nstore get s.db k": [NSTORE, "get", "s.db", "k"],
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, command in variants.items():
            times[name].append(_wall(command, work))
    base = statistics.median(times["python -c pass"])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        rows.append([name, f"{median * 1000:.0f}", f"{(median - base) * 1000:.0f}"])
    return rows


def _copy_with_nstore(batch: int) -> Callable[[Path], None]:
    def run(work: Path) -> None:
        subprocess.run(
            [NSTORE, "copy", "src.db", f"dst-{batch}.db", "--batch-size", str(batch), "-q", "--restart"],
            cwd=work, check=True, env={**os.environ, "XDG_STATE_HOME": str(work / "state")},
        )  # fmt: skip

    return run


def _copy_in_process(work: Path) -> None:
    with SQLiteStore(work / "src.db") as src, SQLiteStore(work / "dst-inproc.db") as dst:
        keys = sorted(src.iter_keys())
        for i in range(0, len(keys), 500):
            dst.set_many(src.get_many(keys[i : i + 500]))


def copy(rounds: int, work: Path) -> list[list[str]]:
    with SQLiteStore(work / "src.db") as src:
        src.set_many((f"k/{i:06d}", VALUE) for i in range(KEYS))
    variants: dict[str, Callable[[Path], None]] = {
        "in-process get_many/set_many, batches of 500": _copy_in_process,
        **{f"nstore copy --batch-size {b}": _copy_with_nstore(b) for b in (10, 100, 500, 2000)},
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            for stale in work.glob("dst-*"):
                stale.unlink()
            start = time.perf_counter()
            run(work)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["in-process get_many/set_many, batches of 500"])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        rows.append([name, f"{median:.2f}", f"{KEYS / median:,.0f}", f"{median / base:.2f}x"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        machine = f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
        print(f"start-up, median of {args.rounds} rounds ({machine})")
        print(table(["command", "ms", "ms over python"], startup(args.rounds, work)))
        print()
        print(f"copy of {KEYS:,} values of 1 KiB, SQLite to SQLite, median of {args.rounds} rounds")
        print(table(["variant", "seconds", "keys/s", "vs in-process"], copy(args.rounds, work)))


if __name__ == "__main__":
    main()
