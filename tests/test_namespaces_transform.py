"""Migrations with a typed transform: renames, changed types and split fields; every value is
checked before the switch, a failing one is reported with its key, and kill -9 then resume works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from nstore.codecs import Msgspec, Pydantic, Zstd
from nstore.errors import ConfigurationError, ManifestMismatch, MigrationError, MigrationFailed
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore
from tests.namespaces_apis import APIS, namespaces_for
from tests.test_namespaces import Account, User
from tests.test_namespaces_migrate import OLD, USERS, kill_midway


class Person(msgspec.Struct):
    """User with ``name`` renamed to ``full_name``, and split into first and last names."""

    full_name: str
    first: str
    last: str
    age: int


def to_person(user: User) -> Person:
    first, _, last = user.name.partition(" ")
    return Person(user.name, first, last, user.age)


PEOPLE = {key: to_person(user) for key, user in USERS.items()}
NEW = Msgspec(Person, format="json")


@pytest.fixture(params=APIS)
def db(request: pytest.FixtureRequest) -> Iterator[Namespaces]:
    with namespaces_for(request.param, request) as db:
        db.namespace("users", OLD).set_many(USERS)
        yield db


def test_a_rename_and_a_split_through_a_transform(db: Namespaces) -> None:
    people = db.migrate("users", NEW, old_chain=OLD, transform=to_person)
    assert dict(people.items()) == PEOPLE
    assert people["user0012"] == Person("name 12", "name", "12", 12)
    manifest = db.manifest("users")
    assert (manifest.value_type, manifest.generation, manifest.earlier_schemas) == (
        "tests.test_namespaces_transform:Person",
        1,
        (),
    )
    # Run again, as a deploy does: already there, nothing to do.
    assert db.migrate("users", NEW, old_chain=OLD, transform=to_person) is not None
    assert db.manifest("users").generation == 1


def test_a_changed_type_and_another_codec(db: Namespaces) -> None:
    accounts = db.migrate(
        "users",
        Pydantic(Account),
        old_chain=OLD,
        transform=lambda user: Account(id=user.age, owner=user.name),
    )
    assert accounts["user0005"] == Account(id=5, owner="name 5")
    users = db.migrate(
        "users",
        Msgspec(User) | Zstd(level=9),
        old_chain=Pydantic(Account),
        transform=lambda account: User(account.owner, account.id),
    )
    assert dict(users.items()) == USERS


def test_failing_values_are_reported_with_their_keys_and_nothing_is_switched(db: Namespaces) -> None:
    def picky(user: User) -> Person:
        if user.age in (3, 4):
            raise ValueError(f"cannot split {user.name!r}")
        return to_person(user)

    before = dict(db.store.items())
    with pytest.raises(MigrationFailed) as info:
        db.migrate("users", NEW, old_chain=OLD, transform=picky, batch_size=50)
    failing = sorted(k for k, u in USERS.items() if u.age in (3, 4))
    assert sorted(info.value.failures) == failing
    assert info.value.count == len(failing)
    assert info.value.failures["user0003"] == "ValueError: cannot split 'name 3'"
    assert "'user0003': ValueError: cannot split 'name 3'" in str(info.value)
    assert f"... and {len(failing) - 10} more" in str(info.value)
    assert dict(db.store.items()) == before  # nothing locked, nothing lost, nothing left behind
    assert dict(db.namespace("users", OLD).items()) == USERS


def test_a_transform_result_that_does_not_validate_is_a_failure(db: Namespaces) -> None:
    def wrong(user: User) -> Person:
        return Person(user.name, "", "", age=str(user.age))  # type: ignore[arg-type]  # the point

    with pytest.raises(MigrationFailed, match="user0001") as info:
        db.migrate("users", NEW, old_chain=OLD, transform=wrong)
    assert info.value.count == len(USERS)
    assert db.manifest("users").migration is None


def test_the_old_chain_must_be_the_recorded_one(db: Namespaces) -> None:
    with pytest.raises(ManifestMismatch, match="another codec chain"):
        db.migrate("users", NEW, old_chain=Msgspec(User), transform=to_person)
    with pytest.raises(ConfigurationError, match="Expected old_chain with transform"):
        db.migrate("users", NEW, transform=to_person)
    with pytest.raises(ConfigurationError, match="Expected a callable for transform"):
        db.migrate("users", NEW, old_chain=OLD, transform="to_person")  # type: ignore[arg-type]  # the point
    assert db.manifest("users").migration is None


CHILD = """
import sys, time
from nstore.namespaces import Namespaces
from tests.namespaces_apis import APIS, namespaces_for
from nstore.stores.sqlite import SQLiteStore
from tests.test_namespaces_transform import NEW, OLD, to_person

db = Namespaces(SQLiteStore(sys.argv[1], durability="full"))

def progress(done, total):
    print(done, total, flush=True)
    time.sleep(0.005)

db.migrate("users", NEW, old_chain=OLD, transform=to_person, progress=progress, batch_size=40)
print("finished", flush=True)
"""


@pytest.fixture
def on_disk(tmp_path: Path) -> Path:
    path = tmp_path / "ns.db"
    with SQLiteStore(path) as backing:
        Namespaces(backing).namespace("users", OLD).set_many(USERS)
    return path


def test_a_killed_transform_migration_resumes_or_rolls_back(tmp_path: Path, on_disk: Path) -> None:
    kill_midway(tmp_path, on_disk, 200, CHILD)
    with SQLiteStore(on_disk) as backing:
        db = Namespaces(backing)
        assert db.manifest("users").migration is not None
        with pytest.raises(
            MigrationError, match=r"with transform 'tests\.test_namespaces_transform:to_person'"
        ):
            db.migrate("users", NEW, old_chain=OLD, transform=lambda user: to_person(user))
        calls: list[tuple[int, int]] = []
        people = db.migrate(
            "users", NEW, old_chain=OLD, transform=to_person, progress=lambda *c: calls.append(c)
        )
        assert calls[0][0] >= 200
        assert dict(people.items()) == PEOPLE


def test_a_killed_transform_migration_rolls_back(tmp_path: Path, on_disk: Path) -> None:
    kill_midway(tmp_path, on_disk, 120, CHILD)
    with SQLiteStore(on_disk) as backing:
        db = Namespaces(backing)
        db.rollback("users")
        assert dict(db.namespace("users", OLD).items()) == USERS
        assert sorted({k.split("/")[1] for k in backing if k.startswith("users/")}) == ["0"]
