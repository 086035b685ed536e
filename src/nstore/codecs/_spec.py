"""Specs and the registry: how a codec is described, recorded and rebuilt, and the import paths
and schema fingerprints that specs and manifests record."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from typing import TYPE_CHECKING, Any, TypeVar

from nstore.errors import SpecError

if TYPE_CHECKING:
    from nstore.codecs._codec import Codec, Spec

__all__ = ["from_spec", "import_type", "object_path", "register", "schema_fingerprint", "type_path"]

_REGISTRY: dict[str, type[Codec[Any, Any]]] = {}


def object_path(obj: object) -> str:
    """The import path of a module-level object: a class, function, or named instance."""
    if isinstance(obj, type):
        return type_path(obj)
    module_name = type(obj).__module__
    names = [n for n, v in vars(sys.modules.get(module_name, sys)).items() if v is obj]
    if names and module_name in sys.modules:
        return f"{module_name}:{names[0]}"
    raise SpecError(f"{obj!r} has no import path: bind it to a module-level name to record it in a spec.")


CodecT = TypeVar("CodecT", bound="type[Codec[Any, Any]]")


def register(cls: CodecT) -> CodecT:
    """Class decorator: make ``cls`` rebuildable from specs under ``cls.name``."""
    if not cls.name:
        raise SpecError(f"Codec class {cls.__qualname__} has no name to register under.")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise SpecError(f"Codec name {cls.name!r} is already registered by {existing.__qualname__}.")
    _REGISTRY[cls.name] = cls
    return cls


def from_spec(spec: Spec | object) -> Codec[Any, Any]:
    """Rebuild a codec, or a chain from a list of stage specs.

    Raises :class:`~nstore.errors.SpecError` for an unknown name, bad parameters, or a type that
    cannot be imported.

    >>> from_spec([{"name": "prefix", "prefix": "a/"}, {"name": "utf8"}])
    Prefix(prefix='a/') | Utf8()
    """
    import nstore.codecs  # noqa: F401  (registers the built-in codecs)
    from nstore.codecs._codec import Identity

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
