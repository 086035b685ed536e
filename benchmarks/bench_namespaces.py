"""Namespaces: the cost of opening one, and of a migration per value, against a baseline source tree.

Run: ``.venv/bin/python -m benchmarks.bench_namespaces [--baseline SRC] [--rounds N]``. Each
round runs one fresh process per variant (this tree, and the tree at ``SRC``, e.g. an older
checkout's ``src``), interleaved; figures are medians over the rounds, with the spread of the
ratio. Opening reads the manifest, checks the chain and the schema (against every schema
recorded since the last migration) and builds the typed view; ``open x5`` has five schemas
recorded. A migration re-encodes 5,000 small structs in a MemoryStore.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks._report import table

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, time
import msgspec
from nstore import MemoryStore
from nstore.codecs import Msgspec, Zstd
from nstore.namespaces import Namespaces

def version(fields):
    return msgspec.defstruct("User", [("name", str), ("age", int), *fields], module="__main__")

User = version([])  # the one a migration rebuilds from its recorded path

db = Namespaces(MemoryStore[str, bytes]())
chains = [Msgspec(User) | Zstd()]
chains += [Msgspec(version([(f"f{i}", str | None, None) for i in range(n)])) | Zstd() for n in range(1, 5)]
for chain in chains:
    db.namespace("users", chain)
one = Namespaces(MemoryStore[str, bytes]())
one.namespace("users", chains[0])

def per_call(fn, n):
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6

figures = {
    "open": per_call(lambda: one.namespace("users", chains[0]), 2000),
    "open x5": per_call(lambda: db.namespace("users", chains[-1]), 500),
}
users = one.namespace("users", chains[0])
users.set_many({f"u{i:05d}": User(f"name {i}", i) for i in range(5000)})
start = time.perf_counter()
one.migrate("users", Msgspec(User, format="json"))
figures["migrate/value"] = (time.perf_counter() - start) / 5000 * 1e6
print(json.dumps(figures))
"""


def run(src: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a source tree to compare with (its src folder)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    variants = {"this tree": ROOT / "src", **({"baseline": args.baseline} if args.baseline else {})}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, src in variants.items():
            rounds[name].append(run(src))
    rows = []
    for metric in rounds["this tree"][0]:
        mine = [r[metric] for r in rounds["this tree"]]
        row = [metric, f"{statistics.median(mine):.1f} µs"]
        if args.baseline:
            base = [r[metric] for r in rounds["baseline"]]
            ratios = sorted(m / b for m, b in zip(mine, base, strict=True))
            row += [f"{statistics.median(base):.1f} µs", f"{statistics.median(ratios):.2f}x",
                    f"{ratios[0]:.2f}-{ratios[-1]:.2f}"]  # fmt: skip
        rows.append(row)
    headers = ["metric", "this tree", *(["baseline", "ratio", "spread"] if args.baseline else [])]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
