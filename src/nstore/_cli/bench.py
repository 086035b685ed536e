"""``nstore bench [URL]``: a short benchmark of a store and of typed pipelines on it.

Every measurement runs for a fixed time (``--seconds``) and reports operations per second for
sets and gets. With a URL, the benchmark writes under a private prefix (``nstore-bench/<id>/``)
and deletes what it wrote; without one, it compares the built-in embedded stores in a temporary
directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from nstore._cli.common import EXIT_OK, add_command, parse_url, print_json
from nstore.store import Store

if TYPE_CHECKING:
    from nstore.urls import StoreURL

__all__ = ["add_commands", "run_bench"]

_KEYS = 1000  # distinct keys each workload cycles through
_BATCH = 100


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``nstore bench`` on the ``nstore`` subparsers ``sub``."""
    p = add_command(
        sub, common, "bench", "benchmark a store and typed pipelines on it",
        "Measure sets and gets per second on the store at URL: raw values, batches, and an\n"
        "8-field record through Msgspec, Msgspec | Zstd, Pydantic and signed Pickle pipelines.\n"
        "Writes only under the prefix nstore-bench/<random>/ and deletes it afterwards.\n"
        "Without URL, compares memory://, a FileStore and SQLite in a temporary directory.",
        "nstore bench\nnstore bench redis://localhost:6379/0 --seconds 1\nnstore bench app.db --json",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", nargs="?", default=None, help="the store (default: the built-ins)")
    p.add_argument("--seconds", type=float, default=0.25, metavar="S", help="time per measurement (0.25)")
    p.add_argument("--size", type=int, default=1024, metavar="BYTES", help="raw value size (1024)")
    p.add_argument("--json", action="store_true", help="print the results as a JSON array")
    p.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    if args.seconds <= 0 or args.size < 0:
        from nstore._cli.common import EXIT_USAGE, CommandError

        raise CommandError(EXIT_USAGE, "expected --seconds > 0 and --size >= 0")
    rows = []
    with ExitStack() as stack:
        if args.url is not None:
            urls = {str(parse_url(args.url)): parse_url(args.url)}
        else:
            import tempfile

            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="nstore-bench-"))
            urls = {
                "memory://": parse_url("memory://"),
                "file (durable)": parse_url(os.path.join(tmp, "files")),
                "sqlite (normal)": parse_url(os.path.join(tmp, "bench.db")),
            }
        for label, url in urls.items():
            if not args.json:
                sys.stderr.write(f"benchmarking {url} ...\n")
            rows.extend(run_bench(url, seconds=args.seconds, size=args.size, label=label))
    if args.json:
        print_json(rows)
    else:
        _print_table(rows)
    return EXIT_OK


def run_bench(url: StoreURL, *, seconds: float, size: int, label: str = "") -> list[dict[str, Any]]:
    """Benchmark the store ``url`` names; one result row per workload, labelled ``label``."""
    import secrets

    from nstore.codecs import Prefix

    prefix = f"nstore-bench/{secrets.token_hex(4)}/"
    rows = []
    with url.open() as store:
        try:
            view = store.with_keys(Prefix(prefix))
            for name, set_rate, get_rate in _workloads(view, seconds, size):
                row = {"set_per_s": set_rate, "get_per_s": get_rate}
                rows.append({"store": label or str(url), "workload": name, **row})
        finally:
            store.delete_many(list(store.iter_keys(prefix)))
    return rows


def _workloads(store: Store[str, bytes], seconds: float, size: int) -> Iterator[tuple[str, float, float]]:
    import secrets

    from nstore._cli._records import RecordData, RecordModel, RecordStruct, fields
    from nstore.codecs import Msgspec, Pickle, Pydantic, Zstd

    value = secrets.token_bytes(size)
    keys = [f"k{i}" for i in range(_KEYS)]
    yield (f"{size} B value", *_set_get(store, keys, lambda i: value, seconds))

    batches = [keys[i : i + _BATCH] for i in range(0, _KEYS, _BATCH)]
    written = 0

    def set_many(i: int) -> None:
        nonlocal written
        store.set_many(dict.fromkeys(batches[i % len(batches)], value))
        written = max(written, i + 1)

    def get_many(i: int) -> None:
        store.get_many(batches[i % min(written, len(batches))])

    set_rate = _rate(set_many, seconds, _BATCH)
    yield (f"batches of {_BATCH} (keys/s)", set_rate, _rate(get_many, seconds, _BATCH))

    signing_key = secrets.token_bytes(32)
    pipelines: list[tuple[str, Any, Callable[[int], object]]] = [
        ("record: msgspec", Msgspec(RecordStruct), lambda i: RecordStruct(**fields(i))),
        ("record: msgspec | zstd", Msgspec(RecordStruct) | Zstd(), lambda i: RecordStruct(**fields(i))),
        ("record: pydantic", Pydantic(RecordModel), lambda i: RecordModel(**fields(i))),
        ("record: pickle (signed)", Pickle(RecordData, key=signing_key), lambda i: RecordData(**fields(i))),
    ]
    for name, codec, make in pipelines:
        typed = store.with_values(codec)
        yield (name, *_set_get(typed, keys, make, seconds))


def _set_get(
    store: Store[str, Any], keys: list[str], make: Callable[[int], object], seconds: float
) -> tuple[float, float]:
    values = [make(i) for i in range(len(keys))]
    written = 0  # the gets read only keys the sets wrote: no slow filling of the store first

    def set_one(i: int) -> None:
        nonlocal written
        j = i % len(keys)
        store[keys[j]] = values[j]
        written = max(written, i + 1)

    def get_one(i: int) -> None:
        store[keys[i % min(written, len(keys))]]

    return _rate(set_one, seconds, 1), _rate(get_one, seconds, 1)


def _rate(operation: Callable[[int], object], seconds: float, items: int) -> float:
    """Items per second of ``operation`` run repeatedly for ``seconds`` (after one warm-up call)."""
    operation(0)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        count += 1
        operation(count)
        now = time.perf_counter()
        if now >= deadline:
            return count * items / (now - start)


def _print_table(rows: list[dict[str, Any]]) -> None:
    headers = ("store", "workload", "set/s", "get/s", "set µs", "get µs")
    lines = [
        (
            r["store"],
            r["workload"],
            f"{r['set_per_s']:,.0f}",
            f"{r['get_per_s']:,.0f}",
            f"{1e6 / r['set_per_s']:,.1f}",
            f"{1e6 / r['get_per_s']:,.1f}",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    out = sys.stdout
    for i, line in enumerate([headers, *lines]):
        pairs = enumerate(zip(line, widths, strict=True))
        cells = [c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in pairs]
        out.write("  ".join(cells).rstrip() + "\n")
        if i == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
