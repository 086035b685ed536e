"""Pydantic joins CodecTests, for a model and for a TypeAdapter type."""

from __future__ import annotations

import datetime
import warnings
from typing import Any

import pydantic
import pytest
from hypothesis import strategies as st

from nstore.codecs import Codec, Pydantic, Zstd, from_spec
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
    with pytest.raises(EncodeError, match=r"Expected a UserModel\. Got str instead"):
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


class Product(pydantic.BaseModel):
    sku: str
    price: float


class ProductV2(pydantic.BaseModel):
    sku: str


class SpecialProduct(ProductV2):
    colour: str


def refused(codec: Codec[Any, bytes], value: object) -> EncodeError:
    with pytest.raises(EncodeError) as info:
        codec.encode(value)
    assert info.value.codec == "pydantic"
    return info.value


def test_pydantic_refuses_another_model() -> None:
    error = refused(Pydantic(ProductV2), Product(sku="p1", price=2.0))
    assert "Expected a ProductV2. Got Product instead" in str(error)
    refused(Pydantic(ProductV2) | Zstd(), Product(sku="p1", price=2.0))
    # A subclass would be written with ProductV2's fields only: its own would be lost.
    refused(Pydantic(ProductV2), SpecialProduct(sku="p1", colour="red"))
    refused(Pydantic(ProductV2), {"sku": "p1"})


@pytest.mark.parametrize(
    ("tp", "good", "bad"),
    [
        (list[ProductV2], [ProductV2(sku="a")], [Product(sku="p1", price=2.0)]),
        (ProductV2 | None, None, Product(sku="p1", price=2.0)),
        (dict[str, int], {"a": 1}, {"a": "1"}),
        (int, 1, True),
    ],
    ids=repr,
)
def test_pydantic_refuses_what_is_not_a_t(tp: Any, good: object, bad: object) -> None:
    codec: Codec[Any, bytes] = Pydantic(tp)
    assert codec.decode(codec.encode(good)) == good
    assert "Expected a" in str(refused(codec, bad))
