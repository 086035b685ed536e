"""A rolling deploy: v1 and v2 of an application, as two processes against one SQLite file, share a
namespace under full compatibility, race to record their schemas, read each other's values, and v1
can come back after v2; on the sync API, the async one, and one of each."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore

MODELS = {
    "v1": """
        import msgspec

        VERSION = "v1"

        class User(msgspec.Struct):
            name: str
            age: int

        def make(i):
            return User(f"v1 user {i}", i)
    """,
    "v2": """
        import msgspec

        VERSION = "v2"

        class User(msgspec.Struct):
            name: str
            age: int
            email: str | None = None

        def make(i):
            return User(f"v2 user {i}", i, f"u{i}@mail.example")
    """,
    "v3": """
        import msgspec

        VERSION = "v3"

        class User(msgspec.Struct):
            name: str
            age: int | None  # widened: v1 and v2 could not read a None

        def make(i):
            return User(f"v3 user {i}", None)
    """,
}

# Each version writes its values, then waits until it has seen the other version's last one, so
# that both run side by side however the machine schedules them.
APP = """
import json, sys, time
import msgspec
from app_models import VERSION, User, make
from nstore.codecs import Msgspec
from nstore.errors import ManifestMismatch
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore

path, rounds, other = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with SQLiteStore(path) as store:
    db = Namespaces(store)
    try:
        users = db.namespace("users", Msgspec(User), compatibility="full")
    except ManifestMismatch as exc:
        print(json.dumps({"refused": exc.problems}))
        sys.exit(3)
    for i in range(rounds):
        users[f"{VERSION}-{i:03d}"] = make(i)
        users.get_many(list(users))  # reads whatever the other version wrote so far
    deadline = time.monotonic() + 60
    while other and f"{other}-{rounds - 1:03d}" not in users and time.monotonic() < deadline:
        time.sleep(0.01)
    print(json.dumps({k: msgspec.to_builtins(v) for k, v in users.items()}))
"""

# The same application on the async API: AsyncNamespaces over the SQLite file through the adapter.
ASYNC_APP = """
import asyncio, json, sys, time
import msgspec
import nstore
from app_models import VERSION, User, make
from nstore.codecs import Msgspec
from nstore.errors import ManifestMismatch

async def main(path, rounds, other):
    async with nstore.aopen(path) as store:
        db = nstore.AsyncNamespaces(store)
        try:
            users = await db.namespace("users", Msgspec(User), compatibility="full")
        except ManifestMismatch as exc:
            print(json.dumps({"refused": exc.problems}))
            sys.exit(3)
        for i in range(rounds):
            await users.set(f"{VERSION}-{i:03d}", make(i))
            await users.get_many([k async for k in users.iter_keys()])
        deadline = time.monotonic() + 60
        while other and not await users.contains(f"{other}-{rounds - 1:03d}") and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        keys = [k async for k in users.iter_keys()]
        print(json.dumps({k: msgspec.to_builtins(v) for k, v in (await users.get_many(keys)).items()}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""

APPS = {"sync": APP, "async": ASYNC_APP}


def start(
    tmp_path: Path, version: str, rounds: int, api: str = "sync", other: str = ""
) -> subprocess.Popen[str]:
    folder = tmp_path / version
    folder.mkdir(exist_ok=True)
    (folder / "app_models.py").write_text(textwrap.dedent(MODELS[version]))
    (tmp_path / f"{api}_app.py").write_text(textwrap.dedent(APPS[api]))
    return subprocess.Popen(
        [sys.executable, str(tmp_path / f"{api}_app.py"), str(tmp_path / "app.db"), str(rounds), other],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(folder), "PATH": ""},
    )


def finish(process: subprocess.Popen[str], code: int = 0) -> dict[str, object]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    result: dict[str, object] = json.loads(out)
    return result


ROUNDS = 200


@pytest.mark.parametrize(("first", "second"), [("sync", "sync"), ("async", "async"), ("sync", "async")])
def test_two_versions_side_by_side_then_a_rollback(tmp_path: Path, first: str, second: str) -> None:
    rounds = ROUNDS
    v1 = start(tmp_path, "v1", rounds, first, other="v2")
    v2 = start(tmp_path, "v2", rounds, second, other="v1")
    seen_by_v1, seen_by_v2 = finish(v1), finish(v2)
    assert seen_by_v1["v2-007"] == {"name": "v2 user 7", "age": 7}  # v1 ignores the new field
    assert seen_by_v2["v1-007"] == {"name": "v1 user 7", "age": 7, "email": None}
    assert seen_by_v2["v2-007"] == {"name": "v2 user 7", "age": 7, "email": "u7@mail.example"}
    # Both raced to record their schema in the manifest (whichever came first created it): both are.
    with SQLiteStore(tmp_path / "app.db") as store:
        manifest = Namespaces(store).manifest("users")
    assert len(manifest.earlier_schemas) == 1
    assert manifest.fingerprint != manifest.earlier_schemas[0].fingerprint

    # The deploy is rolled back: v1 alone again, reading everything v2 wrote.
    after = finish(start(tmp_path, "v1", 1, first))
    assert len(after) == 2 * rounds
    assert after["v2-199"] == {"name": "v2 user 199", "age": 199}

    # A widening is refused under full: v1 and v2, still deployable, could not read its values.
    refused = finish(start(tmp_path, "v3", 1, second), code=3)["refused"]
    assert isinstance(refused, list)
    assert refused[0].startswith("code recorded before cannot read new values: $.age: changed from")
