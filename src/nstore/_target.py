"""What a codec chain records in a manifest: its spec, value type, schema, and unportable types.

A type defined in a script (``__main__``) or inside a function works in the process that defines
it, but no other process can import it to rebuild the chain. Such a chain is still recorded (with
the type's path and its schema), and the manifest lists the type in ``local_types`` so that tools
can say why the chain cannot be rebuilt, and what to do. Pure: nothing here does I/O.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from nstore.codecs import Codec, schema_fingerprint
from nstore.errors import SpecError

__all__ = ["Target", "diff", "local_advice"]

_TYPE_TOKEN = re.compile(r"[^\[\],|\s]+")


@dataclass(frozen=True)
class Target:
    """What a codec chain would record: its spec, value type, schema and fingerprint."""

    chain: list[dict[str, Any]]
    value_type: str | None
    schema: dict[str, Any] | None
    fingerprint: str | None
    local_types: tuple[str, ...] = ()

    @classmethod
    def of(cls, codec: Codec[Any, bytes]) -> Target:
        chain: list[dict[str, Any]] = []
        local: list[str] = []
        for stage in codec.stages or (codec,):  # the identity codec has no stages
            try:
                spec = json.loads(json.dumps(stage.spec))
            except SpecError:  # a local type: recorded by its path, but cannot be rebuilt from it
                path = _local_path(getattr(stage, "type", None))
                spec = {"name": stage.name, "type": path, "codec": repr(stage)}
                local.append(path)
            else:
                local += _unportable(spec.get("type"))
            spec.pop("fingerprint", None)  # the schema is recorded, and compared, separately
            chain.append(spec)
        schema = codec.schema()
        value_type = chain[0].get("type") if chain else None
        return cls(
            chain=chain,
            value_type=value_type if isinstance(value_type, str) else None,
            schema=None if schema is None else json.loads(json.dumps(schema)),
            fingerprint=None if schema is None else schema_fingerprint(schema),
            local_types=tuple(dict.fromkeys(local)),
        )

    def fields(self) -> dict[str, Any]:
        """The fields a manifest (or a migration's record) takes from the chain."""
        return {
            "chain": self.chain,
            "value_type": self.value_type,
            "schema": self.schema,
            "fingerprint": self.fingerprint,
            "local_types": self.local_types,
        }

    def shown(self) -> dict[str, Any]:
        return {"chain": self.chain, "value_type": self.value_type, "fingerprint": self.fingerprint}


def _local_path(tp: object) -> str:
    if isinstance(tp, type):
        return f"{tp.__module__}:{tp.__qualname__}"
    return repr(tp)


def _unportable(recorded: object) -> list[str]:
    """The import paths in a recorded type expression that other processes cannot import."""
    if not isinstance(recorded, str):
        return []
    return [t for t in _TYPE_TOKEN.findall(recorded) if t.startswith("__main__:") or "<locals>" in t]


def local_advice(local_types: tuple[str, ...] | list[str]) -> str:
    """What to do about types only their own process can import (empty if there are none)."""
    if not local_types:
        return ""
    listed = ", ".join(repr(t) for t in local_types)
    return (
        f"The chain's type {listed} was defined in a script or inside a function, so only the process "
        "that defines it can rebuild the chain. Define the type in a module and put the module's "
        "directory on PYTHONPATH (or install it), then open the namespace from there."
    )


def diff(recorded: dict[str, Any], requested: dict[str, Any]) -> str:
    """A unified diff of two JSON documents, recorded first."""
    a = json.dumps(recorded, indent=2, sort_keys=True).splitlines()
    b = json.dumps(requested, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "recorded", "requested", lineterm="", n=2))
