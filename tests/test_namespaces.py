"""Namespaces: prefixes, manifests, chain and schema checks, compatible evolution, untyped opening."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pydantic
import pytest

from nstore import AsyncNamespaces, MemoryStore, Store
from nstore._compat import Mode
from nstore._target import Target
from nstore.codecs import Base64, Codec, Msgspec, Pickle, Pydantic, Utf8, Zlib, Zstd
from nstore.errors import (
    ConfigurationError,
    CorruptStore,
    InvalidKey,
    ManifestMismatch,
    NamespaceError,
    SpecError,
)
from nstore.namespaces import Manifest, Namespaces
from nstore.stores.sqlite import SQLiteStore
from nstore.wrappers import LoggingStore
from tests.namespaces_apis import APIS, namespaces_for, namespaces_over


class User(msgspec.Struct):
    """The recorded shape of a user."""

    name: str
    age: int


class Account(pydantic.BaseModel):
    id: int
    owner: str


class Session(msgspec.Struct):
    token: str


# The same import paths with another shape, as after an edit of the application's code.
UserWithEmail = msgspec.defstruct(
    "User", [("name", str), ("age", int), ("email", str | None, None)], module=__name__
)
UserAgeAsText = msgspec.defstruct("User", [("name", str), ("age", str)], module=__name__)
UserEmailRequired = msgspec.defstruct("User", [("name", str), ("age", int), ("email", str)], module=__name__)
UserWithoutAge = msgspec.defstruct("User", [("name", str)], module=__name__)
AccountWithNote = pydantic.create_model(
    "Account", __module__=__name__, id=(int, ...), owner=(str, ...), note=(str | None, None)
)
AccountIdAsText = pydantic.create_model("Account", __module__=__name__, id=(str, ...), owner=(str, ...))


@pytest.fixture(params=APIS)
def db(request: pytest.FixtureRequest) -> Iterator[Namespaces]:
    with namespaces_for(request.param, request) as db:
        yield db


Over = Callable[[Store[str, bytes]], Namespaces]


@pytest.fixture(params=["sync", "async"])
def over(request: pytest.FixtureRequest) -> Iterator[Over]:
    """Namespaces over a sync store the test makes: directly, or async through AsyncAdapter."""
    with namespaces_over(request.param) as over:
        yield over


def test_typed_namespaces_share_one_store(db: Namespaces) -> None:
    users = db.namespace("users", Msgspec(User) | Zstd())
    sessions = db.namespace("sessions", Pickle(Session), trusted=True)  # unsigned pickle, remote or not
    users["ada"] = User("Ada", 36)
    sessions["s1"] = Session("t0k")
    assert users["ada"] == User("Ada", 36)
    assert sessions["s1"] == Session("t0k")
    assert list(users) == ["ada"]
    assert list(sessions) == ["s1"]
    assert sorted(db.store) == [
        "_nstore/namespaces/sessions",
        "_nstore/namespaces/users",
        "sessions/0/s1",
        "users/0/ada",
    ]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_listing_a_namespace_lists_only_its_prefix(over: Over) -> None:
    backing = MemoryStore[str, bytes]()
    logger = logging.getLogger("tests.namespaces.listing")
    logger.setLevel(logging.DEBUG)
    handler = _Collect()
    records = handler.records
    logger.addHandler(handler)
    try:
        db = over(LoggingStore(backing, logger))
        users = db.namespace("users", Utf8())
        db.namespace("users2", Utf8())["x"] = "other"
        users["a"] = "1"
        records.clear()
        assert list(users) == ["a"]
        assert sorted(users.keys(prefix="a")) == ["a"]
    finally:
        logger.removeHandler(handler)
    listings = [r.__dict__["key"] for r in records if r.__dict__["operation"] == "list"]
    assert listings  # the backing store lists only this namespace's prefix
    assert all(prefix.startswith("users/0/") for prefix in listings)


def test_listing_is_served_by_the_backing_store_prefix(tmp_path: Path, over: Over) -> None:
    with SQLiteStore(tmp_path / "ns.db") as backing:
        db = over(backing)
        notes = db.namespace("notes", Utf8() | Zlib())
        notes.set_many({f"n{i}": "x" * i for i in range(50)})
        db.namespace("other", Utf8())["n1"] = "not a note"
        assert notes.supports_prefix_listing
        assert sorted(notes) == sorted(f"n{i}" for i in range(50))
        assert notes.get_many(["n3", "n99"]) == {"n3": "xxx"}


def test_manifest_records_chain_type_and_schema(db: Namespaces) -> None:
    db.namespace("users", Msgspec(User) | Zstd(level=5))
    manifest = db.manifest("users")
    assert manifest.chain == [
        {"name": "msgspec", "type": "tests.test_namespaces:User", "format": "msgpack"},
        {"name": "zstd", "level": 5},
    ]
    assert manifest.value_type == "tests.test_namespaces:User"
    assert manifest.schema == json.loads(json.dumps(Msgspec(User).schema()))
    assert manifest.fingerprint is not None
    assert (manifest.generation, manifest.migration, manifest.retired) == (0, None, ())
    stored = json.loads(db.store["_nstore/namespaces/users"])
    assert stored["schema"]["$defs"]["User"]["properties"]["age"] == {"type": "integer"}
    assert stored["format"] == 2
    assert list(db.namespaces()) == ["users"]
    assert db.namespaces()["users"] == manifest


def test_untyped_codecs_record_no_schema(db: Namespaces) -> None:
    db.namespace("blobs", Zlib())
    manifest = db.manifest("blobs")
    assert (manifest.value_type, manifest.schema, manifest.fingerprint) == (None, None, None)
    assert manifest.chain == [Zlib().spec]


# -- mismatches ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "shown"),
    [
        (Msgspec(User) | Zlib(), '+      "name": "zlib"'),
        (Msgspec(User), '-      "level": 3,'),
        (Msgspec(User, format="json") | Zstd(), '+      "format": "json",'),
        (Msgspec(Session) | Zstd(), '+  "value_type": "tests.test_namespaces:Session"'),
    ],
)
def test_another_chain_is_refused_with_a_diff(
    db: Namespaces, requested: Codec[object, bytes], shown: str
) -> None:
    users = db.namespace("users", Msgspec(User) | Zstd())
    users["ada"] = User("Ada", 36)
    with pytest.raises(ManifestMismatch) as info:
        db.namespace("users", requested)
    message = str(info.value)
    assert "recorded with another codec chain" in message
    assert "--- recorded\n+++ requested" in message
    assert shown in message
    assert "migrate('users', new_chain)" in message
    assert db.manifest("users").chain[1] == {"name": "zstd", "level": 3}  # unchanged


@pytest.mark.parametrize(
    ("changed", "mode", "problem"),
    [
        (UserAgeAsText, "backward", '$.age: changed from {"type": "integer"} to {"type": "string"}'),
        (UserEmailRequired, "backward", "$.email: new and required (values written before lack it)"),
        (UserWithoutAge, "full", "$.age: removed"),  # new code ignores it: only forward refuses
    ],
)
def test_incompatible_schema_is_refused(db: Namespaces, changed: type, mode: Mode, problem: str) -> None:
    db.namespace("users", Msgspec(User), compatibility=mode)["ada"] = User("Ada", 36)
    recorded = db.manifest("users")
    with pytest.raises(ManifestMismatch) as info:
        db.namespace("users", Msgspec(changed))
    assert problem in str(info.value)
    assert "--- recorded" in str(info.value)
    assert db.manifest("users") == recorded


def test_compatible_evolution_is_accepted_and_recorded(db: Namespaces) -> None:
    db.namespace("users", Msgspec(User) | Zstd())["ada"] = User("Ada", 36)
    before = db.manifest("users")
    users = db.namespace("users", Msgspec(UserWithEmail) | Zstd())
    assert users["ada"] == UserWithEmail("Ada", 36, None)
    users["bob"] = UserWithEmail("Bob", 40, "bob@example.org")
    after = db.manifest("users")
    assert after.fingerprint != before.fingerprint
    assert after.schema == json.loads(json.dumps(Msgspec(UserWithEmail).schema()))
    assert after.chain == before.chain
    # The old shape still reads every value (it ignores the email): rolling back works, and
    # records nothing, as both schemas are known.
    assert db.namespace("users", Msgspec(User) | Zstd())["bob"] == User("Bob", 40)
    assert db.manifest("users") == after


def test_pydantic_evolution(db: Namespaces) -> None:
    db.namespace("accounts", Pydantic(Account))["a1"] = Account(id=1, owner="ada")
    accounts = db.namespace("accounts", Pydantic(AccountWithNote))
    assert accounts["a1"].model_dump() == {"id": 1, "owner": "ada", "note": None}
    with pytest.raises(ManifestMismatch, match=r"\$\.id: changed"):
        db.namespace("accounts", Pydantic(AccountIdAsText))


# -- untyped opening ---------------------------------------------------------------------------------


def test_open_rebuilds_the_chain_from_the_manifest(tmp_path: Path, over: Over) -> None:
    with SQLiteStore(tmp_path / "ns.db") as backing:
        db = over(backing)
        db.namespace("users", Msgspec(User) | Zstd())["ada"] = User("Ada", 36)
        db.namespace("names", Utf8() | Base64() | Utf8())["x"] = "ünï"
    with SQLiteStore(tmp_path / "ns.db") as backing:
        tool = over(backing)
        assert sorted(tool.namespaces()) == ["names", "users"]
        assert tool.open("users")["ada"] == User("Ada", 36)
        assert tool.open("names")["x"] == "ünï"


def test_open_refuses_unknown_and_unimportable(db: Namespaces) -> None:
    with pytest.raises(NamespaceError, match="No namespace named 'ghost'"):
        db.open("ghost")
    lost = Manifest.new("lost", Target.of(Utf8())).changed(chain=[{"name": "msgspec", "type": "gone.mod:T"}])
    db.store[lost.key] = lost.to_json()
    with pytest.raises(SpecError, match=r"gone\.mod:T"):
        db.open("lost")


def test_corrupt_manifest(db: Namespaces) -> None:
    db.store["_nstore/namespaces/bad"] = b"{not json"
    with pytest.raises(CorruptStore, match="_nstore/namespaces/bad"):
        db.manifest("bad")


# -- names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "_nstore", "a/b", "../x", ".hidden", "a b", "x" * 65, "ü", 3])
def test_bad_names_are_refused(db: Namespaces, name: str) -> None:
    with pytest.raises(InvalidKey, match="namespace name"):
        db.namespace(name, Utf8())


def test_bad_arguments(db: Namespaces) -> None:
    with pytest.raises(ConfigurationError, match="codec chain"):
        db.namespace("x", "utf8")  # type: ignore[arg-type]  # the point of the test


def test_the_backing_store_must_be_a_store_of_the_api() -> None:
    with pytest.raises(ConfigurationError, match="Store"):
        Namespaces({})  # type: ignore[arg-type]  # the point of the test
    with pytest.raises(ConfigurationError, match="Expected an AsyncStore"):
        AsyncNamespaces({})  # type: ignore[arg-type]  # the point of the test
    with pytest.raises(ConfigurationError, match=r"a sync Store goes through nstore\.AsyncAdapter"):
        AsyncNamespaces(MemoryStore[str, bytes]())  # type: ignore[arg-type]  # the point of the test


def test_namespace_names_cannot_reach_each_other(db: Namespaces) -> None:
    a = db.namespace("a", Utf8())
    ab = db.namespace("a-b", Utf8())
    a["-b/0/x"] = "inside a"
    assert list(ab) == []
    assert list(a) == ["-b/0/x"]


def test_namespace_store_is_typed(db: Namespaces) -> None:
    users: Store[str, User] = db.namespace("users", Msgspec(User))
    users["a"] = User("A", 1)
    assert isinstance(users["a"], User)
