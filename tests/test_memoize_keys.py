"""memoize's default keys: today's encodings pinned, types that share a string told apart, any dict key."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import json
import os
import subprocess
import sys
import typing
import uuid
from decimal import Decimal
from pathlib import Path

import attrs
import msgspec
import pytest

from nstore import MemoryStore, memoize
from nstore._memoize._keys import default_key, text_of


class Color(enum.Enum):
    RED = 1


class Mood(str, enum.Enum):  # noqa: UP042  # the older spelling of a str enum
    CALM = "calm"


class Level(enum.IntEnum):
    LOW = 1


class Perm(enum.Flag):
    R = 1
    W = 2


class Price(enum.Enum):
    ONE = Decimal("1")


class Name(str):
    pass


@dataclasses.dataclass(frozen=True)
class Point:
    y: int
    x: int


@dataclasses.dataclass
class Box:
    items: list[object]
    label: str = "box"


class Item(msgspec.Struct):
    name: str
    price: float


class Pair(msgspec.Struct, array_like=True):
    a: int
    b: str


class Cat(msgspec.Struct, tag=True):
    lives: int


class Opt(msgspec.Struct, omit_defaults=True):
    a: int
    b: int = 0


class Row(typing.NamedTuple):
    id: int
    name: str


@attrs.define(frozen=True)
class Account:
    number: str
    balance: int


@dataclasses.dataclass(frozen=True)
class Invoice:
    total: Decimal
    due: dt.date


class Held(msgspec.Struct):
    raw: msgspec.Raw
    n: int


class Entry(msgspec.Struct):
    at: dt.datetime
    amount: Decimal


UTC = dt.UTC
PLUS1 = dt.timezone(dt.timedelta(hours=1))

#: Values the default key encoded before types that share a string were told apart.
OLD: dict[str, object] = {
    "str": "ada",
    "empty str": "",
    "unicode": "é中🙂",
    "int": 3,
    "zero": 0,
    "negative": -7,
    "int64 min": -(2**63),
    "uint64 max": 2**64 - 1,
    "float": 1.5,
    "negative zero": -0.0,
    "inf": float("inf"),
    "nan": float("nan"),
    "None": None,
    "True": True,
    "False": False,
    "bytes": b"x",
    "empty bytes": b"",
    "bytearray": bytearray(b"x"),
    "memoryview": memoryview(b"xy"),
    "tuple": (1, [2]),
    "list": [1, "a", None],
    "empty tuple": (),
    "nested": [[1, (2, [3])], {"k": [4]}],
    "dict": {"b": 1, "a": 2},
    "empty dict": {},
    "dict of str subclass keys": {Name("b"): 1, "a": 2},
    "dict of str enum keys": {Mood.CALM: 1},
    "ordered dict": collections.OrderedDict([("z", 1), ("a", 2)]),
    "defaultdict": collections.defaultdict(list, {"q": [1]}),
    "set": {3, 1, 2},
    "frozenset": frozenset({"b", "a"}),
    "set of numbers": {2.5, 1},
    "empty set": set(),
    "enum": Color.RED,
    "str enum": Mood.CALM,
    "int enum": Level.LOW,
    "flag": Perm.R | Perm.W,
    "dataclass": Point(1, 2),
    "dataclass of lists": Box([1, "a"]),
    "struct": Item("pen", 2.5),
    "array-like struct": Pair(1, "b"),
    "tagged struct": Cat(9),
    "omit-defaults struct": Opt(1),
    "named tuple": Row(1, "ada"),
    "attrs": Account("ES-1", 100),
    "aware datetime": dt.datetime(2026, 1, 1, 12, 30, tzinfo=UTC),
    "aware datetime +1": dt.datetime(2026, 1, 1, 12, 30, 0, 5, tzinfo=PLUS1),
    "uuid": uuid.UUID(int=1),
    "raw": msgspec.Raw(b"\x01"),
    "ext": msgspec.msgpack.Ext(7, b"x"),
    "structs in a list": [Item("a", 1.0), Point(3, 4), {"c": Cat(1)}],
    "struct of raw": Held(msgspec.Raw(b"\x01"), 2),
    "dict of aware datetimes": {"at": dt.datetime(2026, 3, 1, tzinfo=UTC), "ids": [uuid.UUID(int=2)]},
    "set of tuples": {(2, "b"), (1, "a")},
    "dataclass of an enum": Box([Color.RED, Mood.CALM], label="e"),
}

#: Their digests, computed before the change: keys stored by earlier runs must still be found.
OLD_DIGESTS = {
    "str": "4bd0bf527aa225cadab998034cfece4c",
    "empty str": "00ed8ca177c411f379e5666b2992bdb6",
    "unicode": "a23d72b821197a954e4994653dd3a55c",
    "int": "6600fce063de2c0f89089676eb980f3d",
    "zero": "4542b45177a0eedd25bc0e03bfb8738a",
    "negative": "177b956fc223838df05fc0cb873735ad",
    "int64 min": "62aa108d42720e707c538d90a2b73f48",
    "uint64 max": "e8416560e26b8997e57bfd66aa254739",
    "float": "576534c75755574c4e875477c1304f77",
    "negative zero": "b57d9725d9a3874f1788d9c754cbf2d9",
    "inf": "013eef6b95521b1fd4a33eaa74012fcc",
    "nan": "34edd46a1eba73261b4484bee77a89ff",
    "None": "2784e100b9dc4508ad28478bc95bea38",
    "True": "a8365a8108f589528b714d72377ae9f3",
    "False": "b3d116bf9d42312f8eeafa43017dfb4c",
    "bytes": "1bdd575a4b0894bb9e9dd81700937314",
    "empty bytes": "a7a2d22bef2901726e4d0741b3f7837c",
    "bytearray": "1bdd575a4b0894bb9e9dd81700937314",
    "memoryview": "6377fbd79fc12b83c9a9c45fd87996e7",
    "tuple": "26cc147cfbfb55e1660da238d7d5970a",
    "list": "d391c5e49bd8fd73502671bda5435236",
    "empty tuple": "f4bc6c83ccb0336fe3f9a5cbd74254be",
    "nested": "382c2187b3736f91ba6d80ad5de426e6",
    "dict": "bc21cd598e00a18f70e2d4ca44342f2d",
    "empty dict": "83e8134f12c13c8ebff20a91d4861adb",
    "dict of str subclass keys": "bc21cd598e00a18f70e2d4ca44342f2d",
    "dict of str enum keys": "f33568e97dd7d26c4d00f3c02194500c",
    "ordered dict": "ff1b6a6fb289b4dea8b7a290336f5c9a",
    "defaultdict": "69615473b8939de77ce45a4b256af4c7",
    "set": "fbd07444ce0e7cf98815614cb1596a9c",
    "frozenset": "25efd5167c5a43f00f897ee32ceb29c1",
    "set of numbers": "55cbbb83cdb2d7977bd7cd3f07964cfb",
    "empty set": "f4bc6c83ccb0336fe3f9a5cbd74254be",
    "enum": "0cfc3a47a18937ab5ceaf2b0c8af75ca",
    "str enum": "bfc5f1281e808ddf062b95aa7b0e3e58",
    "int enum": "0cfc3a47a18937ab5ceaf2b0c8af75ca",
    "flag": "6600fce063de2c0f89089676eb980f3d",
    "dataclass": "8dcccbaefe5d63fd3031ed66c808c2ae",
    "dataclass of lists": "04dba3fc50f5772b7f5004cb829a1d3c",
    "struct": "0809ccef4db46fd7d2297bda00772ffd",
    "array-like struct": "f5fe8e241a86bd2d48cd533183be42c2",
    "tagged struct": "4dadbd7e8c73040a0ef21f5b79a02586",
    "omit-defaults struct": "cf29b94ea4a2f75597046e81896d423e",
    "named tuple": "f9dbccab2a297828bc2608bb0a119972",
    "attrs": "481646a148e308278da533421801f12b",
    "aware datetime": "563e0871da778d85728a5c3765cc1f7a",
    "aware datetime +1": "d0c80c9d6cff90df98b06bcdb6db0b96",
    "uuid": "672a27249a72023e2654e8ffb6958c56",
    "raw": "0cfc3a47a18937ab5ceaf2b0c8af75ca",
    "ext": "05538913d614503fab75341b4684c62a",
    "structs in a list": "40f4a33f68d4ecd0cd31cdb0b65c0876",
    "struct of raw": "de28d6b227e83066ae799fbe6d982414",
    "dict of aware datetimes": "d5ab64ac165708ab36fa245fe6533de2",
    "set of tuples": "04b3edbf08838f0bbb6d4c7586ed67ca",
    "dataclass of an enum": "21ae7dfa0e4d62214ff878da4b517933",
}

#: Values of types that share their string's encoding, or that the encoding refused before.
NEW: dict[str, object] = {
    "decimal": Decimal("1"),
    "decimal nan": Decimal("NaN"),
    "date": dt.date(2026, 1, 1),
    "naive datetime": dt.datetime(2026, 1, 1),
    "time": dt.time(1, 2),
    "aware time": dt.time(1, 2, tzinfo=UTC),
    "timedelta": dt.timedelta(seconds=1),
    "enum of a decimal": Price.ONE,
    "dataclass of a decimal and a date": Invoice(Decimal("9.50"), dt.date(2026, 2, 1)),
    "struct of a naive datetime": Entry(dt.datetime(2026, 1, 1, 8), Decimal("2")),
    "decimals in a list": [Decimal("1"), ("x", Decimal("2"))],
    "set of dates": {dt.date(2026, 1, 2), dt.date(2026, 1, 1)},
    "dict of int keys": {2: "b", 1: "a"},
    "dict of mixed keys": {"b": 1, 2: "c", None: 0, (1, "x"): [1], b"k": 2.5, 1.5: True},
    "dict of decimal keys": {Decimal("2"): "b", Decimal("1"): "a"},
    "dict of frozenset keys": {frozenset({"a", "b"}): 1, frozenset({"c"}): 2},
    "set of mixed types": {"a", 1, "b", b"c", 2.5},
}

#: The digests of the new encodings, pinned as the old ones are.
NEW_DIGESTS: dict[str, str] = {
    "decimal": "cc7dd03a44d50cb592f6b800c17dbb51",
    "decimal nan": "df1daf782ef037171680c793fc313fbd",
    "date": "2e0bec993d2c13d0f429c5253db91fc6",
    "naive datetime": "6646ac9797431abdc8344ebb1bf28ca6",
    "time": "cda160278755a8d0b0aa1011dfdb7031",
    "aware time": "cafedfb7863cd1219be3542a23d905b9",
    "timedelta": "a041954bbd2aa18df305ed8e387cc671",
    "enum of a decimal": "cc7dd03a44d50cb592f6b800c17dbb51",
    "dataclass of a decimal and a date": "29c2fd79d944e4b5363f0f8325f7c929",
    "struct of a naive datetime": "5835c783c0e641e89223f02a6e6c9582",
    "decimals in a list": "7c38b1c8c035da5cb122e40a3a40c662",
    "set of dates": "7563d25f1123047024514cc5fbf717ea",
    "dict of int keys": "e7d542a2f18b96318cfc8d1d0777ecf3",
    "dict of mixed keys": "7d0c76f23845c1fb6676f125185ed53a",
    "dict of decimal keys": "a91571d3c16e74cd1fa6fe464160a1a2",
    "dict of frozenset keys": "c5d05b5c61646a6cb57edd9cdda0ce56",
    "set of mixed types": "ef8d5a924eef0152acba61dbe59ca961",
}

STRINGS = {
    "decimal": "1",
    "decimal nan": "NaN",
    "date": "2026-01-01",
    "naive datetime": "2026-01-01T00:00:00",
    "time": "01:02:00",
    "aware time": "01:02:00Z",
    "timedelta": "PT1S",
}


def digest(value: object) -> str:
    return default_key("app.f")((value,), {})[len("app.f/") :]


def test_the_keys_of_values_encoded_before_are_unchanged() -> None:
    assert {label: digest(value) for label, value in OLD.items()} == OLD_DIGESTS
    when, tags = OLD["aware datetime"], OLD["set"]
    assert (
        default_key("app.f")((1,), {"when": when, "tags": tags}) == "app.f/a675b9b57aa001bd77e887c22622e5a4"
    )


def test_the_keys_of_the_new_encodings_are_pinned() -> None:
    assert {label: digest(value) for label, value in NEW.items()} == NEW_DIGESTS


@pytest.mark.parametrize("label", sorted(STRINGS))
def test_a_value_and_its_string_make_two_keys(label: str) -> None:
    value, text = NEW[label], STRINGS[label]
    assert msgspec.to_builtins(value) == text  # the string the encoding used to give it
    assert digest(value) != digest(text)
    assert digest([value]) != digest([text])
    assert digest({"k": value}) != digest({"k": text})


def test_every_value_with_a_string_of_its_own_makes_its_own_key() -> None:
    digests = [digest(NEW[label]) for label in STRINGS] + [digest(text) for text in STRINGS.values()]
    assert len(set(digests)) == len(digests)
    assert digest(dt.date(2026, 1, 1)) != digest(dt.datetime(2026, 1, 1))
    assert digest(Decimal("1")) != digest(1) != digest(1.0)
    assert digest(Price.ONE) == digest(Decimal("1"))  # an enum and its value make the same key
    assert digest(Price.ONE) != digest("1")
    aware = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert digest(aware) != digest(dt.datetime(2026, 1, 1))


def test_a_keyword_argument_holding_one_makes_its_own_key() -> None:
    build = default_key("app.f")
    assert build((1,), {"day": dt.date(2026, 1, 1)}) != build((1,), {"day": "2026-01-01"})
    assert build((1,), {"day": dt.date(2026, 1, 1)}) == build((1,), {"day": dt.date(2026, 1, 1)})


def test_lease_names_tell_them_apart_and_keep_the_old_ones() -> None:
    assert text_of((Decimal("1"), "a")) != text_of(("1", "a"))
    assert text_of({1: "a"}) == text_of({1: "a"})
    assert text_of(("ada", 2)) == "#04b5ed8aa39050995fe17addb98945ff"


def test_a_structured_value_holding_one_makes_its_own_key() -> None:
    invoice = Invoice(Decimal("9.50"), dt.date(2026, 2, 1))
    assert digest(invoice) != digest({"total": "9.50", "due": "2026-02-01"})
    assert digest(invoice) == digest(Invoice(Decimal("9.50"), dt.date(2026, 2, 1)))
    assert digest(invoice) != digest(Invoice(Decimal("9.5"), dt.date(2026, 2, 1)))
    entry = Entry(dt.datetime(2026, 1, 1, 8), Decimal("2"))
    assert digest(entry) != digest(Entry(dt.datetime(2026, 1, 1, 8), "2"))  # type: ignore[arg-type]


def test_memoize_returns_each_type_its_own_result() -> None:
    @memoize(MemoryStore[str, str]())
    def kind(x: object) -> str:
        return type(x).__name__

    for label, text in STRINGS.items():
        assert kind(NEW[label]) != "str"
        assert kind(text) == "str"
    assert kind.cache_info().computations == 2 * len(STRINGS)


def test_dicts_with_keys_of_any_encodable_type_make_keys() -> None:
    assert digest({1: "a", 2: "b"}) == digest({2: "b", 1: "a"})  # insertion order does not matter
    distinct = [{1: "a"}, {"1": "a"}, {1.0: "a"}, {True: "a"}, {Decimal("1"): "a"}, {(1,): "a"}, {1: "b"}, {}]
    assert len({digest(d) for d in distinct}) == len(distinct)
    mixed = {"b": 1, 2: "c", None: 0, (1, "x"): [1], b"k": 2.5, 1.5: True}
    assert digest(mixed) == digest(dict(reversed(mixed.items())))
    assert digest({1: {2: "x"}}) != digest({1: {"2": "x"}})

    @memoize(MemoryStore[str, int]())
    def count(d: dict[object, object]) -> int:
        return len(d)

    assert count({1: "a", "b": 2}) == count({"b": 2, 1: "a"}) == 2
    assert count.cache_info().hits == 1


def test_sets_of_mixed_types_make_keys() -> None:
    assert digest({"a", 1, b"c"}) == digest({b"c", 1, "a"})
    assert digest({"a", 1}) != digest({"a", 2})


CHILD = """
import json
from tests.test_memoize_keys import NEW, OLD, digest
old, new = ({k: digest(v) for k, v in values.items()} for values in (OLD, NEW))
print(json.dumps({"old": old, "new": new}))
"""


@pytest.mark.parametrize("seed", ["0", "4242"])
def test_the_keys_are_the_same_in_another_process(seed: str) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONHASHSEED": seed}  # sets and dicts of str iterate in another order
    run = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    there = json.loads(run.stdout)
    assert there["old"] == OLD_DIGESTS
    assert there["new"] == {label: digest(value) for label, value in NEW.items()}
