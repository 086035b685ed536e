"""Per-key expiry through namespaces: a namespace is a typed view, so a ttl goes down to the
store's own expiry, for both APIs; a store without expiry refuses it before anything is written."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from nstore import AsyncMemoryStore, AsyncNamespaces, FileStore, MemoryStore, Namespaces, SQLiteStore, Store
from nstore.codecs import Utf8
from nstore.errors import MissingKey, UnsupportedOperation


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Store[str, bytes]:
    if request.param == "memory":
        return MemoryStore[str, bytes]()
    return SQLiteStore(tmp_path / "ns.db")


def test_a_namespace_passes_ttl_down(backend: Store[str, bytes]) -> None:
    sessions = Namespaces(backend).namespace("sessions", Utf8())
    assert sessions.supports_ttl
    sessions.set("long", "kept", ttl=600)
    sessions.set_many({"a": "1", "b": "2"}, ttl=0.3)
    [below] = [k for k in backend.iter_keys() if k.endswith("long")]
    left = backend.ttl(below)
    assert left is not None
    assert 540 < left <= 600
    sessions.touch("long", ttl=None)
    assert sessions.ttl("long") is None
    time.sleep(0.7)
    assert sorted(sessions.iter_keys()) == ["long"]
    with pytest.raises(MissingKey):
        sessions["a"]
    backend.close()


def test_a_namespace_over_files_refuses_a_ttl(tmp_path: Path) -> None:
    notes = Namespaces(FileStore(tmp_path)).namespace("notes", Utf8())
    assert not notes.supports_ttl
    with pytest.raises(UnsupportedOperation):
        notes.set("a", "x", ttl=5)
    assert "a" not in notes


def test_an_async_namespace_passes_ttl_down() -> None:
    async def main() -> None:
        below = AsyncMemoryStore[str, bytes]()
        sessions = await AsyncNamespaces(below).namespace("sessions", Utf8())
        await sessions.set("short", "gone", ttl=0.3)
        await sessions.set("long", "kept", ttl=600)
        left = await sessions.ttl("long")
        assert left is not None
        assert 540 < left <= 600
        await asyncio.sleep(0.7)
        assert not await sessions.contains("short")
        assert [k async for k in sessions.iter_keys()] == ["long"]

    asyncio.run(main())
