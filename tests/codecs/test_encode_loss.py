"""Encoding refuses what would be written with less than the value holds, and writes nothing.

Cases where the library writes something that reads back as another value: a subclass instance
inside a container or a model field (pydantic keeps the declared class's fields), a model field
assigned a value of another type after validation, NaN and infinity in JSON (written as
``null``), keys that JSON turns into strings where the type says ``str``.
"""

from __future__ import annotations

import warnings
from typing import Any

import pydantic
import pytest

from nstore import MemoryStore
from nstore.codecs import Codec, Pydantic, Zstd
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
