"""``nstore.aopen(url)``: the async store for any store URL that :func:`nstore.open` accepts.

Memory, Redis and HTTP URLs get their native async stores (:class:`~nstore.AsyncMemoryStore`,
:class:`~nstore.AsyncRedisStore`, :class:`~nstore.AsyncHTTPStore`); SQLite and file URLs open
their sync store and serve it through :class:`~nstore.AsyncAdapter`'s thread pool. URL forms, options
and their errors are :mod:`nstore.urls`'s.
"""

from __future__ import annotations

import os
from typing import Unpack

from nstore.astore import AsyncStore
from nstore.urls import StoreOptions, parse

__all__ = ["aopen"]


def aopen(
    url: str | os.PathLike[str] | None = None, /, **options: Unpack[StoreOptions]
) -> AsyncStore[str, bytes]:
    """Open the store named by ``url`` as an :class:`~nstore.AsyncStore` (see :func:`nstore.open`).

    Examples
    --------
    >>> import asyncio
    >>> async def main() -> bytes:
    ...     async with aopen("memory://?maxsize=100") as store:
    ...         await store.set("greeting", b"hello")
    ...         return await store.get("greeting")
    >>> asyncio.run(main())
    b'hello'
    """
    parsed = parse(url, **options)
    if parsed.kind == "memory":
        from nstore.stores.amemory import AsyncMemoryStore

        _, kwargs = parsed.arguments(AsyncMemoryStore)  # memory:// has no location
        return AsyncMemoryStore[str, bytes](**kwargs)
    if parsed.kind in ("redis", "redis-cluster"):
        from nstore.stores.aredis import AsyncRedisStore

        args, kwargs = parsed.arguments(AsyncRedisStore)
        return AsyncRedisStore(*args, **kwargs)
    if parsed.kind == "http":
        from nstore.stores.ahttp import AsyncHTTPStore

        args, kwargs = parsed.arguments(AsyncHTTPStore)
        return AsyncHTTPStore(*args, **kwargs)
    from nstore.stores._adapter import AsyncAdapter

    return AsyncAdapter(parsed.open())
