"""The codec protocol: ``Codec[A, B]``, composition into flat chains, specs and the registry.

A codec is a pair of pure functions ``encode: A -> B`` and ``decode: B -> A``. Codecs compose with
``|``: ``Codec[A, B] | Codec[B, C]`` is a ``Codec[A, C]`` whose stages are flattened once, when it is
built, into one generated function per direction, so a call costs N + 1 function calls and no loop.

The chain's functions are nstore's one code generator (:func:`_compose`, with ``exec``), kept here
and nowhere else:

- What it generates: for each direction, one function ``composed(value)`` whose body applies the
  stages in order. A stage is either called (``value = f1(value)``), or, when the codec offers an
  :class:`Inline` (msgspec's encoder and decoder and their class check, zstd's decompression of a
  frame that cannot declare more than ``max_size``), its few statements are spliced in, inside a
  ``try`` whose handler hands the error and the input to the stage's ``recover``, which raises the
  stage's nstore error or takes the careful path.
- Why: the plain version (a loop over the stages' methods) pays a Python frame, a ``try`` and an
  attribute lookup per stage on every call. On ``Msgspec(User) | Zstd()`` that is about a quarter
  more per decode (about 0.3 µs on a 1.3 µs read; ``python -m benchmarks.bench_codecs``, "chain
  decode, generated vs plain loop"), which a typed in-memory store or cache reads on every hit.
- How it is tested: ``tests/codecs/test_inline.py`` checks that a chain encodes and decodes, and
  fails with the same error class, codec and message, exactly as its stages' methods called one
  after the other, on good input, garbage, truncated and oversized frames, values of the wrong
  type, and from several threads; every chain also joins the CodecTests suite.

Every codec describes itself as a stable, JSON-able spec (``{"name": "zstd", "level": 3}``); a
chain's spec is the list of its stages' specs. :func:`from_spec` rebuilds a codec or chain from
its spec through the registry that :func:`register` fills.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, cast

from nstore.errors import ConfigurationError, DecodeError, EncodeError, SpecError

__all__ = [
    "Chain",
    "Codec",
    "Identity",
    "Inline",
    "Spec",
    "StageSpec",
    "from_spec",
    "import_type",
    "register",
    "schema_fingerprint",
    "type_path",
]

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

_REGISTRY: dict[str, type[Codec[Any, Any]]] = {}


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


def _compose(steps: list[Callable[[Any], Any] | Inline]) -> Callable[[Any], Any]:
    """One function applying ``steps`` in order, generated once: no loop, and no call per inline.

    A plain step is called; an :class:`Inline` step's code is spliced in, inside a ``try`` that
    hands its errors to the step's ``recover`` (a ``try`` is free in the common path).
    """
    namespace: dict[str, Any] = {}
    lines = ["def composed(value, /):"]
    for i, step in enumerate(steps):
        if not isinstance(step, Inline):
            namespace[f"f{i}"] = step
            lines.append(f"    value = f{i}(value)")
            continue
        renamed = {name: f"s{i}_{name}" for name in (*step.names, *step.locals)}
        namespace.update({renamed[name]: obj for name, obj in step.names.items()})
        namespace[f"e{i}"], namespace[f"r{i}"] = step.errors, step.recover
        # The output is stored last: when the code raises, ``value`` still holds the input.
        code = step.code.format(value="value", out="value", **renamed)
        lines.append("    try:")
        lines += [f"        {line}" for line in code.splitlines()]
        lines += [f"    except e{i} as exc:", f"        value = r{i}(exc, value)"]
    lines.append("    return value")
    exec("\n".join(lines) + "\n", namespace)
    return cast("Callable[[Any], Any]", namespace["composed"])


class Chain(Codec[A, B]):
    """A flat chain of codecs, built by ``|``; its spec is the list of its stages' specs."""

    name = "chain"

    def __init__(self, stages: tuple[Codec[Any, Any], ...]) -> None:
        self._stages = stages
        # Instance attributes shadow the methods: a call goes straight to the generated function.
        self.__dict__["encode"] = _compose([s.inline_encode() or s.encode for s in stages])
        self.__dict__["decode"] = _compose([s.inline_decode() or s.decode for s in reversed(stages)])

    @property
    def stages(self) -> tuple[Codec[Any, Any], ...]:
        return self._stages

    @property
    def spec(self) -> Spec:
        return [cast("StageSpec", s.spec) for s in self._stages]

    @property
    def is_unsafe(self) -> bool:
        return any(s.is_unsafe for s in self._stages)

    def schema(self) -> dict[str, Any] | None:
        return self._stages[0].schema()

    @property
    def preserves_prefix(self) -> bool:
        return all(s.preserves_prefix for s in self._stages)

    def encode_prefix(self, prefix: A | None, /) -> B | None:
        current: Any = prefix
        for stage in self._stages:
            current = stage.encode_prefix(current)
        return cast("B | None", current)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and other._stages == self._stages

    def __hash__(self) -> int:
        return hash(self._stages)

    def __repr__(self) -> str:
        return " | ".join(repr(s) for s in self._stages)


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
        return {"object": _object_path(self._obj)}

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


