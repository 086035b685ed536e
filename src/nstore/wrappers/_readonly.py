"""ReadOnlyStore: reads forwarded, every write refused with ReadOnlyError."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, NoReturn, TypeVar

from nstore.errors import ReadOnlyError
from nstore.wrappers._forwarding import ForwardingStore

__all__ = ["ReadOnlyStore", "refused"]

K = TypeVar("K")
V = TypeVar("V")


def refused(operation: str) -> ReadOnlyError:
    """The error of a write through a read-only store (sync or async)."""
    return ReadOnlyError(f"This store is read-only: {operation} refused. Write to the wrapped store instead.")


class ReadOnlyStore(ForwardingStore[K, V], Generic[K, V]):
    """A read-only window on a store: reads are forwarded, writes raise ReadOnlyError.

    :class:`~nstore.errors.ReadOnlyError` is also a :class:`PermissionError`. The mutating
    mapping methods (``pop``, ``update``, ``clear``, ...) go through the refused writes. The
    wrapped store can still be written by whoever holds it; ``close()`` closes it.
    :attr:`supports_atomic_writes` is False: nothing can be written through this store. Expiry:
    ``ttl(key)`` is forwarded; ``set(..., ttl=)`` and ``touch`` are writes, and refused.

    Examples
    --------
    >>> from nstore import MemoryStore
    >>> inner = MemoryStore[str, bytes]({"a": b"1"})
    >>> ro = ReadOnlyStore(inner)
    >>> ro["a"]
    b'1'
    >>> ro["a"] = b"2"
    Traceback (most recent call last):
    ...
    nstore.errors.ReadOnlyError: This store is read-only: set 'a' refused. Write to the wrapped store instead.
    """

    __slots__ = ()

    def _refuse(self, operation: str) -> NoReturn:
        raise refused(operation)

    def __setitem__(self, key: K, value: V, /) -> None:
        self._refuse(f"set {key!r}")

    def __delitem__(self, key: K, /) -> None:
        self._refuse(f"delete {key!r}")

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        self._refuse("set_many")

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        self._refuse(f"set {key!r}")

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        self._refuse(f"touch {key!r}")

    def delete_many(self, keys: Iterable[K], /) -> None:
        self._refuse("delete_many")

    def set_if_absent(self, key: K, value: V, /) -> bool:
        self._refuse(f"set_if_absent {key!r}")

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        self._refuse(f"compare_and_set {key!r}")

    @property
    def supports_atomic_writes(self) -> bool:
        return False
