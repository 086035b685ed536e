"""The forwarding base: a store over a store that forwards everything it does not change."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from nstore._capabilities import ForwardedCapabilities
from nstore.store import KeyPage, Store

__all__ = ["ForwardingStore"]

K = TypeVar("K")
V = TypeVar("V")


class ForwardingStore(ForwardedCapabilities, Store[K, V], Generic[K, V]):
    """A store that forwards every operation to :attr:`store`, unchanged.

    Wrappers subclass it and override only what they change, so a capability, a bulk operation,
    a conditional write or ``close`` added to the wrapped store is never silently replaced by
    :class:`~nstore.Store`'s slower (or unsupported) default.

    Examples
    --------
    >>> from nstore import MemoryStore
    >>> inner = MemoryStore[str, int]()
    >>> outer = ForwardingStore(inner)
    >>> outer["a"] = 1
    >>> inner["a"], outer.supports_atomic_writes
    (1, True)
    """

    __slots__ = ("_store",)

    def __init__(self, store: Store[K, V]) -> None:
        self._store: Store[K, V] = store

    @property
    def store(self) -> Store[K, V]:
        """The wrapped store."""
        return self._store

    def __getitem__(self, key: K, /) -> V:
        return self._store[key]

    def __setitem__(self, key: K, value: V, /) -> None:
        self._store[key] = value

    def __delitem__(self, key: K, /) -> None:
        del self._store[key]

    def __contains__(self, key: object, /) -> bool:
        return key in self._store

    def __len__(self) -> int:
        return len(self._store)

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited
        return self._store.iter_keys(prefix)

    def keys_page(
        self, prefix: K | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[K]:
        # docstring inherited
        return self._store.keys_page(prefix, cursor=cursor, limit=limit)

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited
        return self._store.count_keys(prefix)

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        return self._store.get_many(keys)

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        self._store.set_many(items, ttl=ttl)

    def delete_many(self, keys: Iterable[K], /) -> None:
        self._store.delete_many(keys)

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        self._store.set(key, value, ttl=ttl)

    def ttl(self, key: K, /) -> float | None:
        return self._store.ttl(key)

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        self._store.touch(key, ttl=ttl)

    def set_if_absent(self, key: K, value: V, /) -> bool:
        return self._store.set_if_absent(key, value)

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        return self._store.compare_and_set(key, expected, value)

    def close(self) -> None:
        self._store.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r})"
