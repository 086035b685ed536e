"""Types in specs: import paths and expressions over them, both ways."""

from __future__ import annotations

import collections.abc
import enum
import json
import typing
from typing import Any, Literal, Optional

import pytest

from nstore.codecs import Msgspec, Pydantic, from_spec
from nstore.codecs._types import format_type, parse_type
from nstore.errors import SpecError
from tests.codecs.models import User

ROUND_TRIPS: list[tuple[Any, str]] = [
    (User, "tests.codecs.models:User"),
    (int, "builtins:int"),
    (list[User], "builtins:list[tests.codecs.models:User]"),
    (dict[str, list[int]], "builtins:dict[builtins:str, builtins:list[builtins:int]]"),
    (User | None, "tests.codecs.models:User | None"),
    (Optional[int], "builtins:int | None"),  # noqa: UP045  (the typing spelling is recorded the same)
    (tuple[int, ...], "builtins:tuple[builtins:int, ...]"),
    (collections.abc.Sequence[str], "collections.abc:Sequence[builtins:str]"),
    (dict[str, int | str], "builtins:dict[builtins:str, builtins:int | builtins:str]"),
]


@pytest.mark.parametrize(("tp", "text"), ROUND_TRIPS)
def test_types_round_trip(tp: Any, text: str) -> None:
    assert format_type(tp) == text
    assert parse_type(text) == tp


@pytest.mark.parametrize("tp", [Literal[b"a"], 3, "builtins:int"])
def test_unrecordable_types(tp: Any) -> None:
    with pytest.raises(SpecError, match="Cannot record"):
        format_type(tp)


@pytest.mark.parametrize(
    "text",
    ["", "builtins:list[", "builtins:list[builtins:int", "builtins:int]", "builtins:list[,]", "a b", "|"],
)
def test_malformed_expressions(text: str) -> None:
    with pytest.raises(SpecError):
        parse_type(text)


def test_unknown_names_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="Cannot import"):
        parse_type("builtins:list[nowhere:Nothing]")
    with pytest.raises(SpecError, match="Cannot rebuild"):
        parse_type("builtins:int[builtins:str]")


ALIASES: list[tuple[Any, Any]] = [
    (typing.List[int], list[int]),  # noqa: UP006  (the typing spelling is the case)
    (typing.Dict[str, int], dict[str, int]),  # noqa: UP006
    (typing.Tuple[int, ...], tuple[int, ...]),  # noqa: UP006
    (typing.Optional[typing.List[int]], list[int] | None),  # noqa: UP006, UP045
    (dict[str, typing.List[int]], dict[str, list[int]]),  # noqa: UP006
    (typing.List, list),  # noqa: UP006
    (type(None), None),
    (tuple[()], tuple[()]),
]


@pytest.mark.parametrize(("tp", "plain"), ALIASES, ids=repr)
@pytest.mark.parametrize("make", [Msgspec, Pydantic], ids=lambda make: make.__name__)
def test_typing_aliases_round_trip_through_a_spec(make: Any, tp: Any, plain: Any) -> None:
    codec = make(tp)
    assert codec == make(plain)
    assert codec.type == plain
    assert from_spec(json.loads(json.dumps(codec.spec))) == codec


def test_the_empty_tuple_has_a_spelling() -> None:
    assert format_type(tuple[()]) == "builtins:tuple[()]"
    assert parse_type("builtins:tuple[()]") == tuple[()]
    assert format_type(typing.Tuple) == "builtins:tuple"  # noqa: UP006
    with pytest.raises(SpecError):
        parse_type("builtins:tuple[(), builtins:int]")


class Colour(enum.Enum):
    RED = "red"


BOTH = (Msgspec, Pydantic)

LITERALS: list[tuple[Any, str, tuple[Any, ...]]] = [
    (Literal["a", "b"], "typing:Literal['a', 'b']", BOTH),
    (Literal[1, -2, True, None], "typing:Literal[1, -2, True, None]", BOTH),
    (Literal["x, y] | 'z'"], "typing:Literal[\"x, y] | 'z'\"]", BOTH),
    (Literal[Colour.RED], "typing:Literal[tests.codecs.test_types:Colour.RED]", (Pydantic,)),  # not msgspec
    (list[Literal["a"]] | None, "builtins:list[typing:Literal['a']] | None", BOTH),
]


@pytest.mark.parametrize(("tp", "text", "makers"), LITERALS, ids=repr)
def test_literals_round_trip(tp: Any, text: str, makers: tuple[Any, ...]) -> None:
    assert format_type(tp) == text
    assert parse_type(text) == tp
    for make in makers:
        codec = make(tp)
        assert from_spec(json.loads(json.dumps(codec.spec))) == codec


BAD_LITERALS = [
    "typing:Literal[builtins:int]",
    "typing:Literal[tests.codecs.test_types:Colour.BLUE]",
    "typing:Literal['a]",
]


@pytest.mark.parametrize("text", BAD_LITERALS)
def test_bad_literals_are_spec_errors(text: str) -> None:
    with pytest.raises(SpecError):
        parse_type(text)
