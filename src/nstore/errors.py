"""The nstore error tree.

Every error nstore raises on purpose derives from :class:`NStoreError`. Errors that mean what a
built-in exception means also derive from that built-in, so ``except KeyError`` and
``except ValueError`` keep working::

    NStoreError
    ├── MissingKey (KeyError)                  a key that is not in the store
    ├── ConfigurationError (ValueError)        a bad parameter to a constructor or an option
    ├── UnsupportedOperation (NotImplementedError)
    │                                          the store has no such capability
    ├── KeyEncodingError (ValueError)          a key that cannot be encoded or decoded
    │   └── InvalidKey                         a key the backend refuses (hostile, too long, ...)
    ├── CodecError                             a codec failed
    │   ├── EncodeError (ValueError)           a value the codec cannot encode
    │   ├── DecodeError (ValueError)           bytes the codec cannot decode
    │   │   ├── ValidationError                decoded data violates the declared schema
    │   │   ├── DecodeLimitError               decoding would exceed a size limit
    │   │   └── SignatureError                 a signed value whose MAC does not verify
    │   └── SpecError (ValueError)             a codec spec that cannot be rebuilt
    ├── UnsafeCodecError (TypeError)           an unsafe codec on a remote store (unsigned pickle)
    ├── StoreError                             the store cannot do what was asked
    │   ├── ReadOnlyError (PermissionError)    a write to a read-only store
    │   ├── StoreClosed                        use after close()
    │   ├── StoreUnavailable (ConnectionError) a remote store or server cannot be reached
    │   ├── AuthError (PermissionError)        a remote store refused the credentials
    │   ├── InvalidValue (TypeError)           a value of a type the store cannot hold
    │   ├── ValueTooLarge (ValueError)         a value over the store's size limit
    │   ├── ConflictError                      a compare-and-set or create-only write lost
    │   └── CorruptStore                       on-disk data that is not an nstore store
    └── NamespaceError                         namespaces and their manifests
        ├── ManifestMismatch                   a namespace opened with another chain or schema
        ├── CorruptManifest (CorruptStore)     a manifest that is malformed or contradicts itself
        └── MigrationError                     a migration that cannot proceed
            └── MigrationFailed                values that do not decode, transform or validate

Messages say what was expected, what came, and what to do. They never contain filesystem paths
or secrets when they can cross the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "AuthError",
    "CodecError",
    "ConfigurationError",
    "ConflictError",
    "CorruptManifest",
    "CorruptStore",
    "DecodeError",
    "DecodeLimitError",
    "EncodeError",
    "InvalidKey",
    "InvalidValue",
    "KeyEncodingError",
    "ManifestMismatch",
    "MigrationError",
    "MigrationFailed",
    "MissingKey",
    "NStoreError",
    "NamespaceError",
    "ReadOnlyError",
    "SignatureError",
    "SpecError",
    "StoreClosed",
    "StoreError",
    "StoreUnavailable",
    "UnsafeCodecError",
    "UnsupportedOperation",
    "ValidationError",
    "ValueTooLarge",
]


class NStoreError(Exception):
    """Root of every error nstore raises on purpose."""


class MissingKey(NStoreError, KeyError):
    """A key that is not in the store.

    ``str()`` gives a readable message rather than ``KeyError``'s repr of its argument, and the
    missing key is kept in :attr:`key`.
    """

    def __init__(self, key: object) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return repr(self.key)


class ConfigurationError(NStoreError, ValueError):
    """A bad parameter to a constructor, a URL option or a setting."""


class UnsupportedOperation(NStoreError, NotImplementedError):
    """The store has no such capability (see its capability properties)."""


class KeyEncodingError(NStoreError, ValueError):
    """A key that cannot be encoded for, or decoded from, the layer below."""


class InvalidKey(KeyEncodingError):
    """A key the backend refuses: hostile, empty, too long, or reserved."""


class CodecError(NStoreError):
    """A codec failed. :attr:`codec` names it and :attr:`key` is the key, when known."""

    def __init__(self, message: str, *, codec: str | None = None, key: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.codec = codec
        self.key = key

    def __str__(self) -> str:
        parts = []
        if self.codec is not None:
            parts.append(f"codec {self.codec!r}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        return f"{self.message} ({', '.join(parts)})" if parts else self.message

    def with_key(self, key: object) -> CodecError:
        """Record the key the failing value belongs to, once, and return the error."""
        if self.key is None:
            self.key = key
        return self


class EncodeError(CodecError, ValueError):
    """A value the codec cannot encode."""


class DecodeError(CodecError, ValueError):
    """Bytes (or a key) the codec cannot decode."""


class ValidationError(DecodeError):
    """Decoded data that violates the declared type or schema."""


class DecodeLimitError(DecodeError):
    """Decoding would exceed a size limit; nothing past the limit was allocated."""


class SignatureError(DecodeError):
    """A signed value whose MAC does not verify; it was not deserialized."""


class SpecError(CodecError, ValueError):
    """A codec spec that cannot be rebuilt: unknown name, bad parameters, type not importable."""


class UnsafeCodecError(NStoreError, TypeError):
    """An unsafe codec (unsigned pickle) put on a remote store without ``trusted=True``."""


class StoreError(NStoreError):
    """The store cannot do what was asked."""


class ReadOnlyError(StoreError, PermissionError):
    """A write to a read-only store."""


class StoreClosed(StoreError):
    """The store was used after ``close()``."""


class StoreUnavailable(StoreError, ConnectionError):
    """A remote store or server cannot be reached, timed out, or failed (5xx)."""


class AuthError(StoreError, PermissionError):
    """A remote store refused the credentials (HTTP 401/403, Redis AUTH)."""


class InvalidValue(StoreError, TypeError):
    """A value of a type the store cannot hold (a bytes store given a str): add a value codec."""


class ValueTooLarge(StoreError, ValueError):
    """A value over the store's size limit (HTTP 413)."""


