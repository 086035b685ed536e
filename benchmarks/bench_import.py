"""What ``import nstore`` and the ``nstore`` command cost at start-up, against ``import diskcache``.

Run: ``.venv/bin/python -m benchmarks.bench_import [--rounds N]``. Each variant is a fresh
process, as a shell starts it; the variants are interleaved in every round, and each figure is
the median of the rounds with the spread (lowest to highest) beside it. Each run is timed twice:
wall time, and the CPU time (user + system) the process used, which a busy machine disturbs
less. "over python" subtracts the median of ``python -c pass``; the ratios divide that by the
same figure of ``import diskcache`` (the reference: a SQLite-backed cache with no optional
layers). Module counts are ``len(sys.modules)`` added by the import, in a separate process.
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


def _run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return wall, usage.ru_utime + usage.ru_stime


def _modules(statement: str) -> int:
    code = f"import sys; before = len(sys.modules); {statement}; print(len(sys.modules) - before)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout)


def measure(rounds: int) -> list[list[str]]:
    """One row per variant: wall ms, spread, over python, ratio; CPU ms, over python, ratio; modules."""
    wall: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, command in VARIANTS.items():
            seconds, used = _run(command)
            wall[name].append(seconds)
            cpu[name].append(used)
    rows = []
    for name in VARIANTS:
        row = [name]
        for samples in (wall, cpu):
            base = statistics.median(samples[BASE])
            reference = statistics.median(samples[REFERENCE]) - base
            median = statistics.median(samples[name])
            spread = f"{min(samples[name]) * 1000:.0f}-{max(samples[name]) * 1000:.0f}"
            ratio = "-" if name == BASE else f"{(median - base) / reference:.2f}x"
            row += [f"{median * 1000:.0f}", spread, f"{(median - base) * 1000:.0f}", ratio]
        statement = VARIANTS[name][2] if VARIANTS[name][0] == sys.executable else ""
        row.append(str(_modules(statement)) if statement and name != BASE else "-")
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    machine = f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    print(f"start-up, median of {args.rounds} interleaved rounds ({machine})")
    headers = [
        "variant",
        "wall ms", "spread", "over python", "vs diskcache",
        "CPU ms", "spread", "over python", "vs diskcache",
        "modules",
    ]  # fmt: skip
    print(table(headers, measure(args.rounds)))


if __name__ == "__main__":
    main()
