"""Compatibility modes: the decision from two JSON schemas, checked against what the real codecs
decode, for msgspec and pydantic; and namespaces that evolve, roll back and refuse by mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pydantic
import pytest

from nstore._compat import MODES, Mode, check_mode, compatibility_problems, read_problems
from nstore.codecs import Codec, Msgspec, Pydantic, schema_fingerprint
from nstore.errors import CodecError, ConfigurationError, ManifestMismatch
from nstore.namespaces import Namespaces
from tests.namespaces_apis import APIS, namespaces_for

Fields = list[tuple[str, Any, Any]]  # (name, type, default or ... for required)
REQUIRED: Any = ...
ALL = {"backward", "forward", "full", "none"}
MODES_ALLOWED = {
    "full": ALL,
    "backward": {"backward", "none"},
    "forward": {"forward", "none"},
    "none": {"none"},
}

# The rows of the table in docs/namespaces.md: change, fields before and after, a value written
# before and one written after (as JSON), and what the change allows.
ROWS: list[tuple[str, Fields, Fields, dict[str, Any], dict[str, Any], str]] = [
    ("add an optional field",
     [("name", str, REQUIRED)], [("name", str, REQUIRED), ("email", str | None, None)],
     {"name": "Ada"}, {"name": "Bob", "email": "bob@mail.example"}, "full"),
    ("remove a field that has a default",
     [("name", str, REQUIRED), ("email", str | None, None)], [("name", str, REQUIRED)],
     {"name": "Ada", "email": "ada@mail.example"}, {"name": "Bob"}, "full"),
    ("remove a required field",
     [("name", str, REQUIRED), ("age", int, REQUIRED)], [("name", str, REQUIRED)],
     {"name": "Ada", "age": 36}, {"name": "Bob"}, "backward"),
    ("add a required field",
     [("name", str, REQUIRED)], [("name", str, REQUIRED), ("age", int, REQUIRED)],
     {"name": "Ada"}, {"name": "Bob", "age": 40}, "forward"),
    ("widen to a union (X to X | None)",
     [("age", int, REQUIRED)], [("age", int | None, REQUIRED)],
     {"age": 36}, {"age": None}, "backward"),
    ("narrow (X | None to X)",
     [("age", int | None, REQUIRED)], [("age", int, REQUIRED)],
     {"age": None}, {"age": 40}, "forward"),
    ("widen int to float",
     [("age", int, REQUIRED)], [("age", float, REQUIRED)],
     {"age": 36}, {"age": 36.5}, "backward"),
    ("rename, keeping the stored name as an alias",
     [("name", str, REQUIRED)], [("full_name", str, "alias:name")],
     {"name": "Ada"}, {"name": "Bob"}, "full"),
    ("rename without an alias",
     [("name", str, REQUIRED)], [("full_name", str, REQUIRED)],
     {"name": "Ada"}, {"full_name": "Bob"}, "none"),
    ("change a type (int to str)",
     [("age", int, REQUIRED)], [("age", str, REQUIRED)],
     {"age": 36}, {"age": "thirty-six"}, "none"),
]  # fmt: skip


def msgspec_codec(fields: Fields) -> Codec[Any, bytes]:
    specs: list[Any] = []
    for name, tp, default in fields:
        if isinstance(default, str) and default.startswith("alias:"):
            specs.append((name, tp, msgspec.field(name=default[6:])))
        else:
            specs.append((name, tp) if default is REQUIRED else (name, tp, default))
    return Msgspec(msgspec.defstruct("User", specs), format="json")


def pydantic_codec(fields: Fields) -> Codec[Any, bytes]:
    specs: dict[str, Any] = {}
    for name, tp, default in fields:
        if isinstance(default, str) and default.startswith("alias:"):
            specs[name] = (tp, pydantic.Field(alias=default[6:]))
        else:
            specs[name] = (tp, default)
    config = pydantic.ConfigDict(serialize_by_alias=True, validate_by_name=True)
    return Pydantic(pydantic.create_model("User", __config__=config, **specs))


def allowed_modes(old: Codec[Any, bytes], new: Codec[Any, bytes]) -> set[str]:
    return {mode for mode in MODES if not compatibility_problems(mode, [old.schema()], new.schema())}


def reads(reader: Codec[Any, bytes], writer: Codec[Any, bytes], sample: dict[str, Any]) -> bool:
    written = writer.encode(writer.decode(json.dumps(sample).encode()))
    try:
        reader.decode(written)
    except CodecError:
        return False
    return True


@pytest.mark.parametrize("build", [msgspec_codec, pydantic_codec], ids=["msgspec", "pydantic"])
@pytest.mark.parametrize(("change", "before", "after", "old_value", "new_value", "allows"), ROWS,
                         ids=[row[0] for row in ROWS])  # fmt: skip
def test_the_decision_matches_what_the_codecs_decode(
    build: Any, change: str, before: Fields, after: Fields, old_value: Any, new_value: Any, allows: str
) -> None:
    old, new = build(before), build(after)
    assert allowed_modes(old, new) == MODES_ALLOWED[allows], change
    # The decision is sound: what a mode allows, the codecs do; what they cannot do, it refuses.
    backward, forward = reads(new, old, old_value), reads(old, new, new_value)
    assert backward == ("backward" in MODES_ALLOWED[allows]), f"{change}: new code reading old values"
    assert forward == ("forward" in MODES_ALLOWED[allows]), f"{change}: old code reading new values"


def test_read_problems_name_the_path_and_the_direction() -> None:
    v1 = msgspec.json.schema(msgspec.defstruct("User", [("age", int)]))
    v2 = msgspec.json.schema(msgspec.defstruct("User", [("age", int | None)]))
    assert read_problems(v2, v1) == []
    [problem] = compatibility_problems("forward", [v1], v2)
    assert problem == (
        'code recorded before cannot read new values: $.age: changed from {"type": "integer"} to '
        '{"anyOf": [{"type": "integer"}, {"type": "null"}]}'
    )
    assert read_problems(None, None) == []
    assert read_problems(v1, None) == ["$: a typed schema on one side, an untyped codec on the other"]


class Node(msgspec.Struct):
    value: int
    children: list[Node] = []


class Tree(msgspec.Struct):
    root: Node
    labels: dict[str, int] = {}


def test_recursive_and_nested_schemas() -> None:
    schema = msgspec.json.schema(Tree)
    assert compatibility_problems("full", [schema], schema) == []
    wider = json.loads(json.dumps(schema).replace('"additionalProperties": {"type": "integer"}',
                                                  '"additionalProperties": {"type": "number"}'))  # fmt: skip
    assert compatibility_problems("backward", [schema], wider) == []
    assert compatibility_problems("forward", [schema], wider) == [
        'code recorded before cannot read new values: $.labels.*: changed from {"type": "integer"} '
        'to {"type": "number"}'
    ]


def test_unknown_fields_forbidden_by_the_reader() -> None:
    strict = msgspec.json.schema(msgspec.defstruct("User", [("name", str)], forbid_unknown_fields=True))
    more = msgspec.json.schema(msgspec.defstruct("User", [("name", str), ("email", str | None, None)]))
    assert compatibility_problems("backward", [strict], more) == []
    assert compatibility_problems("forward", [strict], more) == [
        "code recorded before cannot read new values: $: unknown fields are refused by the reader, "
        "and the values hold email"
    ]


def test_check_mode() -> None:
    assert [check_mode(m) for m in MODES] == ["backward", "forward", "full", "none"]
    with pytest.raises(ValueError, match="Expected a compatibility mode"):
        check_mode("both")


# -- namespaces evolving under their mode ------------------------------------------------------------

V1 = msgspec.defstruct("User", [("name", str), ("age", int)], module=__name__)
V2 = msgspec.defstruct("User", [("name", str), ("age", int), ("email", str | None, None)], module=__name__)
WIDER = msgspec.defstruct("User", [("name", str), ("age", int | None)], module=__name__)
NO_AGE = msgspec.defstruct("User", [("name", str)], module=__name__)
AGE_TEXT = msgspec.defstruct("User", [("name", str), ("age", str, "")], module=__name__)


@pytest.fixture(params=APIS)
def db(request: pytest.FixtureRequest) -> Iterator[Namespaces]:
    with namespaces_for(request.param, request) as db:
        yield db


def test_a_rolled_back_deploy_opens_again(db: Namespaces) -> None:
    db.namespace("users", Msgspec(V1))["ada"] = V1("Ada", 36)
    v2 = db.namespace("users", Msgspec(V2))
    v2["bob"] = V2("Bob", 40, "bob@mail.example")
    recorded = db.manifest("users")
    v1 = db.namespace("users", Msgspec(V1))  # the rollback: v1 reads v2's values
    assert v1["bob"] == V1("Bob", 40)
    assert db.manifest("users") == recorded  # both schemas known: nothing written
    assert [r.fingerprint for r in recorded.earlier_schemas] == [schema_fingerprint(Msgspec(V1).schema())]


def test_widening_and_removing_a_field_with_a_default_are_backward_compatible(db: Namespaces) -> None:
    db.namespace("users", Msgspec(V2))["ada"] = V2("Ada", 36, "ada@mail.example")
    assert db.namespace("users", Msgspec(V1))["ada"] == V1("Ada", 36)  # removed email, which has a default
    wider = db.namespace("users", Msgspec(WIDER))
    wider["nobody"] = WIDER("Nobody", None)
    # Rolling the widening back is refused: v1 cannot read the None that the wider type wrote.
    with pytest.raises(ManifestMismatch, match=r"new code cannot read values written before: \$\.age"):
        db.namespace("users", Msgspec(V1))


def test_the_check_is_against_every_schema_since_the_last_migration(db: Namespaces) -> None:
    db.namespace("users", Msgspec(V1))["ada"] = V1("Ada", 36)
    db.namespace("users", Msgspec(NO_AGE))["bob"] = NO_AGE("Bob")  # backward: the age is ignored
    # Compatible with the last schema, not with the first: ada's age is an integer.
    with pytest.raises(ManifestMismatch) as info:
        db.namespace("users", Msgspec(AGE_TEXT))
    assert info.value.problems == [
        'new code cannot read values written before: $.age: changed from {"type": "integer"} to '
        '{"type": "string"}'
    ]
    assert len(db.manifest("users").earlier_schemas) == 1


def test_full_refuses_what_only_one_direction_allows(db: Namespaces) -> None:
    db.namespace("users", Msgspec(V1), compatibility="full")["ada"] = V1("Ada", 36)
    assert db.namespace("users", Msgspec(V2))["ada"] == V2("Ada", 36, None)
    for changed, problem in [(WIDER, "$.age: changed"), (NO_AGE, "$.age: removed (code recorded before")]:
        with pytest.raises(ManifestMismatch) as info:
            db.namespace("users", Msgspec(changed))
        assert info.value.namespace == "users"
        assert any(problem in p for p in info.value.problems), info.value.problems
        assert "(compatibility 'full')" in str(info.value)


def test_the_mode_is_recorded_and_changed_explicitly(db: Namespaces) -> None:
    db.namespace("users", Msgspec(V1), compatibility="full")
    assert db.manifest("users").compatibility == "full"
    with pytest.raises(ManifestMismatch, match=r"set_compatibility\('users', 'none'\)") as info:
        db.namespace("users", Msgspec(V1), compatibility="none")
    assert info.value.recorded == {"compatibility": "full"}
    assert info.value.requested == {"compatibility": "none"}
    db.set_compatibility("users", "none")
    assert db.namespace("users", Msgspec(AGE_TEXT), compatibility="none") is not None
    with pytest.raises(ConfigurationError, match="Expected a compatibility mode"):
        db.namespace("other", Msgspec(V1), compatibility="both")  # type: ignore[arg-type]  # the point
    with pytest.raises(ConfigurationError, match="Expected a compatibility mode"):
        db.set_compatibility("users", "FULL")  # type: ignore[arg-type]  # the point of the test


def test_pydantic_namespaces_evolve_under_full(db: Namespaces) -> None:
    old = pydantic.create_model("Account", __module__=__name__, id=(int, ...))
    new = pydantic.create_model("Account", __module__=__name__, id=(int, ...), note=(str | None, None))
    mode: Mode = "full"
    db.namespace("accounts", Pydantic(old), compatibility=mode)["a"] = old(id=1)
    db.namespace("accounts", Pydantic(new))["b"] = new(id=2, note="hi")
    assert db.namespace("accounts", Pydantic(old))["b"].model_dump() == {"id": 2}
