"""The async forwarding base: an async store over an async store that forwards what it does not change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Generic, TypeVar

from nstore._capabilities import ForwardedCapabilities
from nstore.astore import AsyncStore

__all__ = ["AsyncForwardingStore"]

K = TypeVar("K")
V = TypeVar("V")


class AsyncForwardingStore(ForwardedCapabilities, AsyncStore[K, V], Generic[K, V]):
    """An async store that forwards every operation to :attr:`store`, unchanged.

    The async wrappers subclass it and override only what they change, as the sync ones do
    :class:`~nstore.wrappers.ForwardingStore`; capabilities are the wrapped store's.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import AsyncMemoryStore
    >>> async def main() -> bytes:
    ...     async with AsyncForwardingStore(AsyncMemoryStore[str, bytes]()) as store:
    ...         await store.set("a", b"1")
    ...         return await store.store.get("a")
    >>> asyncio.run(main())
    b'1'
    """

    __slots__ = ("_store",)

    def __init__(self, store: AsyncStore[K, V]) -> None:
        self._store: AsyncStore[K, V] = store

    @property
    def store(self) -> AsyncStore[K, V]:
        """The wrapped store."""
        return self._store

    async def get(self, key: K, /) -> V:
        return await self._store.get(key)

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        await self._store.set(key, value, ttl=ttl)

    async def delete(self, key: K, /) -> None:
        await self._store.delete(key)

    async def contains(self, key: K, /) -> bool:
        return await self._store.contains(key)

    def iter_keys(self, prefix: K | None = None) -> AsyncIterator[K]:
        # docstring inherited
        return self._store.iter_keys(prefix)

    async def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        return await self._store.get_many(keys)

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        await self._store.set_many(items, ttl=ttl)

    async def delete_many(self, keys: Iterable[K], /) -> None:
        await self._store.delete_many(keys)

    async def ttl(self, key: K, /) -> float | None:
        return await self._store.ttl(key)

    async def touch(self, key: K, /, *, ttl: float | None) -> None:
        await self._store.touch(key, ttl=ttl)

    async def set_if_absent(self, key: K, value: V, /) -> bool:
        return await self._store.set_if_absent(key, value)

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        return await self._store.compare_and_set(key, expected, value)

    async def aclose(self) -> None:
        await self._store.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r})"
