"""FileStore against the bare minimum of system calls on this disk.

Run with ``python -m benchmarks.bench_file [--rounds N] [--dir PATH]``. For each value size, the
compared variants run interleaved (in a new random order every round) on the same disk, each round
timing a batch of operations; the table shows the median time per operation over the rounds and
the ratio of FileStore to the bare variant.

- durable set: FileStore(durable=True) vs a plain-Python temp write + fsync + close + replace +
  directory fsync (target <= 1.2x);
- fast set: FileStore(durable=False) vs temp write + close + replace;
- get: FileStore vs ``open(path, "rb").read()`` (target <= 1.3x);
- set_many / get_many / delete_many of 100 keys in one directory vs one call per key.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._report import size_name, table
from nstore.stores.file import FileStore

SIZES = (100, 1024, 64 * 1024)
KEYS = 16  # keys overwritten in turn: the common case of a store in use
TARGETS = {"durable set": 1.2, "get": 1.3}


class Bare:
    """The minimum a crash-safe one-file-per-key write needs, written directly."""

    def __init__(self, root: Path, durable: bool) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = str(root)
        self.durable = durable
        self.dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        self.count = 0

    def set(self, key: str, value: bytes) -> None:
        self.count += 1
        tmp = f"{self.root}/.tmp{self.count}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, value)
        if self.durable:
            os.fsync(fd)
        os.close(fd)
        os.replace(tmp, f"{self.root}/{key}")
        if self.durable:
            os.fsync(self.dir_fd)

    def get(self, key: str) -> bytes:
        with open(f"{self.root}/{key}", "rb") as f:
            return f.read()


def per_op(batch: Callable[[], int]) -> float:
    """Seconds per operation of one batch."""
    start = time.perf_counter()
    n = batch()
    return (time.perf_counter() - start) / n


def compare(variants: dict[str, Callable[[], int]], rounds: int) -> dict[str, float]:
    """Median seconds per operation of each variant, interleaved in a new order every round."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for _ in range(rounds):
        random.shuffle(names)
        for name in names:
            times[name].append(per_op(variants[name]))
    return {name: statistics.median(t) for name, t in times.items()}


def setter(put: Callable[[str, bytes], None], value: bytes, n: int) -> Callable[[], int]:
    keys = [f"k{i % KEYS}" for i in range(n)]

    def batch() -> int:
        for key in keys:
            put(key, value)
        return n

    return batch


def getter(get: Callable[[str], bytes], n: int) -> Callable[[], int]:
    keys = [f"k{i % KEYS}" for i in range(n)]

    def batch() -> int:
        for key in keys:
            get(key)
        return n

    return batch


def single_ops(base: Path, rounds: int) -> list[list[str]]:
    rows = []
    for size in SIZES:
        value = random.randbytes(size)
        stores = {d: FileStore(base / f"store-{d}-{size}", durable=d) for d in (True, False)}
        bares = {d: Bare(base / f"bare-{d}-{size}", durable=d) for d in (True, False)}
        n_durable = 20 if size < 65536 else 10
        durable = compare(
            {
                "store": setter(stores[True].__setitem__, value, n_durable),
                "bare": setter(bares[True].set, value, n_durable),
            },
            rounds,
        )
        fast = compare(
            {
                "store": setter(stores[False].__setitem__, value, 200),
                "bare": setter(bares[False].set, value, 200),
            },
            rounds,
        )
        get = compare(
            {"store": getter(stores[False].__getitem__, 2000), "bare": getter(bares[False].get, 2000)},
            rounds,
        )
        for what, result in (("durable set", durable), ("fast set", fast), ("get", get)):
            rows.append(_row(what, size_name(size), result["store"], result["bare"], "bare"))
        for store in stores.values():
            store.close()
    return rows


def bulk_ops(base: Path, rounds: int) -> list[list[str]]:
    rows = []
    value = random.randbytes(1024)
    items = {f"batch/k{i:03d}": value for i in range(100)}
    for durable in (True, False):
        store = FileStore(base / f"bulk-{durable}", durable=durable)

        def one_by_one(store: FileStore = store) -> int:
            for key, v in items.items():
                store[key] = v
            return len(items)

        def many(store: FileStore = store) -> int:
            store.set_many(items)
            return len(items)

        result = compare({"set_many": many, "loop": one_by_one}, max(3, rounds // 2))
        label = "durable" if durable else "fast"
        rows.append(_row(f"set_many ({label})", "1 KiB x 100", result["set_many"], result["loop"], "loop"))
        if durable:
            store.close()
            continue

        def get_loop(store: FileStore = store) -> int:
            for key in items:
                store[key]
            return len(items)

        def get_many(store: FileStore = store) -> int:
            store.get_many(items)
            return len(items)

        result = compare({"get_many": get_many, "loop": get_loop}, rounds)
        rows.append(_row("get_many", "1 KiB x 100", result["get_many"], result["loop"], "loop"))
        store.close()
    return rows


def _row(what: str, size: str, ours: float, theirs: float, versus: str) -> list[str]:
    ratio = ours / theirs
    target = TARGETS.get(what)
    verdict = "" if target is None else (f"<= {target}x met" if ratio <= target else f"<= {target}x MISSED")
    return [what, size, versus, f"{ours * 1e6:.1f}", f"{theirs * 1e6:.1f}", f"{ratio:.2f}x", verdict]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per comparison")
    parser.add_argument("--dir", default=None, help="directory on the disk to measure (default: temp)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-file-", dir=args.dir))
    try:
        start = time.perf_counter()
        rows = single_ops(base, args.rounds) + bulk_ops(base, args.rounds)
        headers = ["operation", "value", "vs", "FileStore µs/op", "other µs/op", "ratio", "target"]
        print(f"FileStore vs bare system calls; medians of {args.rounds} interleaved rounds")
        print(f"{os.cpu_count()} vCPU, Python {platform.python_version()}, {platform.system()}\n")
        print(table(headers, rows))
        print(f"\n({time.perf_counter() - start:.0f} s)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
