"""nstore namespaces, inspect and migrate, on namespaces written by the Python API."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import msgspec

from nstore._cli._records import RecordModel, RecordStruct, fields
from nstore.codecs import Msgspec, Pydantic, Utf8, Zstd, schema_fingerprint
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore

STRUCT = "nstore._cli._records:RecordStruct"
JSON_CHAIN = json.dumps([{"name": "msgspec", "type": STRUCT, "format": "json"}])


class Local(msgspec.Struct):
    """A type the nstore process cannot import (the tests package is not on its path)."""

    x: int


def _fill(path: Path, users: int = 3) -> None:
    with SQLiteStore(path) as store:
        db = Namespaces(store)
        db.namespace("users", Msgspec(RecordStruct) | Zstd()).set_many(
            {f"u{i:05d}": RecordStruct(**fields(i)) for i in range(users)}
        )
        db.namespace("models", Pydantic(RecordModel))["m"] = RecordModel(**fields(7))
        db.namespace("notes", Utf8())["today"] = "write docs"
        db.namespace("local", Msgspec(Local))["x"] = Local(1)


def test_namespaces_lists_manifests(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    lines = nstore.ok("namespaces", "app.db").text.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "FINGERPRINT", "CHAIN"]
    assert [line.split()[0] for line in lines[1:]] == ["local", "models", "notes", "users"]
    users = lines[4].split(maxsplit=3)
    assert users[:2] == ["users", STRUCT]
    assert users[3] == f"msgspec(format=msgpack, type={STRUCT}) | zstd(level=3)"
    manifests = json.loads(nstore.ok("namespaces", "app.db", "--json").out)
    assert [m["name"] for m in manifests] == ["local", "models", "notes", "users"]
    assert manifests[3]["fingerprint"] == schema_fingerprint(Msgspec(RecordStruct).schema())
    assert manifests[2]["chain"] == [{"name": "utf8"}]


def test_a_store_without_namespaces(nstore: NStore, tmp_path: Path) -> None:
    nstore.ok("put", "plain.db", "k", input=b"v")
    assert nstore.ok("namespaces", "plain.db").out == b""
    assert json.loads(nstore.ok("namespaces", "plain.db", "--json").out) == []


def test_inspect_a_manifest(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db", users=12)
    text = nstore.ok("inspect", "app.db", "users").text
    assert text.startswith(
        f"namespace    users\nkeys         12\nvalue type   {STRUCT}\n"
        f"chain        msgspec(format=msgpack, type={STRUCT}) | zstd(level=3)\n"
    )
    assert '"RecordStruct"' in text  # the schema
    data = json.loads(nstore.ok("inspect", "app.db", "users", "--json").out)
    assert (data["keys"], data["generation"], data["value_type"]) == (12, 0, STRUCT)
    assert data["schema"] == json.loads(json.dumps(Msgspec(RecordStruct).schema()))


def test_inspect_decodes_values_to_json(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    expected = json.loads(msgspec.json.encode(RecordStruct(**fields(2))))
    assert json.loads(nstore.ok("inspect", "app.db", "users", "u00002").out) == expected
    model = RecordModel(**fields(7)).model_dump(mode="json")
    assert json.loads(nstore.ok("inspect", "app.db", "models", "m").out) == model
    assert json.loads(nstore.ok("inspect", "app.db", "notes", "today").out) == "write docs"


def test_inspect_errors(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    assert nstore.fails(1, "inspect", "app.db", "nope") == (
        "nstore inspect: not found: namespace 'nope' (namespaces: local, models, notes, users)"
    )
    missing = nstore.fails(1, "inspect", "app.db", "users", "nobody")
    assert missing == "nstore inspect: not found: key 'nobody'"
    line = nstore.fails(4, "inspect", "app.db", "local", "x")
    assert line.startswith("nstore inspect: cannot decode namespace 'local': Cannot import ")
    bad_name = nstore.fails(2, "inspect", "app.db", "../etc")
    assert bad_name.startswith("nstore inspect: Expected a namespace name")


def test_migrate_with_a_json_summary(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db", users=50)
    summary = json.loads(nstore.ok("migrate", "app.db", "users", "--to", JSON_CHAIN, "--json").out)
    assert (summary["values"], summary["generation"]) == (50, 1)
    assert summary["to"] == [{"name": "msgspec", "type": STRUCT, "format": "json"}]
    with SQLiteStore(tmp_path / "app.db") as store:
        users = Namespaces(store).namespace("users", Msgspec(RecordStruct, format="json"))
        assert users["u00049"] == RecordStruct(**fields(49))
        assert store["users/1/u00003"] == msgspec.json.encode(RecordStruct(**fields(3)))
    (tmp_path / "chain.json").write_text(json.dumps({"name": "msgspec", "type": STRUCT}))
    result = nstore.ok("migrate", "app.db", "users", "--to", "@chain.json")
    assert result.err.startswith(
        f"migrated 50 values of namespace 'users' from msgspec(format=json, type={STRUCT}) "
        f"to msgspec(format=msgpack, type={STRUCT}) in "
    )


def test_migrate_errors(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    assert nstore.fails(2, "migrate", "app.db", "users", "--to", '{"name": "bogus"}').startswith(
        "nstore migrate: Unknown codec 'bogus'. Known codecs: "
    )
    assert nstore.fails(2, "migrate", "app.db", "users", "--to", "{oops").startswith(
        "nstore migrate: expected a JSON codec spec for --to: "
    )
    assert nstore.fails(2, "migrate", "app.db", "users", "--to", "@missing.json") == (
        "nstore migrate: cannot read missing.json: No such file or directory"
    )
    assert nstore.fails(1, "migrate", "app.db", "ghosts", "--to", JSON_CHAIN).startswith(
        "nstore migrate: not found: namespace 'ghosts'"
    )
    assert nstore.fails(2, "migrate", "app.db", "users").startswith(
        "nstore migrate: error: one of the arguments --to --rollback is required"
    )


def _interrupt_migration(nstore: NStore, tmp_path: Path, sig: signal.Signals) -> None:
    with SQLiteStore(tmp_path / "app.db") as store:

        def started() -> bool:  # the first re-encoded values are in the next generation
            return any(True for _ in store.iter_keys("users/1/"))

        args = ["migrate", "app.db", "users", "--to", JSON_CHAIN, "--batch-size", "10"]
        code, _, err = nstore.interrupt_when(started, sig, *args)
    if sig == signal.SIGINT:
        assert code == 130
        assert err.decode().startswith("nstore migrate: interrupted after ")
    else:
        assert code == -signal.SIGKILL


def test_an_interrupted_migration_rolls_back_or_resumes(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db", users=5000)
    _interrupt_migration(nstore, tmp_path, signal.SIGINT)
    assert "users (migrating)" in nstore.ok("namespaces", "app.db").text
    line = nstore.fails(4, "inspect", "app.db", "users", "u00001")
    assert line.startswith("nstore inspect: Namespace 'users' is being migrated")
    assert line.endswith("'--rollback' undoes.)")
    nstore.ok("migrate", "app.db", "users", "--rollback")
    assert json.loads(nstore.ok("inspect", "app.db", "users", "u00001").out)["id"] == 1

    _interrupt_migration(nstore, tmp_path, signal.SIGKILL)
    summary = json.loads(nstore.ok("migrate", "app.db", "users", "--to", JSON_CHAIN, "--json").out)
    assert (summary["values"], summary["generation"]) == (5000, 1)
    with SQLiteStore(tmp_path / "app.db") as store:
        users = Namespaces(store).namespace("users", Msgspec(RecordStruct, format="json"))
        assert len(users) == 5000
        assert users.get_many([f"u{i:05d}" for i in range(5000)]) == {
            f"u{i:05d}": RecordStruct(**fields(i)) for i in range(5000)
        }


def test_a_copied_store_keeps_its_namespaces(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    nstore.ok("copy", "app.db", "files", "-q")
    assert nstore.ok("namespaces", "files").text == nstore.ok("namespaces", "app.db").text
    assert json.loads(nstore.ok("inspect", "files", "users", "u00001").out)["id"] == 1


def test_a_chain_mismatch_is_a_readable_diff_or_json(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    result = nstore("inspect", "app.db", "users", "--check", JSON_CHAIN)
    assert result.code == 4
    lines = result.error_lines
    assert lines[0] == (
        "nstore inspect: Namespace 'users' was recorded with another codec chain. Open it with the "
        "recorded chain, or re-encode it with migrate('users', new_chain)."
    )
    assert lines[1:3] == ["  --- recorded", "  +++ requested"]
    assert '  +      "format": "json",' in lines
    data = json.loads(nstore("inspect", "app.db", "users", "--check", JSON_CHAIN, "--json").out)
    assert (data["error"], data["namespace"]) == ("ManifestMismatch", "users")
    assert data["problems"] == ["the codec chain (or the value type) differs from the recorded one"]
    assert data["requested"]["chain"] == json.loads(JSON_CHAIN)
    assert data["recorded"]["chain"][1] == {"name": "zstd", "level": 3}
    recorded = json.dumps([{"name": "msgspec", "type": STRUCT}, {"name": "zstd"}])
    assert nstore.ok("inspect", "app.db", "users", "--check", recorded).text == (
        "compatible: the chain may open namespace 'users' under 'backward' (its schema is recorded already)\n"
    )


def test_a_schema_mismatch_lists_each_problem(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    with SQLiteStore(tmp_path / "app.db") as store:
        key = "_nstore/namespaces/users"
        data = json.loads(store[key])
        record = data["schema"]["$defs"]["RecordStruct"]
        del record["properties"]["id"]
        record["required"].remove("id")
        data["fingerprint"] = schema_fingerprint(data["schema"])
        store[key] = json.dumps(data).encode()  # as if values were written before the field existed
    result = nstore("inspect", "app.db", "users", "u00001")
    assert result.code == 4
    assert result.error_lines[:3] == [
        "nstore inspect: Namespace 'users' (compatibility 'backward') holds values of a schema that "
        "the requested type cannot take:",
        "    new code cannot read values written before: $.id: new and required (values written before "
        "lack it); give it a default",
        "  Keep the change within what 'backward' allows (see the table in docs/namespaces.md), or "
        "migrate('users', new_chain, transform=...) to the new type.",
    ]
    assert "  --- recorded" in result.error_lines
    data = json.loads(nstore("inspect", "app.db", "users", "u00001", "--json").out)
    assert data["problems"][0].endswith(
        "$.id: new and required (values written before lack it); give it a default"
    )
    assert "id" in data["requested"]["schema"]["$defs"]["RecordStruct"]["properties"]


def test_a_corrupt_manifest_is_named_not_a_traceback(nstore: NStore, tmp_path: Path) -> None:
    _fill(tmp_path / "app.db")
    with SQLiteStore(tmp_path / "app.db") as store:
        data = json.loads(store["_nstore/namespaces/users"])
        store["_nstore/namespaces/users"] = json.dumps({**data, "generation": "1", "migration": []}).encode()
    for args in [
        ("inspect", "app.db", "users"),
        ("namespaces", "app.db"),
        ("migrate", "app.db", "users", "--rollback"),
    ]:
        line = nstore.fails(3, *args)
        assert line.startswith(
            f"nstore {args[0]}: not a readable store: The manifest of namespace 'users' is not a valid "
            "nstore manifest: field 'generation': Expected `int`, got `str`"
        )


def test_types_no_other_process_can_import(nstore: NStore, tmp_path: Path) -> None:
    class Point(msgspec.Struct):
        x: int

    _fill(tmp_path / "app.db")
    with SQLiteStore(tmp_path / "app.db") as store:
        Namespaces(store).namespace("points", Msgspec(Point))["p"] = Point(1)
    text = nstore.ok("inspect", "app.db", "points").text
    assert "portable     no: The chain's type 'tests.cli.test_namespaces:test_types_no_other" in text
    line = nstore.fails(4, "inspect", "app.db", "points", "p")
    assert "was defined in a script or inside a function" in line
    assert "Define the type in a module and put the module's directory on PYTHONPATH" in line
    line = nstore.fails(4, "inspect", "app.db", "local", "x")
    assert line.endswith("put the directory of the module that defines them on PYTHONPATH, or install it.")
