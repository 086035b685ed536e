"""Codecs: typed, composable transformations of keys and values.

``Codec[A, B] | Codec[B, C]`` is a ``Codec[A, C]``; mypy rejects a chain whose types do not meet.
Every codec has a stable spec, and :func:`from_spec` rebuilds a codec or chain from it.
"""

from nstore.codecs._chain import Chain
from nstore.codecs._codec import Codec, Identity, Spec, StageSpec
from nstore.codecs._compress import Zlib
from nstore.codecs._keys import Base32, Base64, Hex, Prefix, Utf8
from nstore.codecs._msgspec import Msgspec
from nstore.codecs._pickle import Pickle
from nstore.codecs._pydantic import Pydantic
from nstore.codecs._spec import from_spec, import_type, register, schema_fingerprint, type_path
from nstore.codecs._zstd import Zstd

__all__ = [
    "Base32",
    "Base64",
    "Chain",
    "Codec",
    "Hex",
    "Identity",
    "Msgspec",
    "Pickle",
    "Prefix",
    "Pydantic",
    "Spec",
    "StageSpec",
    "Utf8",
    "Zlib",
    "Zstd",
    "from_spec",
    "import_type",
    "register",
    "schema_fingerprint",
    "type_path",
]
