"""What opening a FileStore costs on a big root, against a bare ``os.scandir`` of the root.

Run with ``python -m benchmarks.bench_file_open [--keys N] [--dirs N] [--rounds N]``. The root
holds ``--keys`` keys of 100 B spread over ``--dirs`` directories (written once, not timed).
Each round times one ``FileStore(root)`` + ``close()`` and one full ``os.scandir`` of the root, in
a random order; the table shows medians and the ratio. Opening must not depend on the number of
keys: it opens the root and nothing else.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._report import table
from nstore.stores.file import FileStore


def _open_close(root: Path) -> None:
    FileStore(root).close()


def _scandir(root: Path) -> None:
    with os.scandir(root) as entries:
        for _ in entries:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--dirs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        with FileStore(root, durable=False) as store:
            per_dir = args.keys // args.dirs
            for d in range(args.dirs):
                store.set_many({f"d{d}/k{i}": b"x" * 100 for i in range(per_dir)})
        variants = {"FileStore open + close": _open_close, "os.scandir(root)": _scandir}
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            order = list(variants.items())
            rng.shuffle(order)
            for name, call in order:
                start = time.perf_counter()
                call(root)
                times[name].append(time.perf_counter() - start)
        ratios = [a / b for a, b in zip(*times.values(), strict=True)]
        rows = [[name, f"{statistics.median(t) * 1e6:.1f}"] for name, t in times.items()]
        print(f"{args.keys} keys in {args.dirs} directories, median of {args.rounds} rounds")
        print(table(["operation", "µs"], rows))
        print(f"ratio open / scandir: {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
