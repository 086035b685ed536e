"""Sync stores through AsyncAdapter join the StoreTests suite: SQLiteStore and FileStore.

Ground truth is the backends' own (the table through a separate connection, the files), read by
the sync suites' accessors on the store under the adapter.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.stores.test_file as file_tests
import tests.stores.test_sqlite as sqlite_tests
from nstore import AsyncAdapter, MemoryStore, Store
from nstore.errors import ConfigurationError, StoreClosed
from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore
from tests.astores.facade import Blocking, LoopThread, sync_store


class TestAdaptedSQLiteStore(sqlite_tests.TestSQLiteStore):
    @pytest.fixture
    def store(self, tmp_path: Path, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        sync = SQLiteStore(tmp_path / "store.db", durability=self.durability)
        with Blocking(AsyncAdapter(sync), loop) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return super().raw_get(sync_store(store), key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        super().raw_set(sync_store(store), key, value)


class TestAdaptedFileStore(file_tests.TestDurableFileStore):
    @pytest.fixture
    def store(self, tmp_path: Path, loop: LoopThread) -> Iterator[Store[str, bytes]]:
        with Blocking(AsyncAdapter(FileStore(tmp_path / "root", durable=self.durable)), loop) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return super().raw_get(sync_store(store), key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        super().raw_set(sync_store(store), key, value)


# -- the adapter's own promises --------------------------------------------------------------------


class _ThreadRecorder(MemoryStore[str, bytes]):
    """A real MemoryStore that records the thread each bulk call ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def get_many(self, keys: object, /) -> dict[str, bytes]:
        self.threads.append(threading.current_thread().name)
        return super().get_many(keys)  # type: ignore[arg-type]  # recorded, then passed on


def test_bulk_call_is_one_thread_hop() -> None:
    recorder = _ThreadRecorder()
    recorder.update({f"k{i}": b"v" for i in range(100)})

    async def main() -> dict[str, bytes]:
        async with AsyncAdapter(recorder) as store:
            return await store.get_many([f"k{i}" for i in range(100)])

    assert len(asyncio.run(main())) == 100
    assert len(recorder.threads) == 1
    assert recorder.threads[0].startswith("nstore-")


def test_listing_pages_and_closing(tmp_path: Path) -> None:
    async def main() -> list[str]:
        store = AsyncAdapter(SQLiteStore(tmp_path / "s.db"))
        await store.set_many({f"k{i:04d}": b"v" for i in range(600)})
        keys = [k async for k in store.iter_keys("k0")]
        await store.aclose()
        await store.aclose()  # idempotent
        with pytest.raises(StoreClosed):
            await store.get("k0000")
        return keys

    assert asyncio.run(main()) == [f"k{i:04d}" for i in range(600)]


@pytest.mark.parametrize("workers", [0, 257, True, 1.5])
def test_max_workers_is_checked(workers: object) -> None:
    with pytest.raises(ConfigurationError, match="max_workers"):
        AsyncAdapter(MemoryStore[str, bytes](), max_workers=workers)  # type: ignore[arg-type]  # bad on purpose
