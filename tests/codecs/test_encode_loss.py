"""Encoding refuses what would be written with less than the value holds, and writes nothing.

Cases where the library writes something that reads back as another value: a subclass instance
inside a container or a model field (pydantic keeps the declared class's fields), a model field
assigned a value of another type after validation, NaN and infinity in JSON (written as
``null``), keys that JSON turns into strings where the type says ``str``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import msgspec
import pydantic
import pytest

from nstore import MemoryStore
from nstore.codecs import Codec, Msgspec, Pydantic, Zstd
from nstore.errors import EncodeError


class Product(pydantic.BaseModel):
    sku: str


class ProductV2(Product):
    price: int


class Order(pydantic.BaseModel):
    item: Product


class Basket(pydantic.BaseModel):
    items: list[Product]
    total: float = 0.0


class Count(pydantic.BaseModel):
    x: int


class Reading(msgspec.Struct):
    name: str
    value: float | None


def refused(codec: Codec[Any, bytes], value: object, codec_name: str) -> EncodeError:
    with pytest.raises(EncodeError) as info:
        codec.encode(value)
    assert info.value.codec == codec_name
    return info.value


def writes_nothing(codec: Codec[Any, bytes], value: object) -> None:
    backend = MemoryStore[str, bytes]()
    values = backend.with_values(codec)
    with pytest.raises(EncodeError):
        values["k"] = value
    assert dict(backend) == {}


NESTED_SUBCLASSES = [
    (list[Product], [ProductV2(sku="p1", price=5)], [Product(sku="p1")]),
    (dict[str, Product], {"a": ProductV2(sku="p1", price=5)}, {"a": Product(sku="p1")}),
    (Order, Order(item=ProductV2(sku="p1", price=5)), Order(item=Product(sku="p1"))),
    (
        Basket,
        Basket(items=[Product(sku="a"), ProductV2(sku="p1", price=5)]),
        Basket(items=[Product(sku="a")]),
    ),
    (list[Order], [Order(item=ProductV2(sku="p1", price=5))], [Order(item=Product(sku="p1"))]),
]


@pytest.mark.parametrize(("tp", "bad", "good"), NESTED_SUBCLASSES, ids=repr)
def test_pydantic_refuses_a_subclass_inside_the_value(tp: Any, bad: object, good: object) -> None:
    codec: Codec[Any, bytes] = Pydantic(tp)
    assert codec.decode(codec.encode(good)) == good
    error = refused(codec, bad, "pydantic")
    assert "Expected a " in str(error)
    assert "ProductV2" in str(error) or "Product" in str(error)
    refused(codec | Zstd(), bad, "pydantic")
    writes_nothing(codec | Zstd(), bad)


def test_pydantic_refuses_a_field_of_another_type_without_warnings_as_errors() -> None:
    model = Count(x=1)
    model.x = "abc"  # type: ignore[assignment]  # no validate_assignment: pydantic keeps it
    for codec in (Pydantic(Count), Pydantic(Count) | Zstd()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            error = refused(codec, model, "pydantic")
        assert "Cannot encode Count" in str(error)
        assert caught == []
    writes_nothing(Pydantic(Count), model)
    assert Pydantic(Count).decode(Pydantic(Count).encode(Count(x=2))) == Count(x=2)


NON_FINITE = [float("nan"), float("inf"), float("-inf")]

JSON_CODECS: list[tuple[str, Codec[Any, bytes], Any]] = [
    ("msgspec", Msgspec(float, format="json"), lambda x: x),
    ("msgspec", Msgspec(float | None, format="json"), lambda x: x),
    ("msgspec", Msgspec(dict[str, float | None], format="json"), lambda x: {"x": x}),
    ("msgspec", Msgspec(list[float], format="json"), lambda x: [1.0, x]),
    ("msgspec", Msgspec(Reading, format="json"), lambda x: Reading("a", x)),
    ("msgspec", Msgspec(dict[str, Any], format="json"), lambda x: {"a": [None, {"b": x}]}),
    ("pydantic", Pydantic(float), lambda x: x),
    ("pydantic", Pydantic(float | None), lambda x: x),
    ("pydantic", Pydantic(Basket), lambda x: Basket(items=[], total=x)),
    ("pydantic", Pydantic(dict[str, float | None]), lambda x: {"a": None, "b": x}),
]


@pytest.mark.parametrize(("name", "codec", "wrap"), JSON_CODECS, ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("number", NON_FINITE, ids=repr)
def test_json_refuses_nan_and_infinity(name: str, codec: Codec[Any, bytes], wrap: Any, number: float) -> None:
    value = wrap(number)
    error = refused(codec, value, name)
    assert "JSON" in str(error)
    assert repr(number) in str(error)
    refused(codec | Zstd(), value, name)
    writes_nothing(codec, value)
    finite = wrap(1.5)
    assert codec.decode(codec.encode(finite)) == finite


def test_json_still_writes_none_and_the_word_null() -> None:
    optional: Codec[float | None, bytes] = Msgspec(float | None, format="json")
    assert optional.encode(None) == b"null"
    reading = Msgspec(Reading, format="json")
    assert reading.decode(reading.encode(Reading("null", None))) == Reading("null", None)
    assert Pydantic(float | None).encode(None) == b"null"


@pytest.mark.parametrize("number", NON_FINITE, ids=repr)
def test_msgpack_carries_nan_and_infinity(number: float) -> None:
    codec: Codec[float | None, bytes] = Msgspec(float | None)
    back = codec.decode(codec.encode(number))
    assert back is not None
    assert math.isnan(back) if math.isnan(number) else back == number
    reading = Msgspec(Reading) | Zstd()
    assert reading.decode(reading.encode(Reading("a", number))).value is not None


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
@pytest.mark.parametrize("value", [{1: "one", "1": "uno"}, {1: "x"}, {"a": 1, 2.5: "b"}], ids=repr)
def test_msgspec_refuses_a_key_that_is_not_a_str(fmt: Literal["msgpack", "json"], value: object) -> None:
    codec: Codec[Any, bytes] = Msgspec(dict[str, Any], format=fmt)
    error = refused(codec, value, "msgspec")
    assert "Expected a dict[str, Any]" in str(error)
    writes_nothing(codec, value)
    assert codec.decode(codec.encode({"1": "uno", "a": [1]})) == {"1": "uno", "a": [1]}
