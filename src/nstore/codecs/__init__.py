"""Codecs: typed, composable transformations of keys and values.

``Codec[A, B] | Codec[B, C]`` is a ``Codec[A, C]``; mypy rejects a chain whose types do not meet.
Every codec has a stable spec, and :func:`from_spec` rebuilds a codec or chain from it.
"""

from nstore.codecs._codec import (
    Chain,
    Codec,
    Identity,
    Spec,
    StageSpec,
    from_spec,
    import_type,
    register,
    schema_fingerprint,
    type_path,
)
from nstore.codecs._keys import Base32, Base64, Hex, Prefix, Utf8

__all__ = [
    "Base32",
    "Base64",
    "Chain",
    "Codec",
    "Hex",
    "Identity",
    "Prefix",
    "Spec",
    "StageSpec",
    "Utf8",
    "from_spec",
    "import_type",
    "register",
    "schema_fingerprint",
    "type_path",
]
