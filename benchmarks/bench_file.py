"""FileStore against the bare minimum of system calls on this disk.

Run with ``python -m benchmarks.bench_file [--rounds N] [--dir PATH]``. For each value size, the
compared variants run on the same disk alternating operation by operation (in a new random order
each time), so bursts of disk activity from elsewhere hit both alike; the table shows the median
time per operation and the ratio of FileStore to the bare variant (batches: per key).

- durable set: FileStore(durable=True) vs a plain-Python temp write + fsync + close + replace +
  directory fsync (target <= 1.2x);
- fast set: FileStore(durable=False) vs temp write + close + replace;
- get: FileStore vs ``open(path, "rb").read()`` (target <= 1.3x);
- set_many / delete_many (durable and not) and get_many of 100 keys in one directory vs one call
  per key.
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


def compare(
    variants: dict[str, Callable[[int], object]], samples: int, setup: Callable[[], object] | None = None
) -> dict[str, float]:
    """Median seconds per operation of each variant (``setup``, untimed, runs before each one).

    The variants alternate operation by operation, in a new order each time, so that a burst of
    disk activity from elsewhere lands on all of them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    clock = time.perf_counter
    for i in range(samples):
        random.shuffle(names)
        for name in names:
            op = variants[name]
            if setup is not None:
                setup()
            start = clock()
            op(i)
            times[name].append(clock() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def setter(put: Callable[[str, bytes], None], value: bytes) -> Callable[[int], object]:
    return lambda i: put(f"k{i % KEYS}", value)


def getter(get: Callable[[str], bytes]) -> Callable[[int], object]:
    return lambda i: get(f"k{i % KEYS}")


def single_ops(base: Path, rounds: int) -> list[list[str]]:
    rows = []
    for size in SIZES:
        value = random.randbytes(size)
        stores = {d: FileStore(base / f"store-{d}-{size}", durable=d) for d in (True, False)}
        bares = {d: Bare(base / f"bare-{d}-{size}", durable=d) for d in (True, False)}
        durable = compare(
            {"store": setter(stores[True].__setitem__, value), "bare": setter(bares[True].set, value)},
            rounds * 20,
        )
        fast = compare(
            {"store": setter(stores[False].__setitem__, value), "bare": setter(bares[False].set, value)},
            rounds * 100,
        )
        get = compare(
            {"store": getter(stores[False].__getitem__), "bare": getter(bares[False].get)}, rounds * 1000
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
        setup = FileStore(base / f"bulk-{durable}", durable=False)  # refills, untimed

        def one_by_one(i: int, store: FileStore = store) -> None:
            for key, v in items.items():
                store[key] = v

        def many(i: int, store: FileStore = store) -> None:
            store.set_many(items)

        result = per_item(compare({"set_many": many, "loop": one_by_one}, rounds), len(items))
        label = "durable" if durable else "fast"
        rows.append(_row(f"set_many ({label})", "1 KiB x 100", result["set_many"], result["loop"], "loop"))

        def delete_loop(i: int, store: FileStore = store) -> None:
            for key in items:
                del store[key]

        def delete_many(i: int, store: FileStore = store) -> None:
            store.delete_many(items)

        def refill(setup: FileStore = setup) -> None:
            setup.set_many(items)

        variants: dict[str, Callable[[int], object]] = {"delete_many": delete_many, "loop": delete_loop}
        result = per_item(compare(variants, rounds, refill), len(items))
        rows.append(
            _row(f"delete_many ({label})", "1 KiB x 100", result["delete_many"], result["loop"], "loop")
        )
        if durable:
            store.close()
            setup.close()
            continue

        def get_loop(i: int, store: FileStore = store) -> None:
            for key in items:
                store[key]

        def get_many(i: int, store: FileStore = store) -> None:
            store.get_many(items)

        setup.set_many(items)
        result = per_item(compare({"get_many": get_many, "loop": get_loop}, rounds * 4), len(items))
        rows.append(_row("get_many", "1 KiB x 100", result["get_many"], result["loop"], "loop"))
        store.close()
        setup.close()
    return rows


def per_item(result: dict[str, float], n: int) -> dict[str, float]:
    return {name: t / n for name, t in result.items()}


def _row(what: str, size: str, ours: float, theirs: float, versus: str) -> list[str]:
    ratio = ours / theirs
    target = TARGETS.get(what)
    verdict = "" if target is None else (f"<= {target}x met" if ratio <= target else f"<= {target}x MISSED")
    return [what, size, versus, f"{ours * 1e6:.1f}", f"{theirs * 1e6:.1f}", f"{ratio:.2f}x", verdict]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="scales the samples of every comparison")
    parser.add_argument("--dir", default=None, help="directory on the disk to measure (default: temp)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-file-", dir=args.dir))
    try:
        start = time.perf_counter()
        rows = single_ops(base, args.rounds) + bulk_ops(base, args.rounds)
        headers = ["operation", "value", "vs", "FileStore µs/op", "other µs/op", "ratio", "target"]
        print(f"FileStore vs bare system calls; medians of interleaved operations (--rounds {args.rounds})")
        print(f"{os.cpu_count()} vCPU, Python {platform.python_version()}, {platform.system()}\n")
        print(table(headers, rows))
        print(f"\n({time.perf_counter() - start:.0f} s)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
