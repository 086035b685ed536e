"""The typed scenario: records of an 8-field model through Msgspec, Pydantic and Pickle pipelines.

The same record (int, str, str, list[str], float, bool, datetime, dict[str, int]) is declared as a
msgspec Struct, a pydantic model and a dataclass, and stored through a typed view on each nstore
backend, so the table shows what the choice of pipeline costs on top of the store.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nstore import MemoryStore, Store

# The record `nstore bench` uses too, defined once inside the package so both import it.
from nstore._cli._records import RecordData, RecordModel, RecordStruct
from nstore._cli._records import fields as _fields
from nstore.codecs import Msgspec, Pickle, Pydantic
from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore

PIPELINES: list[tuple[str, Callable[[], Any], type[Any]]] = [
    ("Msgspec (msgpack)", lambda: Msgspec(RecordStruct), RecordStruct),
    ("Pydantic (JSON)", lambda: Pydantic(RecordModel), RecordModel),
    ("Pickle", lambda: Pickle(RecordData), RecordData),
]


@contextmanager
def _backend(name: str) -> Iterator[Store[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="nstore-bench-") as tmp:
        store: Store[str, bytes]
        if name == "MemoryStore":
            store = MemoryStore[str, bytes]()
        elif name == "SQLiteStore [normal]":
            store = SQLiteStore(Path(tmp) / "s.db")
        else:
            store = FileStore(Path(tmp) / "fs", durable=False)
        with store:
            yield store


BACKENDS = ["MemoryStore", "SQLiteStore [normal]", "FileStore [off]"]


def run_typed(n: int, file_n: int, seed: int) -> list[dict[str, Any]]:
    """One round: every pipeline on every backend; objects per second for each operation."""
    rows = []
    rng = random.Random(seed)
    for pipeline, make_codec, cls in PIPELINES:
        records = {f"rec/{i:08d}": cls(**_fields(i)) for i in range(n)}
        for backend in BACKENDS:
            count = file_n if backend.startswith("FileStore") else n
            chosen = dict(list(records.items())[:count])
            order = list(chosen)
            rng.shuffle(order)
            row: dict[str, Any] = {"pipeline": pipeline, "backend": backend, "n": count}
            with _backend(backend) as raw:
                view = raw.with_values(make_codec())
                start = time.perf_counter()
                for key, record in chosen.items():
                    view[key] = record
                row["set"] = count / (time.perf_counter() - start)
                start = time.perf_counter()
                for key in order:
                    view[key]
                row["get"] = count / (time.perf_counter() - start)
                start = time.perf_counter()
                view.get_many(order)
                row["get_many"] = count / (time.perf_counter() - start)
            with _backend(backend) as raw:
                view = raw.with_values(make_codec())
                start = time.perf_counter()
                view.set_many(chosen)
                row["set_many"] = count / (time.perf_counter() - start)
            rows.append(row)
    return rows