def _object_path(obj: object) -> str:
    """The import path of a module-level object: a class, function, or named instance."""
    if isinstance(obj, type):
        return type_path(obj)
    module_name = type(obj).__module__
    names = [n for n, v in vars(sys.modules.get(module_name, sys)).items() if v is obj]
    if names and module_name in sys.modules:
        return f"{module_name}:{names[0]}"
    raise SpecError(f"{obj!r} has no import path: bind it to a module-level name to record it in a spec.")


CodecT = TypeVar("CodecT", bound=type[Codec[Any, Any]])


def register(cls: CodecT) -> CodecT:
    """Class decorator: make ``cls`` rebuildable from specs under ``cls.name``."""
    if not cls.name:
        raise SpecError(f"Codec class {cls.__qualname__} has no name to register under.")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise SpecError(f"Codec name {cls.name!r} is already registered by {existing.__qualname__}.")
    _REGISTRY[cls.name] = cls
    return cls


register(Identity)
register(_Wrapped)


def from_spec(spec: Spec | object) -> Codec[Any, Any]:
    """Rebuild a codec, or a chain from a list of stage specs.

    Raises :class:`~nstore.errors.SpecError` for an unknown name, bad parameters, or a type that
    cannot be imported.

    >>> from_spec([{"name": "prefix", "prefix": "a/"}, {"name": "utf8"}])
    Prefix(prefix='a/') | Utf8()
    """
    import nstore.codecs  # noqa: F401  (registers the built-in codecs)

    if isinstance(spec, list):
        result: Codec[Any, Any] = Identity()
        for stage in spec:
            result = result | from_spec(stage)
        return result
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):  # JSON from outside
        raise SpecError(f"Expected a dict with a string 'name', or a list of them. Got {spec!r}.")
    params = dict(spec)
    name = params.pop("name")
    cls = _REGISTRY.get(name)
    if cls is None:
        known = ", ".join(sorted(_REGISTRY))
        raise SpecError(f"Unknown codec {name!r}. Known codecs: {known}.")
    return cls.from_params(params)


def type_path(obj: Any) -> str:
    """The import path ``module:qualname`` of a class (or module-level object)."""
    target = obj if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__")) else type(obj)
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if not module or not qualname or "<locals>" in qualname:
        raise SpecError(f"{obj!r} has no import path: define it at module level to record it in a spec.")
    return f"{module}:{qualname}"


def import_type(path: str) -> Any:
    """Import the object at ``module:qualname``; raise :class:`~nstore.errors.SpecError`."""
    module_name, sep, qualname = path.partition(":")
    if not sep or not module_name or not qualname:
        raise SpecError(f"Expected an import path 'module:qualname'. Got {path!r}.")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"Cannot import {path!r}: {exc}. Install the module that defines it.") from exc
    return obj


def schema_fingerprint(schema: Any) -> str:
    """A short, stable fingerprint of a JSON schema: sha256 of its canonical JSON, 16 hex digits."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
