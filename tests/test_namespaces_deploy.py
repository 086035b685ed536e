"""A rolling deploy: v1 and v2 of an application, as two processes against one SQLite file, share a
namespace under full compatibility, read each other's values, and v1 can come back after v2."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

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

APP = """
import json, sys
import msgspec
from app_models import VERSION, User, make
from nstore.codecs import Msgspec
from nstore.errors import ManifestMismatch
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore

with SQLiteStore(sys.argv[1]) as store:
    db = Namespaces(store)
    try:
        users = db.namespace("users", Msgspec(User), compatibility="full")
    except ManifestMismatch as exc:
        print(json.dumps({"refused": exc.problems}))
        sys.exit(3)
    for i in range(int(sys.argv[2])):
        users[f"{VERSION}-{i:03d}"] = make(i)
        users.get_many(list(users))  # reads whatever the other version wrote so far
    print(json.dumps({k: msgspec.to_builtins(v) for k, v in users.items()}))
"""


def start(tmp_path: Path, version: str, rounds: int) -> subprocess.Popen[str]:
    folder = tmp_path / version
    folder.mkdir(exist_ok=True)
    (folder / "app_models.py").write_text(textwrap.dedent(MODELS[version]))
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "app.py"), str(tmp_path / "app.db"), str(rounds)],
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


def test_two_versions_side_by_side_then_a_rollback(tmp_path: Path) -> None:
    rounds = ROUNDS
    v1, v2 = start(tmp_path, "v1", rounds), start(tmp_path, "v2", rounds)
    seen_by_v1, seen_by_v2 = finish(v1), finish(v2)
    assert seen_by_v1["v2-007"] == {"name": "v2 user 7", "age": 7}  # v1 ignores the new field
    assert seen_by_v2["v1-007"] == {"name": "v1 user 7", "age": 7, "email": None}
    assert seen_by_v2["v2-007"] == {"name": "v2 user 7", "age": 7, "email": "u7@mail.example"}

    # The deploy is rolled back: v1 alone again, reading everything v2 wrote.
    after = finish(start(tmp_path, "v1", 1))
    assert len(after) == 2 * rounds
    assert after["v2-199"] == {"name": "v2 user 199", "age": 199}

    # A widening is refused under full: v1 and v2, still deployable, could not read its values.
    refused = finish(start(tmp_path, "v3", 1), code=3)["refused"]
    assert isinstance(refused, list)
    assert refused[0].startswith("code recorded before cannot read new values: $.age: changed from")
