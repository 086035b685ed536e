"""What ``import nstore`` and the ``nstore`` command cost at start-up, against ``import diskcache``.

Run: ``.venv/bin/python -m benchmarks.bench_import [--rounds N]``. Each variant is a fresh
process, as a shell starts it; the variants are interleaved in every round, and each figure is
the median of the rounds with the spread (lowest to highest) beside it. "over python" subtracts
the median of ``python -c pass``; the ratio divides that by the same figure of ``import
diskcache`` (the reference: a SQLite-backed cache with no optional layers). Module counts are
``len(sys.modules)`` added by the import, in a separate process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._report import table

NSTORE = str(Path(sys.executable).parent / "nstore")
BASE = "python -c pass"
REFERENCE = "import diskcache"

VARIANTS: dict[str, list[str]] = {
    BASE: [sys.executable, "-c", "pass"],
    REFERENCE: [sys.executable, "-c", "import diskcache"],
    "import nstore": [sys.executable, "-c", "import nstore"],
    "from nstore import SQLiteStore": [sys.executable, "-c", "from nstore import SQLiteStore"],
    "from nstore import FileStore": [sys.executable, "-c", "from nstore import FileStore"],
    "import nstore.codecs": [sys.executable, "-c", "import nstore.codecs"],
    "nstore --help": [NSTORE, "--help"],
    "nstore --version": [NSTORE, "--version"],
}


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _modules(statement: str) -> int:
    code = f"import sys; before = len(sys.modules); {statement}; print(len(sys.modules) - before)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout)


def measure(rounds: int) -> list[list[str]]:
    """One row per variant: median ms, spread, ms over python, ratio to diskcache, modules."""
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, command in VARIANTS.items():
            times[name].append(_wall(command))
    base = statistics.median(times[BASE])
    reference = statistics.median(times[REFERENCE]) - base
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        over = median - base
        statement = VARIANTS[name][2] if VARIANTS[name][0] == sys.executable else ""
        modules = str(_modules(statement)) if statement and name != BASE else "-"
        ratio = "-" if name == BASE else f"{over / reference:.2f}x"
        spread = f"{min(samples) * 1000:.0f}-{max(samples) * 1000:.0f}"
        rows.append([name, f"{median * 1000:.0f}", spread, f"{over * 1000:.0f}", ratio, modules])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    machine = f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    print(f"start-up, median of {args.rounds} interleaved rounds ({machine})")
    headers = ["variant", "ms", "spread ms", "ms over python", "vs diskcache", "modules"]
    print(table(headers, measure(args.rounds)))


if __name__ == "__main__":
    main()
