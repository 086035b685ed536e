"""``AsyncStore[K, V]``: the awaitable surface of a store, over the same codecs and errors as ``Store``.

A backend implements four abstract methods (:meth:`~AsyncStore.get`, :meth:`~AsyncStore.set`,
:meth:`~AsyncStore.delete` and :meth:`~AsyncStore.iter_keys`) and gets the rest from the defaults
here: existence, bulk operations, ``async with`` and typed views. Defaults that are slow or racy
say so for implementers. Capabilities have the names and meanings of :class:`~nstore.Store`'s.

Unlike :meth:`Store.get <nstore.Store.get>`, ``await store.get(key)`` raises
:class:`~nstore.errors.MissingKey` (a :class:`KeyError`) for a missing key, as ``store[key]`` does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from nstore._capabilities import Capabilities
from nstore._expiry import unsupported_ttl
from nstore._views import refuse_unsafe
from nstore.errors import MissingKey, UnsupportedOperation
from nstore.store import item_pairs

if TYPE_CHECKING:
    from nstore.codecs import Codec

__all__ = ["AsyncStore"]

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")


class AsyncStore(Capabilities, ABC, Generic[K, V]):
    """A typed store of ``V`` values under ``K`` keys, with awaitable methods.

    Examples
    --------
    >>> import asyncio
    >>> from nstore import AsyncMemoryStore
    >>> from nstore.codecs import Prefix, Utf8
    >>> async def main() -> None:
    ...     async with AsyncMemoryStore[str, bytes]() as store:
    ...         users = store.with_keys(Prefix("users/")).with_values(Utf8())
    ...         await users.set("ada", "Lovelace")
    ...         print(await users.get("ada"), [k async for k in store.iter_keys()])
    ...         print(await users.get_many(["ada", "bob"]))
    >>> asyncio.run(main())
    Lovelace ['users/ada']
    {'ada': 'Lovelace'}
    """

    __slots__ = ()

    # -- the abstract surface ------------------------------------------------------------------

    @abstractmethod
    async def get(self, key: K, /) -> V:
        """Return the value at ``key``; raise :class:`~nstore.errors.MissingKey` if absent."""

    @abstractmethod
    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        """Store ``value`` at ``key``; when this returns, the store's durability applies.

        With ``ttl``, the value expires ``ttl`` seconds from now, as with
        :meth:`Store.set <nstore.Store.set>`; a store without :attr:`supports_ttl` raises
        :class:`~nstore.errors.UnsupportedOperation` for it.
        """

    @abstractmethod
    async def delete(self, key: K, /) -> None:
        """Remove ``key``; raise :class:`~nstore.errors.MissingKey` if absent."""

    @abstractmethod
    def iter_keys(self, prefix: K | None = None) -> AsyncIterator[K]:
        """Yield the keys that start with ``prefix`` (every key if None), lazily: ``async for``.

        Keys set or deleted during the iteration may or may not be seen; iteration never fails
        because of them.
        """

    # -- defaults --------------------------------------------------------------------------------

    async def contains(self, key: K, /) -> bool:
        """Whether ``key`` is present.

        Default: reads the value; backends with a cheaper existence check override it.
        """
        try:
            await self.get(key)
        except KeyError:
            return False
        return True

    async def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        """Return the values of those ``keys`` that are present; missing keys are left out.

        Default: one awaited :meth:`get` per key, in turn; backends override it with one call.
        """
        found: dict[K, V] = {}
        for key in keys:
            try:
                found[key] = await self.get(key)
            except KeyError:
                continue
        return found

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        """Store every ``(key, value)`` pair; with ``ttl``, each expires as with :meth:`set`.

        Default: one awaited :meth:`set` per pair, not atomic; backends override it.
        """
        pairs = item_pairs(items)
        for key, value in pairs:
            await self.set(key, value, ttl=ttl)

    async def delete_many(self, keys: Iterable[K], /) -> None:
        """Remove every key of ``keys`` that is present; missing keys are ignored.

        Default: one awaited :meth:`delete` per key, not atomic.
        """
        for key in keys:
            try:
                await self.delete(key)
            except KeyError:
                continue

    async def ttl(self, key: K, /) -> float | None:
        """Seconds left before ``key`` expires, or None if it never expires.

        Raise :class:`~nstore.errors.MissingKey` if ``key`` is absent. A store without expiry
        answers None for every present key.
        """
        if not await self.contains(key):
            raise MissingKey(key)
        return None

    async def touch(self, key: K, /, *, ttl: float | None) -> None:
        """Make ``key`` expire ``ttl`` seconds from now (``None``: never), keeping its value.

        Raise :class:`~nstore.errors.MissingKey` if ``key`` is absent. A store without expiry
        raises :class:`~nstore.errors.UnsupportedOperation`.
        """
        raise unsupported_ttl(self)

    async def set_if_absent(self, key: K, value: V, /) -> bool:
        """Store ``value`` only if ``key`` is absent; return whether it was stored.

        Atomic where :attr:`supports_atomic_writes` is true; the default raises.
        """
        raise UnsupportedOperation(f"{type(self).__name__} has no atomic set_if_absent.")

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        """Replace the value at ``key`` with ``value`` only if it is ``expected`` now.

        Return whether it was replaced. Atomic where :attr:`supports_atomic_writes` is true; the
        default raises.
        """
        raise UnsupportedOperation(f"{type(self).__name__} has no atomic compare_and_set.")

    # -- life cycle ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release resources; further use raises :class:`~nstore.errors.StoreClosed`.

        Idempotent. The default has nothing to release.
        """

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- typed views ---------------------------------------------------------------------------

    def with_keys(self, codec: Codec[K2, K], /) -> AsyncStore[K2, V]:
        """A view of this store whose keys go through ``codec`` (one flattened view)."""
        from nstore.aview import AsyncView
        from nstore.codecs import Identity

        return AsyncView(self, codec, Identity())

    def with_values(self, codec: Codec[V2, V], /, *, trusted: bool = False) -> AsyncStore[K, V2]:
        """A view of this store whose values go through ``codec`` (one flattened view).

        On a remote store an unsafe codec (unsigned pickle) raises
        :class:`~nstore.errors.UnsafeCodecError` unless ``trusted=True``. Large values are
        encoded and decoded in a thread, so compression never stalls the event loop (see
        :data:`nstore.aview.OFFLOAD_SIZE`).
        """
        from nstore.aview import AsyncView
        from nstore.codecs import Identity

        self.check_codec(codec, trusted=trusted)
        return AsyncView(self, Identity(), codec)

    def check_codec(self, codec: Codec[Any, Any], *, trusted: bool = False) -> None:
        """Raise :class:`~nstore.errors.UnsafeCodecError` for an unsafe codec on a remote store."""
        refuse_unsafe(self, self.is_remote, codec, trusted)
