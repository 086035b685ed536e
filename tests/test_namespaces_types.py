"""Types recorded by import path; types defined in a script or a function still work in the
process that defines them, and the manifest says why no other process can rebuild the chain."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pydantic
import pytest

from nstore import MemoryStore
from nstore.codecs import Msgspec, Pydantic, Zstd
from nstore.errors import SpecError
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent


def test_a_type_defined_in_a_function_works_in_its_process() -> None:
    class Point(msgspec.Struct):
        x: int
        y: int

    class Model(pydantic.BaseModel):
        name: str

    db = Namespaces(MemoryStore[str, bytes]())
    points = db.namespace("points", Msgspec(Point, format="json") | Zstd())
    points["p"] = Point(1, 2)
    assert db.namespace("points", Msgspec(Point, format="json") | Zstd())["p"] == Point(1, 2)
    db.namespace("models", Pydantic(Model))["m"] = Model(name="a")
    manifest = db.manifest("points")
    path = f"{__name__}:test_a_type_defined_in_a_function_works_in_its_process.<locals>.Point"
    assert manifest.local_types == (path,)
    assert manifest.value_type == path
    assert manifest.schema == msgspec.json.schema(Point)
    shown = f"Msgspec({Point.__qualname__}, format='json')"
    assert manifest.chain[0] == {"name": "msgspec", "type": path, "codec": shown}
    assert db.manifest("models").local_types[0].endswith("<locals>.Model")
    with pytest.raises(SpecError, match="defined in a script or inside a function") as info:
        db.open("points")
    assert "PYTHONPATH" in str(info.value)
    # Another format of the same local type is another chain.
    with pytest.raises(Exception, match="another codec chain"):
        db.namespace("points", Msgspec(Point) | Zstd())


SCRIPT = """
import sys
import msgspec
from nstore.codecs import Msgspec
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore


class User(msgspec.Struct):
    name: str


with SQLiteStore(sys.argv[1]) as store:
    db = Namespaces(store)
    users = db.namespace("users", Msgspec(User))
    users[sys.argv[2]] = User(sys.argv[2])
    print(sorted(users))
"""


def test_a_type_defined_in_a_script(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(SCRIPT))
    path = tmp_path / "app.db"
    for name, shown in [("ada", "['ada']"), ("bob", "['ada', 'bob']")]:  # the script runs again
        run = subprocess.run(
            [sys.executable, str(script), str(path), name], capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == shown
    with SQLiteStore(path) as store:
        db = Namespaces(store)
        assert db.manifest("users").local_types == ("__main__:User",)
        with pytest.raises(SpecError, match="'__main__:User' was defined in a script") as info:
            db.open("users")
        assert "Define the type in a module" in str(info.value)
