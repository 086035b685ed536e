"""FileStore has no per-key expiry, says so, and a refused ttl changes nothing on disk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

import nstore
from nstore.codecs import Prefix
from nstore.errors import ConfigurationError, UnsupportedOperation
from nstore.stores._adapter import AsyncAdapter
from nstore.stores._paths import LOCK_NAME
from nstore.stores.file import FileStore


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_ttl_is_refused_with_what_to_use_instead(tmp_path: Path) -> None:
    with FileStore(tmp_path) as store:
        assert store.supports_ttl is False
        store.set("dir/k", b"old")
        before = _files(tmp_path)
        refused: list[Callable[[], object]] = [
            lambda: store.set("dir/k", b"new", ttl=5),
            lambda: store.set("dir/fresh", b"new", ttl=5),
            lambda: store.set_many({"dir/k": b"new", "other": b"new"}, ttl=5),
            lambda: store.touch("dir/k", ttl=5),
            lambda: store.touch("dir/k", ttl=None),
            lambda: store.touch("absent", ttl=5),
            lambda: store.with_keys(Prefix("dir/")).set("k", b"new", ttl=5),
        ]
        for call in refused:
            with pytest.raises(UnsupportedOperation, match="SQLiteStore") as caught:
                call()
            assert "no place for a deadline" in str(caught.value)
            assert str(tmp_path) not in str(caught.value)  # no path in a message
        assert _files(tmp_path) == before
        assert store.ttl("dir/k") is None  # present, never expires


def test_the_files_hold_the_values_alone(tmp_path: Path) -> None:
    with FileStore(tmp_path) as store:
        store.set("a/b", b"value")
        store.set_many({"c": b"other"}, ttl=None)
    # the lock file is empty; every other file is a key's value, byte for byte
    assert _files(tmp_path) == {"a\\/b": b"value", "c": b"other", LOCK_NAME: b""}


def test_a_read_only_store_refuses_a_ttl_as_unsupported(tmp_path: Path) -> None:
    FileStore(tmp_path).close()
    with FileStore(tmp_path, read_only=True) as store, pytest.raises(UnsupportedOperation):
        store.set("k", b"v", ttl=5)


def test_the_url_takes_no_ttl(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Unknown option 'ttl' for a file store"):
        nstore.open(f"file://{tmp_path}?ttl=5")


def test_the_async_adapter_refuses_a_ttl_too(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncAdapter(FileStore(tmp_path)) as store:
            assert store.supports_ttl is False
            with pytest.raises(UnsupportedOperation, match="SQLiteStore"):
                await store.set("k", b"v", ttl=5)
            with pytest.raises(UnsupportedOperation, match="SQLiteStore"):
                await store.set_many({"k": b"v"}, ttl=5)
            with pytest.raises(UnsupportedOperation, match="SQLiteStore"):
                await store.touch("k", ttl=5)

    asyncio.run(main())
    assert set(_files(tmp_path)) <= {LOCK_NAME}
