"""HTTPStore joins the StoreTests suite over a real server on 127.0.0.1, backed by memory, files
and SQLite (``nstore serve``'s default, with expiry).

The ground truth is the store behind the server, read and written directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore import MemoryStore, Store
from nstore.server import serve_in_thread
from nstore.stores.file import FileStore
from nstore.stores.http import HTTPStore
from nstore.stores.sqlite import SQLiteStore
from tests.stores import test_sqlite
from tests.stores.base import StoreTests
from tests.stores.test_file import file_path

_BACKENDS: dict[int, Store[str, bytes]] = {}


class _HTTPStoreTests(StoreTests):
    def backend(self, tmp_path: Path) -> Store[str, bytes]:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store[str, bytes]]:
        backend = self.backend(tmp_path)
        with serve_in_thread(backend) as server, HTTPStore(server.url) as store:
            _BACKENDS[id(store)] = backend
            yield store
            del _BACKENDS[id(store)]
        backend.close()


class TestHTTPOverMemory(_HTTPStoreTests):
    def backend(self, tmp_path: Path) -> Store[str, bytes]:
        return MemoryStore[str, bytes]()

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        backend = _BACKENDS[id(store)]
        assert isinstance(backend, MemoryStore)
        return backend._data.get(key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        backend = _BACKENDS[id(store)]
        assert isinstance(backend, MemoryStore)
        backend._data[key] = value


class TestHTTPOverFiles(_HTTPStoreTests):
    def backend(self, tmp_path: Path) -> Store[str, bytes]:
        return FileStore(tmp_path / "root", durable=False)

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        path = file_path(_BACKENDS[id(store)], key)
        return path.read_bytes() if path.is_file() else None

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        path = file_path(_BACKENDS[id(store)], key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)


class TestHTTPOverSQLite(_HTTPStoreTests):
    def backend(self, tmp_path: Path) -> Store[str, bytes]:
        return SQLiteStore(tmp_path / "store.db")

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return test_sqlite.TestSQLiteStore.raw_get(test_sqlite.TestSQLiteStore(), _BACKENDS[id(store)], key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        test_sqlite.TestSQLiteStore.raw_set(test_sqlite.TestSQLiteStore(), _BACKENDS[id(store)], key, value)
