"""The codec protocol: ``Codec[A, B]``, composition into flat chains, specs and the registry.

A codec is a pair of pure functions ``encode: A -> B`` and ``decode: B -> A``. Codecs compose with
``|``: ``Codec[A, B] | Codec[B, C]`` is a ``Codec[A, C]`` whose stages are flattened once, when it is
built, into one generated function per direction, so a call costs N + 1 function calls and no loop.

The chain and its generated functions are in :mod:`nstore.codecs._chain`; specs and the
registry in :mod:`nstore.codecs._spec`.

Every codec describes itself as a stable, JSON-able spec (``{"name": "zstd", "level": 3}``); a
chain's spec is the list of its stages' specs. :func:`from_spec` rebuilds a codec or chain from
its spec through the registry that :func:`register` fills.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, cast

from nstore.codecs._spec import import_type, object_path, register
from nstore.errors import ConfigurationError, DecodeError, EncodeError, SpecError

__all__ = ["Codec", "Identity", "Inline", "Spec", "StageSpec"]

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
A_contra = TypeVar("A_contra", contravariant=True)
B_co = TypeVar("B_co", covariant=True)
# wrap's own type variables: a static method sees A and B of an unspecialized Codec (pyright: Unknown).
WA = TypeVar("WA")
WB = TypeVar("WB")

StageSpec: TypeAlias = dict[str, Any]
"""One stage's spec: ``{"name": ..., **parameters}``, JSON-able."""
Spec: TypeAlias = StageSpec | list[StageSpec]
"""A codec's spec: one stage's spec, or a chain's list of them."""


class _EncodeDecode(Protocol[A, B]):
    def encode(self, value: A, /) -> B: ...

    def decode(self, data: B, /) -> A: ...


@dataclass(frozen=True, slots=True)
class Inline:
    """One direction of a stage as code that :class:`Chain` inlines, without a method call.

    ``code`` is Python statements that read the stage's input from ``{value}`` and store its
    output in ``{out}`` as their last step that can raise ``errors`` (``{out}`` and ``{value}`` are
    one variable); ``{name}`` stands for each object in ``names`` and for each local
    variable in ``locals``. When the code raises one of ``errors``, the chain calls
    ``recover(exc, input)``, which raises the stage's nstore error or returns the output by a
    slower, careful path: the common path pays for no Python wrapper, the error path is the same.
    """

    code: str
    names: Mapping[str, Any]
    errors: tuple[type[Exception], ...]
    recover: Callable[[Exception, Any], Any]
    locals: tuple[str, ...] = ()


