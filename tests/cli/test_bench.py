"""nstore bench: a table (or JSON) of rates, and nothing left behind in the store."""

from __future__ import annotations

import json
from pathlib import Path

from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore

WORKLOADS = [
    "1024 B value",
    "batches of 100 (keys/s)",
    "record: msgspec",
    "record: msgspec | zstd",
    "record: pydantic",
    "record: pickle (signed)",
]


def test_bench_json_on_memory(nstore: NStore) -> None:
    rows = json.loads(nstore.ok("bench", "memory://", "--seconds", "0.01", "--json").out)
    assert [r["workload"] for r in rows] == WORKLOADS
    assert {r["store"] for r in rows} == {"memory://"}
    assert all(r["set_per_s"] > 0 and r["get_per_s"] > 0 for r in rows)


def test_bench_a_store_prints_a_table_and_leaves_it_as_it_was(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "app.db") as store:
        store["mine"] = b"untouched"
    result = nstore.ok("bench", "app.db", "--seconds", "0.01", "--size", "100")
    lines = result.text.splitlines()
    assert lines[0].split() == ["store", "workload", "set/s", "get/s", "set", "µs", "get", "µs"]
    assert set(lines[1]) == {"-", " "}
    assert len(lines) == 2 + len(WORKLOADS)
    assert lines[2].startswith(f"sqlite://{tmp_path}/app.db  100 B value")
    with SQLiteStore(tmp_path / "app.db") as store:
        assert dict(store) == {"mine": b"untouched"}


def test_bench_without_a_url_compares_the_built_in_stores(nstore: NStore) -> None:
    rows = json.loads(nstore.ok("bench", "--seconds", "0.005", "--json").out)
    assert [r["store"] for r in rows[:: len(WORKLOADS)]] == ["memory://", "file (durable)", "sqlite (normal)"]
