"""The async typed view: one key chain and one value chain over one :class:`~nstore.AsyncStore`.

It flattens as the sync :class:`~nstore.View` does and shares its decisions (``nstore._views``):
which keys below belong to the view, how a listing prefix is mapped, how bulk calls are encoded
and which key a failing value is reported under. Only the calls below are awaited.

Codecs are pure functions and most take microseconds, but compression of large values does not
(measured per MiB: zlib level 6 encodes in about 23 ms and decodes in 10 ms; zstd level 3 in
0.3 ms and 0.05 ms; msgspec, pickle and UTF-8 under 0.1 ms; a thread hop costs about 0.09 ms).
So a value whose bytes are over :data:`OFFLOAD_SIZE` is encoded and decoded in a thread
(``asyncio.to_thread``), and the event loop never waits more than about a millisecond for a
codec. The size is known where it matters: on decoding, the stored bytes; on encoding, the bytes
that enter the chain's last stage (the compressor in ``Msgspec(User) | Zstd()``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Final, Generic, TypeVar

from nstore._capabilities import ForwardedCapabilities
from nstore._views import (
    FOREIGN_KEY_ERRORS,
    decode_found,
    encode_keys,
    encode_pairs,
    holds,
    listed_keys,
    lists_by_prefix,
)
from nstore.astore import AsyncStore
from nstore.codecs._codec import Codec, Identity
from nstore.errors import DecodeError, MissingKey

__all__ = ["OFFLOAD_SIZE", "AsyncView"]

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
A = TypeVar("A")
R = TypeVar("R")

OFFLOAD_SIZE: Final = 64 * 1024
"""Values whose bytes are larger than this are encoded and decoded in a thread (64 KiB)."""

_SIZED = (bytes, bytearray, memoryview, str)


class AsyncView(ForwardedCapabilities, AsyncStore[K, V], Generic[K, V]):
    """An async store seen through a key codec and a value codec. Made by ``with_keys``/``with_values``."""

    __slots__ = ("_dk", "_dv", "_ek", "_head", "_keys", "_store", "_tail", "_values")

    def __init__(self, store: AsyncStore[Any, Any], keys: Codec[K, Any], values: Codec[V, Any]) -> None:
        self._store: AsyncStore[Any, Any] = store
        self._keys = keys
        self._values = values
        self._ek = keys.encode
        self._dk = keys.decode
        self._dv = values.decode
        # Encoding runs in two steps, so the size entering the last stage is seen before it runs.
        stages = values.stages
        head: Codec[Any, Any] = Identity()
        for stage in stages[:-1]:
            head = head | stage
        self._head: Callable[[Any], Any] = head.encode
        self._tail: Callable[[Any], Any] = stages[-1].encode if stages else head.encode

    @property
    def store(self) -> AsyncStore[Any, Any]:
        """The store below the view."""
        return self._store

    @property
    def key_codec(self) -> Codec[K, Any]:
        return self._keys

    @property
    def value_codec(self) -> Codec[V, Any]:
        return self._values

    # -- values: in a thread when large ------------------------------------------------------------

    def _encode_inline(self, value: V) -> Any:
        return self._tail(self._head(value))

    async def _encode(self, value: V) -> Any:
        middle = self._head(value)
        if _size(middle) > OFFLOAD_SIZE:
            return await asyncio.to_thread(self._tail, middle)
        return self._tail(middle)

    # -- single keys ---------------------------------------------------------------------------------

    async def get(self, key: K, /) -> V:
        try:
            raw = await self._store.get(self._ek(key))
        except KeyError:
            raise MissingKey(key) from None
        try:
            # Inline rather than through a helper coroutine: this is the hot path of every read.
            if _size(raw) > OFFLOAD_SIZE:
                return await asyncio.to_thread(self._dv, raw)
            return self._dv(raw)
        except DecodeError as exc:
            exc.with_key(key)
            raise

    async def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        await self._store.set(self._ek(key), await self._encode(value), ttl=ttl)

    async def delete(self, key: K, /) -> None:
        try:
            await self._store.delete(self._ek(key))
        except KeyError:
            raise MissingKey(key) from None

    async def ttl(self, key: K, /) -> float | None:
        try:
            return await self._store.ttl(self._ek(key))
        except KeyError:
            raise MissingKey(key) from None

    async def touch(self, key: K, /, *, ttl: float | None) -> None:
        try:
            await self._store.touch(self._ek(key), ttl=ttl)
        except KeyError:
            raise MissingKey(key) from None

    async def contains(self, key: K, /) -> bool:
        try:
            encoded = self._ek(key)
        except FOREIGN_KEY_ERRORS:
            return False
        return await self._store.contains(encoded)

    async def iter_keys(self, prefix: K | None = None) -> AsyncIterator[K]:
        # docstring inherited
        decode = self._dk
        async for raw in self._store.iter_keys(self._keys.encode_prefix(prefix)):
            for key in listed_keys(decode, prefix, (raw,)):
                yield key

    # -- bulk: one encoding pass, one call below -----------------------------------------------

    async def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        below, below_to_key = encode_keys(self._keys, keys)
        found = await self._store.get_many(below)
        size = sum(_size(v) for v in found.values())
        return await _run(lambda f: decode_found(self._dv, f, below_to_key), found, size)

    async def set_many(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None
    ) -> None:
        middles = encode_pairs(self._ek, self._head, items)
        tail = self._tail
        size = sum(_size(m) for _, m in middles)
        pairs = await _run(lambda ms: [(k, tail(m)) for k, m in ms], middles, size)
        await self._store.set_many(pairs, ttl=ttl)

    async def delete_many(self, keys: Iterable[K], /) -> None:
        await self._store.delete_many([self._ek(k) for k in keys])

    async def set_if_absent(self, key: K, value: V, /) -> bool:
        return await self._store.set_if_absent(self._ek(key), await self._encode(value))

    async def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        """Replace the value at ``key`` with ``value`` only if it equals ``expected`` now.

        As :meth:`View.compare_and_set <nstore.View.compare_and_set>`: the stored bytes are read,
        decoded and compared by ``==``, and the store's own compare_and_set replaces those very
        bytes, so a write to ``key`` in between makes it return False (a retry loop reads again).
        """
        below = self._ek(key)
        try:
            raw = await self._store.get(below)
        except KeyError:  # absent: the store answers (False, or its refusal of the call)
            return await self._store.compare_and_set(
                below, await self._encode(expected), await self._encode(value)
            )
        try:
            if not await _run(lambda r: holds(self._dv, self._encode_inline, r, expected), raw, _size(raw)):
                return False
        except DecodeError as exc:
            exc.with_key(key)
            raise
        return await self._store.compare_and_set(below, raw, await self._encode(value))

    # -- capabilities (ForwardedCapabilities) and life cycle are the store's --------------------

    @property
    def supports_prefix_listing(self) -> bool:
        return lists_by_prefix(self._store.supports_prefix_listing, self._keys)

    async def aclose(self) -> None:
        await self._store.aclose()

    # -- flattening ----------------------------------------------------------------------------

    def with_keys(self, codec: Codec[K2, K], /) -> AsyncStore[K2, V]:
        return AsyncView(self._store, codec | self._keys, self._values)

    def with_values(self, codec: Codec[V2, V], /, *, trusted: bool = False) -> AsyncStore[K, V2]:
        chain = codec | self._values
        self._store.check_codec(chain, trusted=trusted)
        return AsyncView(self._store, self._keys, chain)

    def __repr__(self) -> str:
        return f"{self._store!r}.with_keys({self._keys!r}).with_values({self._values!r})"


def _size(value: object) -> int:
    """The size in bytes (or characters) of a value that has one; 0 for other objects."""
    return len(value) if isinstance(value, _SIZED) else 0


async def _run(fn: Callable[[A], R], arg: A, size: int) -> R:
    """``fn(arg)``, in a thread when ``size`` is over :data:`OFFLOAD_SIZE`, else on the loop."""
    if size > OFFLOAD_SIZE:
        return await asyncio.to_thread(fn, arg)
    return fn(arg)