class ConflictError(StoreError):
    """A compare-and-set or create-only write lost against another writer."""


class CorruptStore(StoreError):
    """Data at the store's location that is not a readable nstore store."""


class NamespaceError(NStoreError):
    """Namespaces and their manifests."""


class ManifestMismatch(NamespaceError):
    """A namespace opened with a chain or schema other than the one recorded in its manifest.

    Besides the message (which ends with a diff of recorded and requested), the mismatch is kept
    as data for tools: :attr:`namespace`, :attr:`problems` (one line each), :attr:`recorded`
    and :attr:`requested` (JSON documents).
    """

    def __init__(
        self,
        message: str,
        *,
        namespace: str | None = None,
        problems: Sequence[str] = (),
        recorded: Mapping[str, Any] | None = None,
        requested: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.namespace = namespace
        self.problems = list(problems)
        self.recorded = dict(recorded or {})
        self.requested = dict(requested or {})


class CorruptManifest(NamespaceError, CorruptStore):
    """A manifest that is not a valid nstore manifest, or whose records contradict each other.

    :attr:`namespace` names the namespace and :attr:`field` the manifest field at fault
    (``"retired[0]"``, ``"name"``, ...). Nothing destructive runs on such a manifest.
    """

    def __init__(self, message: str, *, namespace: str, field: str) -> None:
        super().__init__(message)
        self.namespace = namespace
        self.field = field


class MigrationError(NamespaceError):
    """A migration that cannot proceed (no recorded chain, a conflicting migration, ...)."""


class MigrationFailed(MigrationError):
    """Values that the migration could not decode, transform or validate; nothing was switched.

    :attr:`failures` maps each failing key (up to a limit) to the reason, and :attr:`count` is
    the number of failing values in all.
    """

    def __init__(self, message: str, *, failures: Mapping[str, str], count: int) -> None:
        super().__init__(message)
        self.failures = dict(failures)
        self.count = count
