"""A typed codec refuses, on encode, a value that is not a ``T``: nothing is written that would not
read back as a ``T`` (msgspec and typed pickle here, pydantic in test_pydantic; alone, in a chain,
and through a store)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Annotated, Any, Literal

import msgspec
import pytest

from nstore import MemoryStore
from nstore.codecs import Codec, Msgspec, Pickle, Zstd
from nstore.errors import EncodeError


class User(msgspec.Struct):
    id: int
    name: str


class Other(msgspec.Struct):
    id: int
    name: str


class Admin(User):
    level: int = 1


@dataclasses.dataclass
class Point:
    x: int
    y: int


def refused(codec: Codec[Any, bytes], value: object) -> EncodeError:
    with pytest.raises(EncodeError) as info:
        codec.encode(value)
    return info.value


WRONG_USERS = [{"id": 1, "name": "a"}, "text", [1, "a"], Other(1, "a"), Admin(1, "a"), None]


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
@pytest.mark.parametrize("value", WRONG_USERS, ids=lambda v: type(v).__name__)
def test_msgspec_struct_refuses_another_class(fmt: Literal["msgpack", "json"], value: object) -> None:
    for codec in (Msgspec(User, format=fmt), Msgspec(User, format=fmt) | Zstd()):
        error = refused(codec, value)
        assert error.codec == "msgspec"
        assert f"Expected a User. Got {type(value).__name__} instead" in str(error)


def test_a_store_writes_nothing_for_a_wrong_value() -> None:
    backend = MemoryStore[str, bytes]()
    users = backend.with_values(Msgspec(User) | Zstd())
    for value in WRONG_USERS:
        with pytest.raises(EncodeError):
            users["ada"] = value  # type: ignore[assignment]  # the run-time check for untyped callers
        with pytest.raises(EncodeError):
            users.set_many({"bob": value})  # type: ignore[arg-type]  # the same
    assert dict(backend) == {}
    users["ada"] = User(1, "ada")
    assert users["ada"] == User(1, "ada")


@pytest.mark.parametrize(
    ("tp", "good", "bad"),
    [
        (Point, Point(1, 2), {"x": 1, "y": 2}),
        (int, 3, True),
        (int, 3, 3.0),
        (float, 1.5, "1.5"),
        (str, "a", b"a"),
        (datetime.date, datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2)),
        (User | None, None, Other(1, "a")),
        (User | None, User(1, "a"), {"id": 1, "name": "a"}),
        (list[int], [1, 2], [1, "2"]),
        (list[int], [1, 2], (1, 2, "x")),
        (dict[str, User], {"a": User(1, "a")}, {"a": "text"}),
        (list[User], [User(1, "a")], [1]),
        (Annotated[int, msgspec.Meta(ge=0)], 0, -1),
        (Literal["a", "b"], "a", "c"),
        (tuple[int, str], (1, "a"), (1, 2)),
    ],
    ids=repr,
)
def test_msgspec_refuses_what_its_decoder_would_refuse(tp: Any, good: object, bad: object) -> None:
    for fmt in ("msgpack", "json"):
        codec: Codec[Any, bytes] = Msgspec(tp, format=fmt)
        assert codec.decode(codec.encode(good)) == good
        error = refused(codec, bad)
        assert error.codec == "msgspec"
        assert "Expected a" in str(error)
        refused(codec | Zstd(), bad)


def test_msgspec_accepts_an_int_for_a_float_and_anything_for_any() -> None:
    assert Msgspec(float).decode(Msgspec(float).encode(1)) == 1.0
    optional: Codec[float | None, bytes] = Msgspec(float | None)
    assert optional.decode(optional.encode(1)) == 1.0
    for tp in (Any, object):
        anything: Codec[Any, bytes] = Msgspec(tp)
        assert anything.decode(anything.encode({"a": [1]})) == {"a": [1]}


def test_msgspec_message_for_a_container_says_why() -> None:
    error = refused(Msgspec(list[int]), [1, "2"])
    assert "Expected a list[int]. Got a list that msgspec would not read back as one" in str(error)
    assert "Expected `int`, got `str`" in str(error)


def test_typed_pickle_refuses_another_class() -> None:
    for value in WRONG_USERS[:4]:
        error = refused(Pickle(User), value)
        assert f"Expected an instance of User. Got {type(value).__name__} instead" in str(error)
    assert Pickle(User).decode(Pickle(User).encode(Admin(1, "a"))) == Admin(1, "a")  # read back whole


@pytest.mark.parametrize(
    ("tp", "good", "bad"),
    [
        (list[User], [User(1, "a")], [{"id": 1, "name": "a"}]),
        (list[User], [User(1, "a")], [Admin(1, "a")]),
        (list[int], [1], (1,)),
        (dict[str, User], {"a": User(1, "a")}, {"a": Other(1, "a")}),
        (set[int], {1}, {True}),
        (tuple[int, ...], (1, 2), (1, 2.5)),
        (tuple[User, int], (User(1, "a"), 1), (User(1, "a"),)),
        (list[list[float]], [[1, 2.5]], [[1, "2"]]),
    ],
    ids=repr,
)
def test_msgspec_containers_hold_only_items_of_their_classes(tp: Any, good: object, bad: object) -> None:
    # Checked by classes, item by item: what msgspec would read back as something else is refused
    # too (a dict or a subclass for a Struct, a tuple for a list), not only what it cannot decode.
    codec: Codec[Any, bytes] = Msgspec(tp)
    assert codec.decode(codec.encode(good)) == good
    error = refused(codec, bad)
    assert "Expected a " in str(error)
    refused(codec | Zstd(), bad)


def test_another_class_of_the_same_name_is_named_by_its_module() -> None:
    old = msgspec.defstruct("User", [("id", int)], module="app.v1")
    new = msgspec.defstruct("User", [("id", int)], module="app.v2")
    error = refused(Msgspec(new) | Zstd(), old(1))
    assert "Expected a User. Got app.v1.User (another class of that name) instead" in str(error)
