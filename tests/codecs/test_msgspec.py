"""Msgspec joins CodecTests, in both formats and for generic types."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import pytest
from hypothesis import strategies as st

from nstore.codecs import Codec, Msgspec, Zstd, from_spec
from nstore.errors import ConfigurationError, DecodeError, EncodeError, SpecError, ValidationError
from tests.codecs.base import CodecTests
from tests.codecs.models import User, sample_user, users


class TestMsgspecMsgpack(CodecTests[User, bytes]):
    has_schema = True

    def make_codec(self) -> Codec[User, bytes]:
        return Msgspec(User)

    def values(self) -> st.SearchStrategy[User]:
        return users


class TestMsgspecJson(CodecTests[User, bytes]):
    has_schema = True

    def make_codec(self) -> Codec[User, bytes]:
        return Msgspec(User, format="json")

    def values(self) -> st.SearchStrategy[User]:
        return users


class TestMsgspecGeneric(CodecTests[dict[str, list[int]], bytes]):
    has_schema = True

    def make_codec(self) -> Codec[dict[str, list[int]], bytes]:
        return Msgspec(dict[str, list[int]])

    def values(self) -> st.SearchStrategy[dict[str, list[int]]]:
        return st.dictionaries(st.text(max_size=5), st.lists(st.integers(-(2**63), 2**63 - 1)), max_size=5)


def test_spec_records_type_format_and_fingerprint() -> None:
    spec = Msgspec(User, format="json").spec
    assert isinstance(spec, dict)
    assert spec == {
        "name": "msgspec",
        "type": "tests.codecs.models:User",
        "format": "json",
        "fingerprint": spec["fingerprint"],
    }
    assert len(spec["fingerprint"]) == 16
    assert Msgspec(list[User]).params()["type"] == "builtins:list[tests.codecs.models:User]"
    assert Msgspec(User).params()["fingerprint"] != Msgspec(list[User]).params()["fingerprint"]


def test_rebuild_ignores_the_recorded_fingerprint() -> None:
    spec = Msgspec(User).spec
    assert isinstance(spec, dict)
    spec = {**spec, "fingerprint": "0" * 16}
    assert from_spec(spec) == Msgspec(User)


def test_schema_violation_is_a_validation_error() -> None:
    codec = Msgspec(User)
    data = msgspec.msgpack.encode({"id": "not an int"})
    with pytest.raises(ValidationError, match=r"Expected a valid User: Expected `int`, got `str`"):
        codec.decode(data)


def test_garbage_is_a_decode_error_not_a_validation_error() -> None:
    with pytest.raises(DecodeError) as info:
        Msgspec(User, format="json").decode(b"{not json")
    assert not isinstance(info.value, ValidationError)
    assert info.value.codec == "msgspec"


def test_unencodable_value_is_an_encode_error() -> None:
    with pytest.raises(EncodeError, match="Cannot encode"):
        Msgspec(dict[str, object]).encode({"x": object()})


def test_typed_decoding_builds_the_type() -> None:
    codec = Msgspec(User)
    assert codec.decode(codec.encode(sample_user(3))) == sample_user(3)
    assert len(codec.encode(sample_user(3))) < 150


def test_bad_parameters_are_configuration_errors() -> None:
    with pytest.raises(
        ConfigurationError, match=r"Expected 'msgpack' or 'json' for format\. Got 'xml' instead\."
    ):
        Msgspec(User, format="xml")  # type: ignore[arg-type]  # the run-time check for untyped callers
    with pytest.raises(ConfigurationError, match="Expected a type msgspec supports"):
        Msgspec(object.__new__(object))  # type: ignore[arg-type]  # not a type at all


def test_unimportable_type_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="Cannot import"):
        from_spec({"name": "msgspec", "type": "tests.codecs.models:Nope", "format": "json"})
    with pytest.raises(SpecError, match="Expected an import path"):
        from_spec({"name": "msgspec", "format": "json"})
    with pytest.raises(SpecError, match="Bad parameters"):
        from_spec({"name": "msgspec", "type": "builtins:int", "colour": "red"})


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
def test_a_value_nested_too_deep_is_an_encode_or_decode_error(fmt: Literal["msgpack", "json"]) -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(20_000):
        inner.append([])
        inner = inner[0]
    codec = Msgspec(Any, format=fmt)
    with pytest.raises(EncodeError, match="maximum recursion depth"):
        codec.encode(deep)
    with pytest.raises(EncodeError, match="maximum recursion depth"):
        (codec | Zstd()).encode(deep)
    stored = b"\x91" * 100_000 + b"\xc0" if fmt == "msgpack" else b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(DecodeError, match="maximum recursion depth"):
        codec.decode(stored)
