"""FileStore joins the StoreTests suite, durable and not; its ground truth is the files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore import Store
from nstore.stores.file import FileStore
from tests.stores.base import StoreTests


class _FileStoreTests(StoreTests):
    durable = True

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store[str, bytes]]:
        with FileStore(tmp_path / "root", durable=self.durable) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        path = file_path(store, key)
        return path.read_bytes() if path.is_file() else None

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        path = file_path(store, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)


def file_path(store: Store[str, bytes], key: str) -> Path:
    """Where the value of ``key`` lives: every directory name ends in a backslash."""
    assert isinstance(store, FileStore)
    *dirs, name = key.split("/")
    return store.root.joinpath(*(d + "\\" for d in dirs), name)


class TestDurableFileStore(_FileStoreTests):
    durable = True


class TestFastFileStore(_FileStoreTests):
    durable = False
