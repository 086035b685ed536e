"""Manifests are validated records: hand edits that are malformed or contradict the manifest's own
records raise CorruptManifest naming the field, and never delete or hide values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from nstore import MemoryStore
from nstore._manifest import decode_manifest
from nstore.codecs import Msgspec, Utf8, Zlib
from nstore.errors import CorruptManifest, CorruptStore, NamespaceError
from nstore.namespaces import Namespaces
from tests.namespaces_apis import APIS, namespaces_for
from tests.test_namespaces import User

KEY = "_nstore/namespaces/users"


@pytest.fixture(params=APIS)
def db(request: pytest.FixtureRequest) -> Iterator[Namespaces]:
    with namespaces_for(request.param, request) as db:
        db.namespace("users", Msgspec(User)).set_many({"ada": User("Ada", 36), "bob": User("Bob", 40)})
        yield db


def edit(db: Namespaces, key: str = KEY, **fields: Any) -> None:
    data = json.loads(db.store[key])
    data.update(fields)
    db.store[key] = json.dumps(data).encode()


def values(db: Namespaces) -> list[str]:
    return sorted(k for k in db.store if not k.startswith("_nstore/"))


@pytest.mark.parametrize("retired", [[0], ["0"]])
def test_a_retired_list_naming_the_live_generation_deletes_nothing(
    db: Namespaces, retired: list[Any]
) -> None:
    edit(db, retired=retired)
    with pytest.raises(CorruptManifest, match=r"field 'retired\[0\]'") as info:
        db.namespace("users", Msgspec(User))
    assert (info.value.namespace, info.value.field) == ("users", "retired[0]")
    assert values(db) == ["users/0/ada", "users/0/bob"]


def test_a_name_that_differs_from_its_key_cannot_overwrite_another_manifest(db: Namespaces) -> None:
    db.namespace("other", Utf8())["x"] = "mine"
    other = db.store["_nstore/namespaces/other"]
    edit(db, name="other")
    with pytest.raises(CorruptManifest, match="it names namespace 'other', but is the manifest of 'users'"):
        db.namespace("users", Msgspec(User) | Zlib())
    with pytest.raises(CorruptManifest) as info:
        db.migrate("users", Msgspec(User, format="json"))
    assert info.value.field == "name"
    assert db.store["_nstore/namespaces/other"] == other


@pytest.mark.parametrize(
    ("fields", "field", "shown"),
    [
        ({"chain": "msgspec"}, "chain", "Expected `array`, got `str`"),
        ({"generation": "0"}, "generation", "Expected `int`, got `str`"),
        ({"migration": 5}, "migration", "Expected `object | null`, got `int`"),
        ({"retired": {"0": 1}}, "retired", "Expected `array`, got `object`"),
        ({"compatibility": "sideways"}, "compatibility", "Invalid enum value 'sideways'"),
        ({"schema": {"type": "string"}}, "fingerprint", "is not the fingerprint of the recorded schema"),
        ({"format": 9}, "format", "expected format 1 or 2, got 9"),
        ({"extra": 1}, "extra", "unknown field `extra`"),
    ],
)
def test_wrong_typed_fields_are_named(db: Namespaces, fields: dict[str, Any], field: str, shown: str) -> None:
    edit(db, **fields)
    with pytest.raises(CorruptManifest) as info:
        db.manifest("users")
    assert info.value.field == field
    assert shown in str(info.value)
    assert f"field {field!r}" in str(info.value)


def test_a_missing_field_is_named(db: Namespaces) -> None:
    data = json.loads(db.store[KEY])
    del data["chain"]
    db.store[KEY] = json.dumps(data).encode()
    with pytest.raises(CorruptManifest, match="missing required field `chain`") as info:
        db.namespace("users", Msgspec(User))
    assert info.value.field == "chain"


def test_a_generation_without_a_record_does_not_hide_the_values(db: Namespaces) -> None:
    edit(db, generation=7)
    with pytest.raises(CorruptManifest, match="7 is not the live generation") as info:
        db.namespace("users", Msgspec(User))
    assert info.value.field == "generation"
    with pytest.raises(CorruptManifest):
        db.open("users")
    assert values(db) == ["users/0/ada", "users/0/bob"]


def test_a_migration_must_target_a_new_generation(db: Namespaces) -> None:
    db.migrate("users", Msgspec(User, format="json"))  # generation 1 now; 0 retired and removed
    state = {"generation": 1, "chain": [], "value_type": None, "schema": None, "fingerprint": None}
    edit(db, migration={**state, "started": "2026-12-01T10:00:00+00:00"})
    with pytest.raises(CorruptManifest, match="a migration must write a new generation") as info:
        db.rollback("users")  # would delete the live values
    assert info.value.field == "migration.generation"
    assert values(db) == ["users/1/ada", "users/1/bob"]


def test_not_json_is_a_corrupt_manifest_and_a_corrupt_store(db: Namespaces) -> None:
    db.store[KEY] = b"{not json"
    with pytest.raises(CorruptManifest, match="it is not JSON") as info:
        db.manifest("users")
    assert isinstance(info.value, CorruptStore)
    assert isinstance(info.value, NamespaceError)
    assert info.value.field == "$"


FORMAT_ONE = {
    "format": 1,
    "name": "users",
    "chain": [{"name": "utf8"}],
    "value_type": None,
    "schema": None,
    "fingerprint": None,
    "generation": 2,
    "migration": None,
    "retired": [1],
    "created": "2026-11-28T01:14:24+00:00",
    "updated": "2026-11-28T01:20:00+00:00",
}


def test_format_one_manifests_are_read_with_their_generations_made_explicit() -> None:
    manifest = decode_manifest("users", json.dumps(FORMAT_ONE).encode())
    assert (manifest.generation, manifest.retired, manifest.compatibility) == (2, (1,), "backward")
    assert [(g.generation, g.retired) for g in manifest.generations] == [
        (1, "2026-11-28T01:20:00+00:00"),
        (2, None),
    ]
    db = Namespaces(MemoryStore[str, bytes]())
    db.store[KEY] = json.dumps(FORMAT_ONE).encode()
    db.store["users/1/old"] = b"left over"
    db.store["users/2/new"] = b"kept"
    assert dict(db.namespace("users", Utf8()).items()) == {"new": "kept"}
    assert sorted(db.store) == [KEY, "users/2/new"]  # the retired generation removed
    assert json.loads(db.store[KEY])["format"] == 2


@pytest.mark.parametrize("retired", [[2], [3], [-1]])
def test_format_one_retired_generations_must_have_been_replaced(retired: list[int]) -> None:
    with pytest.raises(CorruptManifest, match="was never replaced") as info:
        decode_manifest("users", json.dumps({**FORMAT_ONE, "retired": retired}).encode())
    assert info.value.field == "retired[0]"
