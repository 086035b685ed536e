"""Namespace migration: re-encoding, progress, conflicts, bad data, and kill -9 midway then resume
or roll back, on a SQLite backing store in a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore._manifest import Migration
from nstore._target import Target
from nstore.codecs import Msgspec, Zlib, Zstd
from nstore.errors import ManifestMismatch, MigrationError, MigrationFailed
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore
from tests import test_namespaces
from tests.namespaces_apis import APIS, namespaces_for, namespaces_over
from tests.test_namespaces import User, UserWithEmail

ROOT = Path(__file__).resolve().parent.parent
OLD = Msgspec(User) | Zstd()
NEW = Msgspec(User, format="json") | Zlib()
USERS = {f"user{i:04d}": User(f"name {i}", i % 90) for i in range(600)}


@pytest.fixture(params=APIS)
def db(request: pytest.FixtureRequest) -> Iterator[Namespaces]:
    with namespaces_for(request.param, request) as db:
        db.namespace("users", OLD).set_many(USERS)
        db.namespace("other", Zlib())["keep"] = b"untouched"
        yield db


def test_migrate_re_encodes_every_value(db: Namespaces) -> None:
    calls: list[tuple[int, int]] = []
    users = db.migrate("users", NEW, progress=lambda done, total: calls.append((done, total)), batch_size=250)
    assert calls == [(0, 600), (250, 600), (500, 600), (600, 600)]
    assert dict(users.items()) == USERS
    manifest = db.manifest("users")
    assert manifest.chain == [
        {"name": "msgspec", "type": "tests.test_namespaces:User", "format": "json"},
        Zlib().spec,
    ]
    assert (manifest.generation, manifest.migration, manifest.retired) == (1, None, ())
    assert not any(k.startswith("users/0/") for k in db.store)
    assert db.store["users/1/user0001"].startswith(b"x")  # zlib now
    assert db.namespace("other", Zlib())["keep"] == b"untouched"
    assert dict(db.namespace("users", NEW).items()) == USERS
    with pytest.raises(ManifestMismatch):
        db.namespace("users", OLD)
    assert db.migrate("users", NEW) is not None  # already there: nothing to do
    assert db.manifest("users").generation == 1


def test_migrate_to_another_type(db: Namespaces, monkeypatch: pytest.MonkeyPatch) -> None:
    # The application's code was edited: the recorded import path now names the new shape, so
    # the recorded chain decodes the old values as that class and the new chain writes them.
    monkeypatch.setattr(test_namespaces, "User", UserWithEmail)
    users = db.migrate("users", Msgspec(UserWithEmail))
    assert users["user0007"] == UserWithEmail("name 7", 7, None)
    assert db.manifest("users").fingerprint == db.manifest("users").target.fingerprint


def test_migrate_between_two_classes_stops_and_loses_nothing(db: Namespaces) -> None:
    # Two classes alive at once: a value of one is not a value of the other, and the new chain
    # refuses it on encode (written, it would be read back as something else).
    with pytest.raises(MigrationError, match=r"Expected a User\. Got tests\.test_namespaces\.User"):
        db.migrate("users", Msgspec(UserWithEmail))
    assert db.manifest("users").migration is None  # a failed migration is not left recorded
    assert dict(db.namespace("users", OLD).items()) == USERS
    # Through a transform, the same change goes through.
    users = db.migrate(
        "users",
        Msgspec(UserWithEmail),
        old_chain=OLD,
        transform=lambda user: UserWithEmail(user.name, user.age, None),
    )
    assert users["user0007"] == UserWithEmail("name 7", 7, None)


def test_migrate_unknown_namespace_and_bad_batch(db: Namespaces) -> None:
    with pytest.raises(Exception, match="No namespace named 'ghost'"):
        db.migrate("ghost", NEW)
    with pytest.raises(ValueError, match="batch_size"):
        db.migrate("users", NEW, batch_size=0)


def test_an_undecodable_value_is_reported_and_nothing_is_switched(db: Namespaces) -> None:
    db.store["users/0/broken"] = b"not zstd"
    before = db.manifest("users")
    with pytest.raises(MigrationFailed, match="Cannot migrate namespace 'users': 1 value") as info:
        db.migrate("users", NEW, batch_size=100)
    assert list(info.value.failures) == ["broken"]
    assert info.value.failures["broken"].startswith("DecodeError: Expected a zstd frame")
    assert "'broken': DecodeError" in str(info.value)
    # Not recorded as in progress: the namespace opens with its old chain, every value there.
    manifest = db.manifest("users")
    assert (manifest.migration, manifest.generation, manifest.chain) == (None, 0, before.chain)
    assert not any(k.startswith("users/1/") for k in db.store)
    assert len(db.namespace("users", OLD)) == 601
    with pytest.raises(MigrationError, match="no migration in progress"):
        db.rollback("users")
    del db.namespace("users", OLD)["broken"]
    assert len(db.migrate("users", NEW)) == 600


def test_a_migration_in_progress_refuses_another_chain(db: Namespaces) -> None:
    manifest = db.manifest("users")
    target = Target.of(NEW)
    state = Migration(
        chain=target.chain, value_type=None, schema=None, fingerprint=None, generation=1, started="now"
    )
    db.store[manifest.key] = manifest.changed(migration=state).to_json()  # as a killed migration leaves it
    with pytest.raises(MigrationError, match="being migrated"):
        db.namespace("users", OLD)
    with pytest.raises(MigrationError, match="another chain"):
        db.migrate("users", Msgspec(User))
    db.rollback("users")
    assert db.manifest("users").migration is None


def test_interrupted_cleanup_is_finished_on_next_open(db: Namespaces) -> None:
    db.migrate("users", NEW)
    manifest = db.manifest("users")
    # The state a crash between the switch and the end of the cleanup leaves behind:
    db.store["users/0/user0001"] = b"left over"
    db.store[manifest.key] = manifest.changed(retired=(0,)).to_json()
    assert dict(db.open("users").items()) == USERS  # readers see only the new generation
    db.namespace("users", NEW)
    assert db.manifest("users").retired == ()
    assert "users/0/user0001" not in db.store


# -- kill -9 midway ---------------------------------------------------------------------------------

CHILD = """
import sys, time
from nstore.codecs import Msgspec, Zlib
from nstore.namespaces import Namespaces
from tests.namespaces_apis import APIS, namespaces_for, namespaces_over
from nstore.stores.sqlite import SQLiteStore
from tests.test_namespaces import User

