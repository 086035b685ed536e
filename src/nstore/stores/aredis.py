"""AsyncRedisStore: ``str -> bytes`` on one Redis server or a Redis Cluster, over redis.asyncio.

It takes the URLs and options of :class:`~nstore.stores.redis.RedisStore` and sends the same
commands (built in ``_redis_commands``), retries as it does (``_redis_retry.Attempts``) and raises
the same errors. Concurrent gets of one turn of the event loop travel together (``_aredis_gets``);
bulk calls and writes that wait for replicas run as batches on one connection per server
(``_aredis_io``). A cancelled call leaves no pooled connection with an unread reply.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nstore.astore import AsyncStore
from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.stores import _redis_commands as commands
from nstore.stores._aredis_gets import GetBatches
from nstore.stores._aredis_io import AsyncRoute, client_for, cluster_for
from nstore.stores._redis_client import RedisCapabilities, import_redis, open_client, ttl_ms
from nstore.stores._redis_commands import Command
from nstore.stores._redis_pages import holds_value, wrong_type
from nstore.stores._redis_retry import Attempts, Call, redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ["AsyncRedisStore"]


class AsyncRedisStore(RedisCapabilities, AsyncStore[str, bytes]):
    """An async store on Redis: ``redis://``, ``rediss://`` or ``redis+cluster://`` (as RedisStore's).

    Parameters are :class:`~nstore.stores.redis.RedisStore`'s (``prefix``, ``ttl``, ``timeout``,
    ``connect_timeout``, ``retries``, ``replicas``, ``replica_timeout``), and ``max_connections``:
    at most this many calls are in flight at once (each holds one pooled connection, or one per
    master for a bulk call on a cluster); more tasks wait their turn rather than fail. The gets
    that tasks start in the same turn of the event loop are sent together, as one call. A
    ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client is used as it is and
    not closed by :meth:`aclose`; keep ``max_connections`` within its pool's size.

    Examples
    --------
    >>> import asyncio
    >>> async def main() -> None:
    ...     async with AsyncRedisStore("redis://127.0.0.1:1/0?timeout=0.5&retries=0") as store:
    ...         print(store.is_remote, store.supports_atomic_writes, store.supports_ttl)
    ...         await store.set("greeting", b"hello")  # nothing listens on port 1
    >>> asyncio.run(main())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstore.errors.StoreUnavailable: Redis is unavailable while writing 'greeting' ...
    """

    __slots__ = (
        "_client",
        "_closed",
        "_cluster",
        "_gets",
        "_options",
        "_owns_client",
        "_prefix",
        "_px",
        "_ready",
        "_route",
        "_slots",
    )

    def __init__(
        self,
        url_or_client: str | Sequence[str | tuple[str, int]] | Redis | RedisCluster,
        prefix: str | None = None,
        *,
        ttl: float | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        retries: int | None = None,
        replicas: int | None = None,
        replica_timeout: float | None = None,
        max_connections: int = 50,
    ) -> None:
        import_redis()
        from redis.asyncio import Redis
        from redis.asyncio.cluster import RedisCluster

        given = {"prefix": prefix, "ttl": ttl, "timeout": timeout, "connect_timeout": connect_timeout}
        given.update(retries=retries, replicas=replicas, replica_timeout=replica_timeout)
        client, options = open_client(
            url_or_client, given, (Redis, RedisCluster), client_for, lambda nodes, o: cluster_for(nodes, o)
        )
        limit: object = max_connections
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ConfigurationError(f"Expected an integer from 1 to 100 for max_connections. Got {limit!r}.")
        self._owns_client = client is not url_or_client
        self._client: Any = client  # Any: redis.asyncio's command methods are loosely annotated
        self._cluster = isinstance(client, RedisCluster)
        self._options = options
        self._prefix = options.prefix
        self._px = None if options.ttl is None else ttl_ms(options.ttl)
        self._closed = False
        # redis.asyncio's pools refuse a call beyond their size (100 per server) instead of waiting.
        self._slots = asyncio.Semaphore(max_connections)
        # redis.asyncio's cluster client mixes up connections when commands race its first
        # initialization (redis-py 8.1), so the store initializes it once, alone, first.
        self._ready: asyncio.Lock | None = asyncio.Lock() if self._cluster else None
        self._route = AsyncRoute(client, options)
        self._gets = GetBatches(self._get_alone, self._get_together)

    # -- capabilities: RedisCapabilities' ----------------------------------------------------------

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis.asyncio client underneath (for commands the store does not cover)."""
        client: Redis | RedisCluster = self._client
        return client

    # -- single keys -------------------------------------------------------------------------------

    async def get(self, key: str, /) -> bytes:
        rkey = self._key(key)
        self._check_open()
        value = await self._gets.get(rkey, key)
        if value is None:
            raise MissingKey(key)
        return value

    async def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        """Store ``value`` at ``key``, expiring after ``ttl`` seconds (default: the store's ttl)."""
        px = self._px if ttl is None else ttl_ms(ttl)
        await self._write("write", "writing", key, commands.set_command(self._key(key), key, value, px))

    async def delete(self, key: str, /) -> None:
        if not await self._write("write-once", "deleting", key, ("DEL", self._key(key))):
            raise MissingKey(key)

    async def contains(self, key: str, /) -> bool:
        encoded = commands.member_key(self._prefix, key)  # None: a key no store could hold is not in it
        if encoded is None:
            return False
        # TYPE, not EXISTS: a hash or list of another client is not a key of the store
        reply = await self._call("read", "reading", key, self._client.execute_command, "TYPE", encoded)
        return holds_value(reply)

    async def set_if_absent(self, key: str, value: bytes, /) -> bool:
        command = commands.set_if_absent_command(self._key(key), key, value, self._px)
        return bool(await self._write("write-once", "writing", key, command))

    async def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        command = commands.cas_command(self._key(key), key, expected, value, self._px)
        return bool(await self._write("write-once", "compare-and-set on", key, command))

    # -- expiry: as RedisStore's ---------------------------------------------------------------------

    async def ttl(self, key: str, /) -> float | None:
        # docstring inherited; PTTL
        reply = await self._call(
            "read", "reading", key, self._client.execute_command, *commands.ttl_command(self._key(key))
        )
        return commands.ttl_seconds(reply, key)

    async def touch(self, key: str, /, *, ttl: float | None) -> None:
        # docstring inherited; PEXPIRE, or PERSIST in a script that tells a missing key apart
        command = commands.touch_command(self._key(key), None if ttl is None else ttl_ms(ttl))
        if not await self._write("write", "touching", key, command):
            raise MissingKey(key)

    # -- bulk: one round trip per server -------------------------------------------------------

    async def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        """The present values of ``keys``: ``MGET`` per group, atomic on one server, per slot on a cluster."""
        wanted = commands.encode_keys(self._prefix, keys)
        if not wanted:
            return {}
        replies = await self._call(
            "read", "reading", None, self._route.bulk, list(wanted), lambda g: ("MGET", *g)
        )
        return commands.found_values(wanted, replies)

    async def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        """Store every pair: one ``MULTI``/``EXEC`` on one server, per slot on a cluster."""
        values = commands.encode_items(self._prefix, items)
        if values:
            command, singles = commands.set_many_command(values, self._px if ttl is None else ttl_ms(ttl))
            await self._call("write", "writing", None, self._route.bulk, list(values), command, singles)

    async def delete_many(self, keys: Iterable[str], /) -> None:
        encoded = list(commands.encode_keys(self._prefix, keys))
        if encoded:
            await self._call("write", "deleting", None, self._route.bulk, encoded, lambda g: ("DEL", *g))

    # -- listing ---------------------------------------------------------------------------------

    async def iter_keys(self, prefix: str | None = None) -> AsyncIterator[str]:
        # docstring inherited; one SCAN page per round trip, on every master of a cluster
        found = commands.scan_pattern(self._prefix, prefix)
        if found is None:
            return  # a prefix with a lone surrogate: no key of this store starts with it
        pattern, strip = found
        seen: set[bytes] = set()
        targets = self._client.get_primaries() if self._cluster else [None]
        for target in targets:
            cursor = 0
            while True:
                cursor, page = await self._call(
                    "read", "listing", None, self._route.scan_page, target, cursor, pattern
                )
                for name in commands.fresh_keys(page, seen, strip):
                    yield name
                if cursor == 0:
                    break

    # -- life cycle -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the client this store created (a client passed in stays open); idempotent."""
        if self._closed:
            return
        await self._gets.wait()  # the gets already started are answered first
        self._closed = True
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client!r}, prefix={self._prefix!r})"

    # -- plumbing -------------------------------------------------------------------------------

    def _key(self, key: str) -> bytes:
        return commands.encode_key(self._prefix, key)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("This AsyncRedisStore is closed; open a new one.")

    def _get_alone(self, rkey: bytes, key: str) -> Awaitable[bytes | None]:
        return self._call("read", "reading", key, self._get_value, rkey)

    async def _get_value(self, rkey: bytes) -> bytes | None:
        """``GET rkey``; None for a key of another type (a hash, a list), which is not the store's."""
        try:
            value: bytes | None = await self._client.execute_command("GET", rkey)
        except redis_errors() as exc:
            if wrong_type(exc):
                return None
            raise
        return value

    async def _get_together(self, rkeys: list[bytes]) -> list[Any]:
        replies: list[Any] = await self._call("read", "reading", None, self._route.gets, rkeys)
        return [None if isinstance(reply, Exception) and wrong_type(reply) else reply for reply in replies]

    async def _write(self, call: Call, action: str, key: str, command: Command) -> Any:
        if not self._options.replicas:
            return await self._call(call, action, key, self._client.execute_command, *command)
        return await self._call(call, action, key, self._route.waited, command)

    async def _call(
        self, call: Call, action: str, key: str | None, fn: Callable[..., Awaitable[Any]], *args: Any
    ) -> Any:
        """``await fn(*args)``, retried as the options allow, with redis-py errors mapped to nstore's."""
        errors = redis_errors()
        try:
            if self._ready is not None:
                await self._initialize()
            async with self._slots:
                self._check_open()
                return await fn(*args)
        except errors as exc:
            attempts = Attempts(call, self._options.retries, exc)
        while attempts.stale():
            if self._cluster:
                with contextlib.suppress(*errors):
                    await self._client.nodes_manager.initialize()
            delay = attempts.delay()
            if delay is None:
                break
            await asyncio.sleep(delay)
            try:
                async with self._slots:
                    self._check_open()
                    return await fn(*args)
            except errors as exc:
                attempts.failed(exc)
        raise attempts.error(action if key is None else f"{action} {key!r}") from attempts.last

    async def _initialize(self) -> None:
        lock = self._ready
        if lock is None:
            return
        async with lock:
            if self._ready is not None:
                await self._client.initialize()
                self._ready = None
