"""The async shell of the namespace operations: each store call they ask for, awaited (see nstore._steps)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TypeVar

from nstore._steps import (
    Compute,
    DeleteMany,
    Done,
    Effect,
    ListKeys,
    Put,
    PutMany,
    PutNew,
    Read,
    ReadMany,
    ReadTtls,
    Steps,
    Swap,
    advance,
)
from nstore.astore import AsyncStore
from nstore.aview import OFFLOAD_SIZE

__all__ = ["arun"]

R = TypeVar("R")


async def arun(store: AsyncStore[str, bytes], steps: Steps[R]) -> R:
    """Run the operation ``steps`` on ``store``, each call awaited in turn; its result."""
    step = advance(steps, None)
    while not isinstance(step, Done):
        step = advance(steps, await _call(store, step))
    return step.value


async def _call(store: AsyncStore[str, bytes], effect: Effect) -> object:
    match effect:
        case Read(key):
            try:
                return await store.get(key)
            except KeyError:
                return None
        case ReadMany(keys):
            return await store.get_many(keys)
        case ReadTtls(keys):
            return await _ttls(store, keys)
        case ListKeys(prefix, limit):
            return await _listed(store, prefix, limit)
        case Put(key, data, ttl):
            await store.set(key, data, ttl=ttl)
        case PutNew(key, data):
            return await store.set_if_absent(key, data)
        case Swap(key, expected, data):
            return await store.compare_and_set(key, expected, data)
        case PutMany(pairs):
            await store.set_many(pairs)
        case DeleteMany(keys):
            await store.delete_many(keys)
        case Compute(work, size):
            # A batch of large values decoded, transformed and encoded on the loop would hold it,
            # as a large value in an async view would: the same threshold sends it to a thread.
            return await asyncio.to_thread(work) if size > OFFLOAD_SIZE else work()
    return None


async def _ttls(store: AsyncStore[str, bytes], keys: list[str]) -> dict[str, float | None]:
    if not store.supports_ttl:
        return dict.fromkeys(keys)
    ttls: dict[str, float | None] = {}
    for key in keys:
        try:
            ttls[key] = await store.ttl(key)
        except KeyError:  # expired since it was read
            continue
    return ttls


async def _listed(store: AsyncStore[str, bytes], prefix: str, limit: int | None) -> list[str]:
    keys: list[str] = []
    iterator = store.iter_keys(prefix)
    try:
        async for key in iterator:
            keys.append(key)
            if len(keys) == limit:
                break
    finally:
        if isinstance(iterator, AsyncGenerator):  # stopped early: release the listing now
            await iterator.aclose()
    return keys
