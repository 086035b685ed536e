"""Migration keeps each value's expiry: a value set with a ttl expires when it would have, a value
without one never does, and a value that expired during the migration is not written again; for
both APIs, over MemoryStore and SQLiteStore. A store without expiry migrates as before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore import FileStore, SQLiteStore
from nstore.codecs import Utf8, Zlib
from nstore.errors import MissingKey
from nstore.namespaces import Namespaces
from tests.namespaces_apis import namespaces_for, namespaces_over


@pytest.fixture(params=["sync-memory", "sync-sqlite", "async-memory", "async-sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Namespaces]:
    if request.param == "sync-sqlite":
        store = SQLiteStore(tmp_path / "ns.db")
        yield Namespaces(store)
        store.close()
        return
    api = {"sync-memory": "sync", "async-memory": "amemory", "async-sqlite": "asqlite"}[request.param]
    with namespaces_for(api, request) as made:
        yield made


def slowly(value: str) -> str:
    """A transform that takes 0.2 s a value, so that short ttls run out during the migration."""
    time.sleep(0.2)
    return value


def test_migrate_keeps_each_values_time_to_live(db: Namespaces) -> None:
    sessions = db.namespace("sessions", Utf8())
    sessions.set_many({f"timed{i}": f"token {i}" for i in range(5)}, ttl=60)
    sessions.set("long", "kept", ttl=3600)
    sessions.set_many({f"forever{i}": f"value {i}" for i in range(5)})
    sessions = db.migrate("sessions", Utf8() | Zlib(), batch_size=3)  # batches mix both kinds
    assert sorted(sessions.iter_keys()) == sorted(
        [*(f"timed{i}" for i in range(5)), "long", *(f"forever{i}" for i in range(5))]
    )
    for i in range(5):
        assert sessions[f"timed{i}"] == f"token {i}"
        left = sessions.ttl(f"timed{i}")
        assert left is not None
        assert 50 < left <= 60
        assert sessions.ttl(f"forever{i}") is None
    left = sessions.ttl("long")
    assert left is not None
    assert 3500 < left <= 3600
    assert db.store[f"sessions/1/{'timed0'}"].startswith(b"x")  # written by the new chain


def test_migrate_does_not_bring_back_a_value_that_expired_meanwhile(db: Namespaces) -> None:
    sessions = db.namespace("sessions", Utf8())
    sessions.set("short", "gone", ttl=0.3)  # read alive, and expired before its batch is written
    sessions.set("later", "also gone", ttl=0.3)
    sessions.set("kept", "value")
    sessions = db.migrate("sessions", Utf8() | Zlib(), transform=slowly, old_chain=Utf8())
    assert sorted(sessions.iter_keys()) == ["kept"]
    for key in ("short", "later"):
        with pytest.raises(MissingKey):
            sessions[key]
    time.sleep(0.4)  # not written with a ttl of its own either
    assert sorted(sessions.iter_keys()) == ["kept"]
    assert not any(key.endswith(("short", "later")) for key in db.store.iter_keys())


@pytest.mark.parametrize("api", ["sync", "async"])
def test_migrate_over_a_store_without_expiry_keeps_every_value(api: str, tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    with namespaces_over(api) as over:
        db = over(store)
        notes = db.namespace("notes", Utf8())
        notes.set_many({f"n{i}": f"note {i}" for i in range(7)})
        notes = db.migrate("notes", Utf8() | Zlib(), batch_size=3)
        assert dict(notes.items()) == {f"n{i}": f"note {i}" for i in range(7)}
        assert notes.ttl("n0") is None
