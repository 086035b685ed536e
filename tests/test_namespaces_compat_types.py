"""Compatibility of the types msgspec's JSON schema does not tell apart: ``str``, ``datetime`` and
``time``; ``bytes``; a mapping's key type. Each case opens a real namespace with v1, writes a value,
then opens it with v2: a change the decoders cannot read is refused with the path and both types;
one they can read is admitted, and v2 reads v1's value."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import pydantic
import pytest

from nstore import MemoryStore
from nstore._compat import Mode, compatibility_problems
from nstore.codecs import Msgspec, Pydantic, schema_fingerprint
from nstore.errors import ManifestMismatch
from nstore.namespaces import Namespaces
from nstore.stores.sqlite import SQLiteStore

Format = Literal["json", "msgpack"]
AWARE = Annotated[dt.datetime, msgspec.Meta(tz=True)]
NAIVE = Annotated[dt.datetime, msgspec.Meta(tz=False)]
NOON = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)


def rec(tp: Any, *more: tuple[str, Any, Any]) -> type[msgspec.Struct]:
    """A ``Rec`` of this module (the same import path for every version) with field ``f: tp``."""
    return msgspec.defstruct("Rec", [("f", tp), *more], module=__name__)


@pytest.fixture(params=["memory", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Namespaces]:
    if request.param == "memory":
        yield Namespaces(MemoryStore())
    else:
        with SQLiteStore(tmp_path / "compat.db") as store:
            yield Namespaces(store)


# (case, v1 field type, v1 value, v2 field type, mode, the problem's path and both types)
REFUSED: list[tuple[str, Any, Any, Any, Mode, str]] = [
    ("str to datetime", str, "not a date", dt.datetime, "full", "$.f: changed from str to datetime"),
    ("str to datetime", str, "not a date", dt.datetime, "backward", "$.f: changed from str to datetime"),
    ("str to time", str, "not a time", dt.time, "backward", "$.f: changed from str to time"),
    ("str to aware datetime", str, "x", AWARE, "backward", "$.f: changed from str to datetime-aware"),
    ("date to datetime", dt.date, dt.date(2024, 1, 1), dt.datetime, "backward",
     "$.f: changed from string of format date to datetime"),
    ("any datetime to aware", dt.datetime, dt.datetime(2024, 1, 1), AWARE, "backward",
     "$.f: changed from datetime to datetime-aware"),
    ("aware datetime to naive", AWARE, NOON, NAIVE, "backward",
     "$.f: changed from datetime-aware to datetime-naive"),
    ("aware datetime to str", AWARE, NOON, str, "backward", "$.f: changed from datetime-aware to str"),
    ("datetime to str", dt.datetime, NOON, str, "full", "$.f: changed from datetime to str"),
    ("bytes to str", bytes, b"\xff", str, "backward", "$.f: changed from bytes to str"),
    ("dict[str, int] to dict[int, int]", dict[str, int], {"k": 1}, dict[int, int], "backward",
     '$.f.<keys>: changed from {"type": "string"} to {"type": "integer"}'),
    ("dict[str, int] to dict[int, int]", dict[str, int], {"k": 1}, dict[int, int], "full",
     '$.f.<keys>: changed from {"type": "string"} to {"type": "integer"}'),
    ("dict[int, int] to dict[str, int]", dict[int, int], {1: 1}, dict[str, int], "backward",
     '$.f.<keys>: changed from {"type": "integer"} to {"type": "string"}'),
    ("a datetime in a list", list[str], ["x"], list[dt.datetime], "backward",
     "$.f[]: changed from str to datetime"),
    ("a datetime in a union", str | None, "x", dt.datetime | None, "backward",
     "$.f: changed from str to datetime"),
    ("a datetime as a dict value", dict[str, str], {"k": "x"}, dict[str, dt.time], "backward",
     "$.f.*: changed from str to time"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
@pytest.mark.parametrize(("case", "t1", "value", "t2", "mode", "problem"), REFUSED,
                         ids=[f"{row[0]}-{row[4]}" for row in REFUSED])  # fmt: skip
def test_a_change_the_decoder_cannot_read_is_refused(
    db: Namespaces, fmt: Format, case: str, t1: Any, value: Any, t2: Any, mode: Mode, problem: str
) -> None:
    v1, v2 = rec(t1), rec(t2)
    db.namespace("recs", Msgspec(v1, format=fmt), compatibility=mode)["r"] = v1(value)
    with pytest.raises(ManifestMismatch) as info:
        db.namespace("recs", Msgspec(v2, format=fmt))
    direction = "new code cannot read values written before" if mode != "forward" else "code recorded before"
    assert any(p.startswith(f"{direction}: {problem}") for p in info.value.problems), (
        case,
        info.value.problems,
    )
    assert problem in str(info.value)
    assert db.namespace("recs", Msgspec(v1, format=fmt))["r"] == v1(value)  # v1 still opens


# (case, v1 field type, v1 value, v2 field type, mode, what v2 reads; forward: what v2 writes)
ADMITTED: list[tuple[str, Any, Any, Any, Mode, Any]] = [
    ("aware datetime to any datetime", AWARE, NOON, dt.datetime, "backward", NOON),
    ("naive datetime to any datetime", NAIVE, dt.datetime(2024, 1, 1), dt.datetime, "backward",
     dt.datetime(2024, 1, 1)),
    ("naive datetime to str", NAIVE, dt.datetime(2024, 1, 1), str, "backward", "2024-01-01T00:00:00"),
    ("str to naive datetime, forward", str, "x", NAIVE, "forward", dt.datetime(2024, 1, 1)),
    ("time to str", dt.time, dt.time(1), str, "backward", "01:00:00"),
    ("uuid to str", uuid.UUID, uuid.UUID(int=1), str, "backward", str(uuid.UUID(int=1))),
    ("date to str", dt.date, dt.date(2024, 1, 1), str, "backward", "2024-01-01"),
    ("widen a dict's values", dict[int, int], {1: 1}, dict[int, float], "backward", {1: 1.0}),
    ("uuid keys to str keys", dict[uuid.UUID, int], {uuid.UUID(int=1): 1}, dict[str, int], "backward",
     {str(uuid.UUID(int=1)): 1}),
    ("datetime to datetime or None", dt.datetime, NOON, dt.datetime | None, "backward", NOON),
    ("bytes to bytes or None", bytes, b"\xff", bytes | None, "backward", b"\xff"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
@pytest.mark.parametrize(("case", "t1", "value", "t2", "mode", "read"), ADMITTED,
                         ids=[row[0] for row in ADMITTED])  # fmt: skip
def test_a_change_the_decoder_reads_is_admitted(
    db: Namespaces, fmt: Format, case: str, t1: Any, value: Any, t2: Any, mode: Mode, read: Any
) -> None:
    v1, v2 = rec(t1), rec(t2)
    db.namespace("recs", Msgspec(v1, format=fmt), compatibility=mode)["r"] = v1(value)
    new = db.namespace("recs", Msgspec(v2, format=fmt))
    if mode == "forward":  # old code (running still, its schema checked when it opened) reads new values
        new["n"] = v2(read)
        assert Msgspec(v1, format=fmt).decode(db.store[db.manifest("recs").prefix + "n"]) == v1(
            read.isoformat()
        )
    else:
        assert new["r"] == v2(read), case


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
@pytest.mark.parametrize("mode", ["backward", "full"])
def test_adding_a_field_beside_datetimes_and_keyed_dicts_is_admitted(
    db: Namespaces, fmt: Format, mode: Mode
) -> None:
    fields: list[tuple[str, Any, Any]] = [("at", dt.time, dt.time(0)), ("counts", dict[int, int], {})]
    v1 = rec(dt.datetime, *fields)
    v2 = rec(dt.datetime, *fields, ("note", str | None, None))
    db.namespace("recs", Msgspec(v1, format=fmt), compatibility=mode)["r"] = v1(NOON, dt.time(1), {1: 2})
    assert db.namespace("recs", Msgspec(v2, format=fmt))["r"] == v2(NOON, dt.time(1), {1: 2}, None)


def test_a_schema_recorded_without_the_types_is_judged_as_before() -> None:
    """A namespace recorded by an nstore that did not name the types still opens with its type."""
    v1 = rec(dt.datetime, ("counts", dict[int, int], {}), ("at", AWARE, NOON))
    v2 = rec(dt.datetime, ("counts", dict[int, int], {}), ("at", AWARE, NOON), ("note", str | None, None))
    plain = msgspec.json.schema(v1)
    assert compatibility_problems("full", [plain], Msgspec(v1).schema()) == []
    assert compatibility_problems("full", [plain], Msgspec(v2).schema()) == []
    assert compatibility_problems("backward", [msgspec.json.schema(rec(dt.date))], Msgspec(v1).schema())


def model(tp: Any) -> type[pydantic.BaseModel]:
    return pydantic.create_model("Rec", __module__=__name__, f=(tp, ...))


@pytest.mark.parametrize("mode", ["backward", "full"])
def test_pydantic_refuses_another_key_type(db: Namespaces, mode: Mode) -> None:
    v1, v2 = model(dict[str, int]), model(dict[int, int])
    db.namespace("recs", Pydantic(v1), compatibility=mode)["r"] = v1(f={"k": 1})
    with pytest.raises(ManifestMismatch) as info:
        db.namespace("recs", Pydantic(v2))
    assert info.value.problems == [
        'new code cannot read values written before: $.f.<keys>: changed from {"type": "string"} to '
        '{"type": "integer"}'
    ]


@pytest.mark.parametrize(("t1", "value", "t2", "read"), [
    (dict[int, int], {1: 1}, dict[str, int], {"1": 1}),  # JSON keys are strings: a str reads them all
    (dict[int, int], {1: 1}, dict[int, float], {1: 1.0}),
    (dt.datetime, NOON, str, "2024-01-01T12:00:00Z"),  # pydantic writes JSON only
])  # fmt: skip
def test_pydantic_admits_what_it_reads(db: Namespaces, t1: Any, value: Any, t2: Any, read: Any) -> None:
    v1, v2 = model(t1), model(t2)
    db.namespace("recs", Pydantic(v1))["r"] = v1(f=value)
    assert db.namespace("recs", Pydantic(v2))["r"] == v2(f=read)


def test_a_namespace_recorded_without_the_types_opens_and_evolves(tmp_path: Path) -> None:
    """A manifest whose schema is msgspec's alone (as an earlier nstore recorded it) still opens."""
    v1 = rec(dt.datetime, ("counts", dict[int, int], {}))
    v2 = rec(dt.datetime, ("counts", dict[int, int], {}), ("note", str | None, None))
    with SQLiteStore(tmp_path / "old.db") as store:
        db = Namespaces(store)
        db.namespace("recs", Msgspec(v1))["r"] = v1(NOON, {1: 2})
        key = "_nstore/namespaces/recs"
        manifest = json.loads(store[key])
        manifest["schema"] = msgspec.json.schema(v1)
        manifest["fingerprint"] = schema_fingerprint(manifest["schema"])
        store[key] = json.dumps(manifest).encode()
        assert db.namespace("recs", Msgspec(v1))["r"] == v1(NOON, {1: 2})
        assert db.namespace("recs", Msgspec(v2))["r"] == v2(NOON, {1: 2}, None)
        assert db.manifest("recs").earlier_schemas[0].schema == msgspec.json.schema(v1)


def test_the_problem_says_what_msgpack_writes() -> None:
    for t1, why in [(bytes, "bytes as binary"), (AWARE, "an aware datetime as a timestamp")]:
        assert compatibility_problems(
            "backward", [Msgspec(rec(t1)).schema()], Msgspec(rec(str)).schema()
        ) == [
            f"new code cannot read values written before: $.f: changed from {_kind(t1)} to str, which cannot "
            f"read the values (msgpack writes {why})"
        ]


def _kind(tp: Any) -> str:
    return "bytes" if tp is bytes else "datetime-aware"
