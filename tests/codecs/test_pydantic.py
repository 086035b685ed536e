"""Pydantic joins CodecTests, for a model and for a TypeAdapter type."""

from __future__ import annotations

import datetime
import warnings

import pytest
from hypothesis import strategies as st

from nstore.codecs import Codec, Pydantic, from_spec
from nstore.errors import ConfigurationError, DecodeError, EncodeError, SpecError, ValidationError
from tests.codecs.base import CodecTests
from tests.codecs.models import UserData, UserModel, user_data, user_models


class TestPydanticModel(CodecTests[UserModel, bytes]):
    has_schema = True

    def make_codec(self) -> Codec[UserModel, bytes]:
        return Pydantic(UserModel)

    def values(self) -> st.SearchStrategy[UserModel]:
        return user_models


class TestPydanticAdapter(CodecTests[list[UserData], bytes]):
    has_schema = True

    def make_codec(self) -> Codec[list[UserData], bytes]:
        return Pydantic(list[UserData])

    def values(self) -> st.SearchStrategy[list[UserData]]:
        return st.lists(user_data, max_size=3)


def test_spec_records_type_and_fingerprint() -> None:
    spec = Pydantic(UserModel).spec
    assert isinstance(spec, dict)
    assert spec == {
        "name": "pydantic",
        "type": "tests.codecs.models:UserModel",
        "fingerprint": spec["fingerprint"],
    }
    assert Pydantic(list[UserData]).params()["type"] == "builtins:list[tests.codecs.models:UserData]"
    assert from_spec({**spec, "fingerprint": "stale"}) == Pydantic(UserModel)


def test_validates_on_decode() -> None:
    codec = Pydantic(UserModel)
    with pytest.raises(ValidationError, match="Expected a valid UserModel") as info:
        codec.decode(b'{"id": "x"}')
    assert info.value.codec == "pydantic"


def test_invalid_json_is_a_decode_error_only() -> None:
    with pytest.raises(DecodeError, match="Expected JSON") as info:
        Pydantic(UserModel).decode(b"\xff{")
    assert not isinstance(info.value, ValidationError)


def test_encoding_a_value_of_another_type_fails() -> None:
    with pytest.raises(EncodeError, match="Cannot encode str"):
        Pydantic(UserModel).encode("not a model")  # type: ignore[arg-type]  # the run-time check


def test_unsupported_type_is_a_configuration_error() -> None:
    class Opaque:
        pass

    with pytest.raises(ConfigurationError, match="Expected a type pydantic supports"):
        Pydantic(Opaque)


def test_bad_spec_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="Expected an import path"):
        from_spec({"name": "pydantic"})
    with pytest.raises(SpecError, match="Bad parameters"):
        from_spec({"name": "pydantic", "type": "builtins:int", "strict": True})


def test_nested_value_of_another_type_fails_when_warnings_are_errors() -> None:
    model = UserModel(id=1, name="a", email="b", tags=[], score=0, active=True, created=_created(), counts={})
    object.__setattr__(model, "tags", "not a list")  # bypasses validation, as careless code might
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(EncodeError, match="Cannot encode UserModel"):
            Pydantic(UserModel).encode(model)


def _created() -> datetime.datetime:
    return datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
