"""Pickle: any Python object, optionally typed, optionally signed with HMAC-SHA256.

Unpickling runs code chosen by whoever wrote the bytes, so an unsigned ``Pickle`` is *unsafe*
(:attr:`~nstore.codecs.Codec.is_unsafe`): remote stores refuse it unless told every writer is
trusted. A signed ``Pickle(key=...)`` prefixes each value with an HMAC-SHA256 tag over the codec's
spec and the pickle, and checks the tag before unpickling anything: bytes written without the key
raise :class:`~nstore.errors.SignatureError` and are never unpickled.

A tag binds a value to the codec (its type and the key), not to the store key it is stored under:
someone who can write to the store can copy a signed value from one key to another, but cannot
forge or alter one.

Specs never contain the key, only ``"signed": true``. Rebuilding a signed codec from its spec
takes the key from ``Pickle.from_params(params, key=...)`` or, through
:func:`~nstore.codecs.from_spec`, from the environment variable ``NSTORE_PICKLE_KEY`` (its text,
UTF-8 encoded, is the key).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import os
import pickle
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

import msgspec

from nstore.codecs._codec import Codec
from nstore.codecs._spec import import_type, register, schema_fingerprint, type_path
from nstore.codecs._types import build
from nstore.errors import (
    ConfigurationError,
    DecodeError,
    EncodeError,
    SignatureError,
    SpecError,
    ValidationError,
)

__all__ = ["KEY_ENVIRONMENT_VARIABLE", "Pickle"]

T = TypeVar("T")

KEY_ENVIRONMENT_VARIABLE = "NSTORE_PICKLE_KEY"
"""Where :func:`~nstore.codecs.from_spec` finds the key of a signed pickle spec."""

MIN_KEY_SIZE = 16
PROTOCOL = 5
_TAG_SIZE = hashlib.sha256().digest_size


@register
@dataclass(frozen=True, init=False)
class Pickle(Codec[T, bytes], Generic[T]):
    """Python objects as pickles; ``Pickle(T)`` checks the type, ``key=`` signs them.

    ``Pickle()`` is a ``Codec[Any, bytes]``; ``Pickle(T)`` is a ``Codec[T, bytes]`` whose decode
    raises :class:`~nstore.errors.ValidationError` for an object that is not a ``T``.

    Parameters
    ----------
    type
        The class of the values, checked on encode and decode; None accepts any object.
    key
        An HMAC-SHA256 key of at least 16 bytes. Values are then signed, tags are verified
        before unpickling, and the codec is no longer unsafe.

    Examples
    --------
    >>> import datetime
    >>> codec = Pickle(datetime.date, key=b"0123456789abcdef")
    >>> codec.decode(codec.encode(datetime.date(2024, 1, 2)))
    datetime.date(2024, 1, 2)
    >>> codec.spec
    {'name': 'pickle', 'type': 'datetime:date', 'fingerprint': 'c844c1623b21ae0d', 'signed': True}
    >>> codec.is_unsafe, Pickle().is_unsafe
    (False, True)
    """

    type: builtins.type[T] | None
    key: bytes | None = field(repr=False)
    name = "pickle"

    _tag: Any = field(repr=False, compare=False, hash=False)

    @overload
    def __init__(self: Pickle[Any], type: None = None, *, key: bytes | None = None) -> None: ...
    @overload
    def __init__(self, type: builtins.type[T], *, key: bytes | None = None) -> None: ...
    def __init__(self, type: builtins.type[T] | None = None, *, key: bytes | None = None) -> None:
        tp: object = type  # checked at run time: callers may be untyped
        if tp is not None and not isinstance(tp, builtins.type):
            raise ConfigurationError(f"Expected a class or None for type. Got {tp!r} instead.")
        secret: object = key
        if secret is not None and (not isinstance(secret, bytes) or len(secret) < MIN_KEY_SIZE):
            got = f"{len(secret)} bytes" if isinstance(secret, bytes) else builtins.type(secret).__name__
            raise ConfigurationError(
                f"Expected at least {MIN_KEY_SIZE} bytes for key. Got {got} instead; "
                "generate a key with secrets.token_bytes(32)."
            )
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "key", key)
        tag = None
        if key is not None:
            # The tag covers the codec (its name and type) and then the pickle. Not the schema
            # fingerprint: a class that gains a field must not turn old values into forgeries.
            bound = {"name": self.name, "type": None if type is None else type_path(type), "signed": True}
            tag = hmac.new(key, json.dumps(bound, sort_keys=True).encode() + b"\0", hashlib.sha256)
        object.__setattr__(self, "_tag", tag)

    @property
    def is_unsafe(self) -> bool:
        return self.key is None

    def encode(self, value: T, /) -> bytes:
        if self.type is not None and not isinstance(value, self.type):
            raise EncodeError(self._wrong_type(value), codec=self.name)
        try:
            data = pickle.dumps(value, protocol=PROTOCOL)
        except Exception as exc:  # pickling runs arbitrary __reduce__ code; any failure is this value's
            got = builtins.type(value).__name__
            raise EncodeError(f"Cannot pickle {got}: {exc}", codec=self.name) from exc
        if self._tag is None:
            return data
        tag = self._tag.copy()
        tag.update(data)
        return tag.digest() + data  # type: ignore[no-any-return]  # hmac digest is bytes

    def decode(self, data: bytes, /) -> T:
        if self._tag is not None:
            data = self._verify(data)
        try:
            value = pickle.loads(data)
        except Exception as exc:  # garbage makes the unpickler raise nearly any exception type
            raise DecodeError(f"Expected a pickle: {exc!r}", codec=self.name) from exc
        if self.type is not None and not isinstance(value, self.type):
            raise ValidationError(self._wrong_type(value), codec=self.name)
        return value  # type: ignore[no-any-return]  # checked against self.type above when typed

    def _wrong_type(self, value: object) -> str:
        expected = getattr(self.type, "__qualname__", "?")
        return f"Expected an instance of {expected}. Got {builtins.type(value).__name__} instead"

    def _verify(self, data: bytes) -> bytes:
        raw: object = data  # checked at run time: the bytes come from outside
        if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) < _TAG_SIZE:
            raise SignatureError("Expected a signed pickle: the value is too short", codec=self.name)
        tag = self._tag.copy()
        payload = bytes(data[_TAG_SIZE:])
        tag.update(payload)
        if not hmac.compare_digest(tag.digest(), bytes(data[:_TAG_SIZE])):
            raise SignatureError(
                "The signature does not verify: the value was written with another key or codec, "
                "or altered; it was not unpickled",
                codec=self.name,
            )
        return payload

    def schema(self) -> dict[str, Any] | None:
        if self.type is None:
            return None
        try:
            return msgspec.json.schema(self.type)
        except (TypeError, NameError, ValueError):  # msgspec cannot describe it: no schema, no fingerprint
            return None

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.type is not None:
            params["type"] = type_path(self.type)
            schema = self.schema()
            if schema is not None:
                params["fingerprint"] = schema_fingerprint(schema)
        if self.key is not None:
            params["signed"] = True
        return params

    @classmethod
    def from_params(cls, params: dict[str, Any], *, key: bytes | None = None) -> Codec[Any, Any]:
        """Rebuild from :meth:`params`; a signed spec takes ``key`` or ``$NSTORE_PICKLE_KEY``."""
        params = dict(params)
        params.pop("fingerprint", None)
        path = params.pop("type", None)
        signed = params.pop("signed", False)
        if params:
            raise SpecError(f"Unexpected parameters {sorted(params)} in a 'pickle' spec.", codec=cls.name)
        if signed is not True and signed is not False:
            raise SpecError(f"Expected true or false for signed. Got {signed!r}.", codec=cls.name)
        if signed and key is None:
            text = os.environ.get(KEY_ENVIRONMENT_VARIABLE)
            if not text:
                raise SpecError(
                    "This pickle spec is signed and specs never hold the key: set "
                    f"{KEY_ENVIRONMENT_VARIABLE} or rebuild with Pickle.from_params(params, key=...).",
                    codec=cls.name,
                )
            key = text.encode()
        if not signed:
            key = None
        tp = None
        if path is not None:
            if not isinstance(path, str):
                raise SpecError("Expected an import path string for type in a 'pickle' spec.", codec=cls.name)
            tp = import_type(path)
        return build(cls.name, cls, tp, key=key)

    def __repr__(self) -> str:
        args = [] if self.type is None else [self.type.__qualname__]
        if self.key is not None:
            args.append("key=<secret>")
        return f"Pickle({', '.join(args)})"
