"""Pydantic: models (or anything a ``TypeAdapter`` takes) as JSON, validated on decode.

pydantic is imported when the first ``Pydantic`` codec is built, not with nstore: it is the
heaviest import of the codecs and many applications never use it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nstore.codecs._codec import Codec
from nstore.codecs._finite import non_finite, non_finite_message
from nstore.codecs._spec import register, schema_fingerprint
from nstore.codecs._types import class_of, exact_classes, format_type, plain_type, rebuild_typed, type_name
from nstore.errors import ConfigurationError, DecodeError, EncodeError, ValidationError

if TYPE_CHECKING:
    import pydantic
    from typing_extensions import TypeForm

__all__ = ["Pydantic"]

T = TypeVar("T")


@register
@dataclass(frozen=True, eq=True)
class Pydantic(Codec[T, bytes], Generic[T]):
    """Values of type ``T`` as JSON through pydantic, validated on decode.

    ``T`` is a ``BaseModel`` or any type a ``pydantic.TypeAdapter`` takes (``list[Model]``, a
    dataclass, a ``TypedDict``, builtins). Decoding validates: bytes that are not JSON raise
    :class:`~nstore.errors.DecodeError`, JSON that fails validation raises
    :class:`~nstore.errors.ValidationError`. Encoding a value that is not a ``T`` raises
    :class:`~nstore.errors.EncodeError` rather than writing what pydantic would guess (pydantic
    serializes another model, or a subclass, with ``T``'s fields and drops the others). When ``T``
    is a class or a union of classes the value's class must be one of them exactly; otherwise
    (``list[Model]``, ``dict[str, int]``) the value is validated in strict mode first. Inside the
    value, a field holding a value of another type (assigned after validation) is refused, and so
    is an instance of a subclass of a model the type names (a ``ProductV2`` in a
    ``list[Product]`` or in a field typed ``Product``), whose own fields pydantic would drop. A
    NaN or an infinity is refused too: JSON has none, and pydantic would write ``null``.

    The spec records the type's import path (``type``) and the ``fingerprint`` of its JSON schema.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class Point(BaseModel):
    ...     x: int
    ...     y: int
    >>> codec = Pydantic(Point)
    >>> codec.encode(Point(x=1, y=2))
    b'{"x":1,"y":2}'
    >>> codec.decode(b'{"x":1,"y":"2"}')
    Point(x=1, y=2)
    """

    type: TypeForm[T]
    name = "pydantic"

    _adapter: pydantic.TypeAdapter[T] = field(init=False, repr=False, compare=False)
    _to_json: Any = field(init=False, repr=False, compare=False)
    _validate_json: Any = field(init=False, repr=False, compare=False)
    _validate_python: Any = field(init=False, repr=False, compare=False)
    _to_python: Any = field(init=False, repr=False, compare=False)
    _nested: tuple[builtins.type, ...] = field(init=False, repr=False, compare=False)
    _classes: frozenset[builtins.type] | None = field(init=False, repr=False, compare=False)
    _invalid: builtins.type[pydantic.ValidationError] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # typing.List[int] as list[int]: the codec rebuilt from the spec is then equal to this one.
        object.__setattr__(self, "type", plain_type(self.type))
        import pydantic

        try:
            adapter = pydantic.TypeAdapter(self.type)
        except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
            raise ConfigurationError(
                f"Expected a type pydantic supports for type. Got {self.type!r} instead: {exc}"
            ) from exc
        # Built once: building the adapter compiles the validator and the serializer, which are
        # then called directly (TypeAdapter's own methods add keyword handling to every call).
        object.__setattr__(self, "_adapter", adapter)
        object.__setattr__(self, "_to_json", adapter.serializer.to_json)
        object.__setattr__(self, "_validate_json", adapter.validator.validate_json)
        object.__setattr__(self, "_validate_python", adapter.validator.validate_python)
        object.__setattr__(self, "_to_python", adapter.serializer.to_python)
        object.__setattr__(self, "_nested", _nested_classes(adapter.core_schema))
        object.__setattr__(self, "_classes", exact_classes(self.type))
        object.__setattr__(self, "_invalid", pydantic.ValidationError)

    def encode(self, value: T, /) -> bytes:
        if type(value) is not self.type:
            self._check_type(value)
        try:
            # warnings="error": a field holding a value of another type fails instead of being
            # written as pydantic guesses (and read back as something else, or not at all).
            data: bytes = self._to_json(value, warnings="error")
        except (TypeError, ValueError, UserWarning) as exc:
            raise self._encode_error(value, exc) from exc
        nested = self._nested
        if nested and any(map(builtins.type.__subclasses__, nested)):
            self._check_no_subclass(value, data)
        if b"null" in data:  # None, or a float JSON cannot hold: only then look for the float
            number = non_finite(self._to_python(value, warnings=False))
            if number is not None:
                raise EncodeError(
                    non_finite_message(type_name(self.type), value, number, "pydantic"), codec=self.name
                )
        return data

    def _check_type(self, value: object) -> None:
        """Raise EncodeError unless ``value``, of another class than the type, is a ``T``."""
        expected = type_name(self.type)
        if self._classes is not None:
            if type(value) not in self._classes:
                raise EncodeError(
                    f"Expected a {expected}. Got {class_of(value, expected)} instead: only a "
                    f"{expected} is written whole and read back as one (build a {expected} from the "
                    "value first)",
                    codec=self.name,
                )
            return
        try:
            self._validate_python(value, strict=True)
        except self._invalid as exc:
            raise EncodeError(
                f"Expected a {expected}. Got a {type(value).__name__} that is not one: {exc}", codec=self.name
            ) from exc

    def _check_no_subclass(self, value: object, data: bytes) -> None:
        """Raise EncodeError if ``value`` holds a subclass instance that ``data`` lost fields of.

        Strict validation takes a subclass instance for a model, and pydantic writes it with the
        model's fields; written as the instance's own class it would differ.
        """
        try:
            whole = self._to_json(value, serialize_as_any=True, warnings=False)
        except (TypeError, ValueError) as exc:
            raise self._encode_error(value, exc) from exc
        if whole != data:
            expected = type_name(self.type)
            bases = ", ".join(cls.__qualname__ for cls in self._nested if cls.__subclasses__())
            raise EncodeError(
                f"Expected a {expected} holding the models it names. Got a {type(value).__name__} "
                f"holding an instance of a subclass of {bases} instead: pydantic would write it with "
                f"its base class's fields and drop its own (build the value from {bases} first, or "
                "name the subclass in the type)",
                codec=self.name,
            )

    def _encode_error(self, value: object, exc: Exception) -> EncodeError:
        # PydanticSerializationError is a ValueError; so is a field holding another type.
        got, expected = type(value).__name__, type_name(self.type)
        return EncodeError(
            f"Cannot encode {got}. Expected a {expected} that pydantic writes as one. Got a {got} it "
            f"does not instead: {exc} (a field assigned a value of another type after validation is "
            "one cause: validate the value again, or set validate_assignment=True on the model)",
            codec=self.name,
        )

    def decode(self, data: bytes, /) -> T:
        try:
            return self._validate_json(data)  # type: ignore[no-any-return]  # the validator builds a T
        except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            if not isinstance(exc, self._invalid):
                raise DecodeError(f"Expected JSON bytes: {exc}", codec=self.name) from exc
            if all(error["type"] == "json_invalid" for error in exc.errors()):
                raise DecodeError(f"Expected JSON: {_first_error(exc)}", codec=self.name) from exc
            raise ValidationError(f"Expected a valid {type_name(self.type)}: {exc}", codec=self.name) from exc

    def schema(self) -> dict[str, Any] | None:
        import pydantic

        from nstore._kinds import pydantic_generator  # records a mapping's key type

        try:
            return self._adapter.json_schema(schema_generator=pydantic_generator())
        except pydantic.PydanticUserError:  # e.g. a type with no JSON schema
            return None

    def params(self) -> dict[str, Any]:
        return {"type": format_type(self.type), "fingerprint": schema_fingerprint(self.schema())}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Codec[Any, Any]:
        return rebuild_typed(cls.name, cls, params)

    def __repr__(self) -> str:
        return f"Pydantic({type_name(self.type)})"


def _first_error(exc: pydantic.ValidationError) -> str:
    errors = exc.errors()
    return str(errors[0]["msg"]) if errors else str(exc)


def _nested_classes(schema: Any) -> tuple[builtins.type, ...]:
    """The model and dataclass classes inside a pydantic core schema, but for the outermost one.

    The outermost class is checked by the value's class; the others could hold a subclass
    instance that strict validation takes.
    """
    found: dict[builtins.type, None] = {}
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("model", "dataclass") and node is not schema:
                found[node["cls"]] = None
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return tuple(found)