db = Namespaces(SQLiteStore(sys.argv[1], durability="full"))

def progress(done, total):
    print(done, total, flush=True)
    time.sleep(0.005)

db.migrate("users", Msgspec(User, format="json") | Zlib(), progress=progress, batch_size=40)
print("finished", flush=True)
"""

# The same migration on the async API, SQLite through the adapter's thread pool.
ASYNC_CHILD = """
import asyncio, sys, time
from nstore import AsyncAdapter, AsyncNamespaces
from nstore.codecs import Msgspec, Zlib
from nstore.stores.sqlite import SQLiteStore
from tests.test_namespaces import User

def progress(done, total):
    print(done, total, flush=True)
    time.sleep(0.005)

async def main():
    db = AsyncNamespaces(AsyncAdapter(SQLiteStore(sys.argv[1], durability="full")))
    await db.migrate("users", Msgspec(User, format="json") | Zlib(), progress=progress, batch_size=40)
    print("finished", flush=True)

asyncio.run(main())
"""
CHILDREN = {"sync": CHILD, "async": ASYNC_CHILD}


@pytest.fixture
def on_disk(tmp_path: Path) -> Path:
    path = tmp_path / "ns.db"
    with SQLiteStore(path) as backing:
        db = Namespaces(backing)
        db.namespace("users", OLD).set_many(USERS)
        db.namespace("other", Zlib())["keep"] = b"untouched"
    return path


def kill_midway(tmp_path: Path, path: Path, after: int, source: str = CHILD) -> list[str]:
    """Run the migration script ``source`` and SIGKILL it once ``after`` values are re-encoded."""
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    lines = []
    with subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.strip())
            if line.split()[0] != "finished" and int(line.split()[0]) >= after:
                child.send_signal(signal.SIGKILL)
                break
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, lines
    return lines


@pytest.mark.parametrize("child", ["sync", "async"])
@pytest.mark.parametrize("after", [0, 200, 560])
def test_killed_migration_resumes_with_every_value(
    tmp_path: Path, on_disk: Path, after: int, child: str
) -> None:
    kill_midway(tmp_path, on_disk, after, CHILDREN[child])  # resumed on the sync API either way
    with SQLiteStore(on_disk) as backing:
        db = Namespaces(backing)
        manifest = db.manifest("users")
        assert manifest.migration is not None  # the manifest says the namespace is migrating
        assert manifest.generation == 0
        with pytest.raises(MigrationError):
            db.namespace("users", OLD)
        with pytest.raises(MigrationError):
            db.open("users")
        calls: list[tuple[int, int]] = []
        users = db.migrate("users", NEW, progress=lambda done, total: calls.append((done, total)))
        assert calls[0][0] >= after  # resumed, not restarted
        assert calls[-1] == (600, 600)
        assert dict(users.items()) == USERS
        assert dict(db.open("users").items()) == USERS
        assert sorted(k for k in backing if not k.startswith("users/1/")) == [
            "_nstore/namespaces/other",
            "_nstore/namespaces/users",
            "other/0/keep",
        ]


@pytest.mark.parametrize("api", ["sync", "async"])
def test_killed_migration_rolls_back_with_every_value(tmp_path: Path, on_disk: Path, api: str) -> None:
    kill_midway(tmp_path, on_disk, 120)
    with SQLiteStore(on_disk) as backing, namespaces_over(api) as over:
        db = over(backing)
        db.rollback("users")
        assert dict(db.namespace("users", OLD).items()) == USERS
        assert not any(k.startswith("users/1/") for k in backing)
        assert db.manifest("users").migration is None


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_migration_killed_at_random_moments_always_resumes(tmp_path: Path, on_disk: Path, seed: int) -> None:
    """Kill at any moment, including the switch and the cleanup; migrate again; nothing lost."""
    import random
    import time

    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD).replace("time.sleep(0.005)", "pass"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, str(script), str(on_disk)], stdout=subprocess.DEVNULL, env=env
    ) as child:
        time.sleep(random.Random(seed).uniform(0.3, 1.5))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    with SQLiteStore(on_disk) as backing:
        db = Namespaces(backing)
        assert dict(db.migrate("users", NEW).items()) == USERS
        assert sorted(k for k in backing if not k.startswith("users/1/"))[-1] == "other/0/keep"
        assert len(backing) == 603
