"""AsyncReadOnlyStore: reads of an async store forwarded, every write refused with ReadOnlyError.

It refuses what :class:`~nstore.wrappers.ReadOnlyStore` refuses, with the same errors (``refused``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, NoReturn, TypeVar

from nstore.wrappers._aforwarding import AsyncForwardingStore
from nstore.wrappers._readonly import refused

__all__ = ["AsyncReadOnlyStore"]

K = TypeVar("K")
V = TypeVar("V")


class AsyncReadOnlyStore(AsyncForwardingStore[K, V], Generic[K, V]):
    """A read-only window on an async store: reads are forwarded, writes raise ReadOnlyError.

    As :class:`~nstore.wrappers.ReadOnlyStore`: ``ttl(key)`` is forwarded, ``set`` (with or
    without ``ttl``), ``touch``, ``delete``, bulk and conditional writes are refused;
    :attr:`supports_atomic_writes` is False; ``aclose()`` closes the wrapped store.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import AsyncMemoryStore
    >>> async def main() -> bytes:
    ...     store = AsyncReadOnlyStore(AsyncMemoryStore[str, bytes]({"a": b"1"}))
    ...     try:
    ...         await store.set("a", b"2")
    ...     except PermissionError as exc:
    ...         print(exc)
    ...     return await store.get("a")
    >>> asyncio.run(main())
    This store is read-only: set 'a' refused. Write to the wrapped store instead.
    b'1'
    """

    __slots__ = ()

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> NoReturn:
        raise refused(f"set {key!r}")

    async def delete(self, key: K, /) -> NoReturn:
        raise refused(f"delete {key!r}")

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> NoReturn:
        raise refused("set_many")

    async def delete_many(self, keys: Iterable[K], /) -> NoReturn:
        raise refused("delete_many")

    async def touch(self, key: K, /, *, ttl: float | None) -> NoReturn:
        raise refused(f"touch {key!r}")

    async def set_if_absent(self, key: K, value: V, /) -> NoReturn:
        raise refused(f"set_if_absent {key!r}")

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> NoReturn:
        raise refused(f"compare_and_set {key!r}")

    @property
    def supports_atomic_writes(self) -> bool:
        return False