class Codec(Generic[A, B]):
    """A typed, invertible transformation from ``A`` to ``B``.

    Subclasses set :attr:`name`, implement :meth:`encode` and :meth:`decode`, return their
    parameters from :meth:`params`, and are registered with :func:`register` so that their spec
    can be rebuilt. Codecs are pure functions of their input and safe to share between threads.

    Examples
    --------
    >>> from nstore.codecs import Prefix, Utf8
    >>> codec = Prefix("users/") | Utf8()
    >>> codec.encode("ada")
    b'users/ada'
    >>> codec.decode(b'users/ada')
    'ada'
    >>> codec.spec
    [{'name': 'prefix', 'prefix': 'users/'}, {'name': 'utf8'}]
    """

    name: ClassVar[str] = ""
    """The registry name of the codec; part of its spec."""

    def encode(self, value: A, /) -> B:
        """Encode ``value``; raise :class:`~nstore.errors.EncodeError` when it cannot be."""
        raise NotImplementedError

    def decode(self, data: B, /) -> A:
        """Decode ``data``; raise :class:`~nstore.errors.DecodeError` when it cannot be."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The codec's parameters, JSON-able, as :meth:`from_params` takes them back."""
        return {}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Codec[Any, Any]:
        """Rebuild a codec from :meth:`params`; raise :class:`~nstore.errors.SpecError`."""
        try:
            return cls(**params)
        except (TypeError, ConfigurationError) as exc:
            raise SpecError(f"Bad parameters {sorted(params)} for codec {cls.name!r}: {exc}") from exc

    def inline_encode(self) -> Inline | None:
        """:meth:`encode` as an :class:`Inline` for chains, or None to call the method."""
        return None

    def inline_decode(self) -> Inline | None:
        """:meth:`decode` as an :class:`Inline` for chains, or None to call the method."""
        return None

    @property
    def stages(self) -> tuple[Codec[Any, Any], ...]:
        """The flat tuple of single codecs this codec applies, in encoding order."""
        return (self,)

    @property
    def spec(self) -> Spec:
        """The stable description of this codec, from which :func:`from_spec` rebuilds it."""
        return {"name": self.name, **self.params()}

    @property
    def is_unsafe(self) -> bool:
        """True for codecs that may run code when decoding untrusted data (unsigned pickle)."""
        return False

    def schema(self) -> dict[str, Any] | None:
        """The JSON schema of the values a typed codec holds, or None for untyped codecs."""
        return None

    @property
    def preserves_prefix(self) -> bool:
        """True for key codecs whose :meth:`encode_prefix` maps every prefix exactly."""
        return False

    def encode_prefix(self, prefix: A | None, /) -> B | None:
        """Map a key prefix through the codec, for listing by prefix.

        Given ``prefix`` (None: every key), return ``P`` such that the encoding of every key that
        starts with ``prefix`` starts with ``P``, or None when nothing is known (the caller then
        lists every key and filters). Only key codecs that preserve prefixes override this.
        """
        return None

    def __or__(self, other: Codec[B, C], /) -> Codec[A, C]:
        stages = tuple(s for s in (*self.stages, *other.stages) if not isinstance(s, Identity))
        if not stages:
            return cast("Codec[A, C]", Identity())
        if len(stages) == 1:
            return cast("Codec[A, C]", stages[0])
        from nstore.codecs._chain import Chain  # the chain is built on this class

        return Chain(stages)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    @staticmethod
    def wrap(obj: _EncodeDecode[WA, WB], name: str | None = None) -> Codec[WA, WB]:
        """Adapt any object with ``encode`` and ``decode`` methods into a codec.

        Errors the object raises become :class:`~nstore.errors.EncodeError` and
        :class:`~nstore.errors.DecodeError`. The spec records the object's import path when it is
        importable (a module-level object), so :func:`from_spec` can rebuild it.
        """
        return _Wrapped(obj, name)


class Identity(Codec[A, A]):
    """The codec that changes nothing; the neutral element of ``|``."""

    name = "identity"

    def encode(self, value: A, /) -> A:
        return value

    def decode(self, data: A, /) -> A:
        return data

    @property
    def preserves_prefix(self) -> bool:
        return True

    def encode_prefix(self, prefix: A | None, /) -> A | None:
        return prefix

    @property
    def stages(self) -> tuple[Codec[Any, Any], ...]:
        return ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity)

    def __hash__(self) -> int:
        return hash(Identity)


class _Wrapped(Codec[A, B]):
    name = "wrap"

    def __init__(self, obj: _EncodeDecode[A, B], name: str | None = None) -> None:
        self._obj = obj
        self._label = name or type(obj).__name__

    def encode(self, value: A, /) -> B:
        try:
            return self._obj.encode(value)
        except Exception as exc:
            raise EncodeError(f"Cannot encode: {exc}", codec=self._label) from exc

    def decode(self, data: B, /) -> A:
        try:
            return self._obj.decode(data)
        except Exception as exc:
            raise DecodeError(f"Cannot decode: {exc}", codec=self._label) from exc

    def params(self) -> dict[str, Any]:
        return {"object": object_path(self._obj)}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Codec[Any, Any]:
        path = params.get("object")
        if not isinstance(path, str):
            raise SpecError("Expected an import path string for object in a 'wrap' spec.")
        return cls(cast("_EncodeDecode[Any, Any]", import_type(path)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Wrapped) and other._obj is self._obj

    def __hash__(self) -> int:
        return id(self._obj)

    def __repr__(self) -> str:
        return f"Codec.wrap({self._obj!r})"


register(Identity)
register(_Wrapped)
