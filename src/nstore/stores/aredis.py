"""AsyncRedisStore: ``str -> bytes`` on one Redis server or a Redis Cluster, over redis.asyncio.

It takes the URLs and options of :class:`~nstore.stores.redis.RedisStore` and sends the same
commands (built in ``_redis_commands``), retries as it does (``_redis_client.retry_delay``) and
raises the same errors. A cancelled call leaves no pooled connection with an unread reply:
redis-py drops a connection whose read was interrupted, and the test suite checks it against a
real server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from nstore.astore import AsyncStore
from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.store import item_pairs
from nstore.stores._redis_client import (
    Call,
    RedisOptions,
    client_options,
    cluster_arguments,
    failure,
    import_redis,
    may_be_applied,
    parse_node,
    redis_errors,
    retriable_errors,
    retry_delay,
    split_url,
    ttl_ms,
)
from nstore.stores._redis_commands import (
    cas_command,
    decode_key,
    encode_key,
    encode_keys,
    member_key,
    scan_pattern,
    set_command,
    set_if_absent_command,
)
from nstore.stores._redis_route import chunks, group_by_slot
from nstore.stores._values import as_bytes

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ["AsyncRedisStore"]


class AsyncRedisStore(AsyncStore[str, bytes]):
    """An async store on Redis: ``redis://``, ``rediss://`` or ``redis+cluster://`` (as RedisStore's).

    Parameters are :class:`~nstore.stores.redis.RedisStore`'s (``prefix``, ``ttl``, ``timeout``,
    ``connect_timeout``, ``retries``), except ``replicas``, which this store does not offer yet,
    and ``max_connections``: at most this many calls are in flight at once (each holds one pooled
    connection, or one per master for a bulk call on a cluster); more tasks wait their turn rather
    than fail. A ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client is used
    as it is and not closed by :meth:`aclose`; keep ``max_connections`` within its pool's size.

    Examples
    --------
    >>> import asyncio
    >>> async def main() -> None:
    ...     async with AsyncRedisStore("redis://127.0.0.1:1/0?timeout=0.5&retries=0") as store:
    ...         print(store.is_remote, store.supports_atomic_writes)
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
        "_options",
        "_owns_client",
        "_prefix",
        "_px",
        "_ready",
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
        max_connections: int = 50,
    ) -> None:
        import_redis()
        from redis.asyncio import Redis
        from redis.asyncio.cluster import RedisCluster

        given = {"prefix": prefix, "ttl": ttl, "timeout": timeout, "connect_timeout": connect_timeout}
        given["retries"] = retries
        client: Redis | RedisCluster
        if isinstance(url_or_client, str):
            bare, from_url = split_url(url_or_client)
            options = from_url.merged(**given)
            client = _client_for(bare, options)
        elif isinstance(url_or_client, Redis | RedisCluster):
            options = RedisOptions().merged(**given)
            client = url_or_client
            if client.get_encoder().decode_responses:
                raise ConfigurationError(
                    "Expected a redis.asyncio client with decode_responses=False: values are bytes. "
                    "Got a client that decodes replies to str; create one without it."
                )
        elif isinstance(cast("object", url_or_client), Sequence) and len(url_or_client) > 0:
            options = RedisOptions().merged(**given)
            client = _cluster([parse_node(n) for n in url_or_client], options, {})
        else:
            raise ConfigurationError(
                "Expected a redis:// or redis+cluster:// URL, a list of cluster nodes or a "
                f"redis.asyncio client. Got {url_or_client!r}."
            )
        limit: object = max_connections
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ConfigurationError(f"Expected an integer from 1 to 100 for max_connections. Got {limit!r}.")
        if options.replicas:
            raise ConfigurationError(
                "AsyncRedisStore does not wait for replicas (replicas=0 only); use RedisStore "
                "through AsyncAdapter for writes that wait for replicas."
            )
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

    # -- capabilities: as RedisStore's -----------------------------------------------------------

    @property
    def is_persistent(self) -> bool:
        return True

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis.asyncio client underneath (for commands the store does not cover)."""
        client: Redis | RedisCluster = self._client
        return client

    # -- single keys -------------------------------------------------------------------------------

    async def get(self, key: str, /) -> bytes:
        value: bytes | None = await self._call("read", "reading", key, self._command, "GET", self._key(key))
        if value is None:
            raise MissingKey(key)
        return value

    async def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        """Store ``value`` at ``key``, expiring after ``ttl`` seconds (default: the store's ttl)."""
        px = self._px if ttl is None else ttl_ms(ttl)
        await self._call("write", "writing", key, self._command, *set_command(self._key(key), key, value, px))

    async def delete(self, key: str, /) -> None:
        if not await self._call("write-once", "deleting", key, self._command, "DEL", self._key(key)):
            raise MissingKey(key)

    async def contains(self, key: str, /) -> bool:
        encoded = member_key(self._prefix, key)  # None: a key no store could hold is not in it
        if encoded is None:
            return False
        return bool(await self._call("read", "reading", key, self._command, "EXISTS", encoded))

    async def set_if_absent(self, key: str, value: bytes, /) -> bool:
        command = set_if_absent_command(self._key(key), key, value, self._px)
        return bool(await self._call("write-once", "writing", key, self._command, *command))

    async def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        command = cas_command(self._key(key), key, expected, value, self._px)
        return bool(await self._call("write-once", "compare-and-set on", key, self._command, *command))

    # -- bulk: one round trip per server -------------------------------------------------------

    async def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        """The present values of ``keys``: ``MGET`` per group, atomic on one server, per slot on a cluster."""
        wanted = encode_keys(self._prefix, keys)
        found: dict[str, bytes] = {}
        if not wanted:
            return found
        replies = await self._call("read", "reading", None, self._bulk, list(wanted), lambda g: ("MGET", *g))
        for group, values in replies:
            for encoded, value in zip(group, values, strict=True):
                if value is not None:
                    found[wanted[encoded]] = value
        return found

    async def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        """Store every pair: one ``MULTI``/``EXEC`` on one server, per slot on a cluster."""
        pairs = item_pairs(items)
        values = {encode_key(self._prefix, key): as_bytes(value, key, "RedisStore") for key, value in pairs}
        if not values:
            return
        px = self._px if ttl is None else ttl_ms(ttl)
        if px is None:
            await self._call(
                "write",
                "writing",
                None,
                self._bulk,
                list(values),
                lambda g: ("MSET", *_interleave(g, values)),
            )
        else:
            # MSET cannot expire keys: one SET PX per key, in the same round trip.
            await self._call(
                "write",
                "writing",
                None,
                self._bulk,
                list(values),
                lambda g: ("SET", g[0], values[g[0]], "PX", px),
                True,
            )

    async def delete_many(self, keys: Iterable[str], /) -> None:
        encoded = list(encode_keys(self._prefix, keys))
        if encoded:
            await self._call("write", "deleting", None, self._bulk, encoded, lambda g: ("DEL", *g))

    async def _bulk(
        self, keys: list[bytes], command: Callable[[list[bytes]], tuple[Any, ...]], singles: bool = False
    ) -> list[tuple[list[bytes], Any]]:
        if self._cluster:
            groups = [chunk for group in group_by_slot(keys).values() for chunk in chunks(group)]
        else:
            groups = chunks(keys)
        if singles:
            groups = [[key] for group in groups for key in group]
        if len(groups) == 1:
            return [(groups[0], await self._command(*command(groups[0])))]
        # One server: all groups in one MULTI/EXEC. A cluster: one pipeline, sent to every master at once.
        pipe = self._client.pipeline(transaction=not self._cluster)
        for group in groups:
            pipe.execute_command(*command(group))
        replies = await pipe.execute()
        return list(zip(groups, replies, strict=True))

    # -- listing ---------------------------------------------------------------------------------

    async def iter_keys(self, prefix: str | None = None) -> AsyncIterator[str]:
        # docstring inherited; one SCAN page per round trip, on every master of a cluster
        found = scan_pattern(self._prefix, prefix)
        if found is None:
            return  # a prefix with a lone surrogate: no key of this store starts with it
        pattern, strip = found
        seen: set[bytes] = set()  # SCAN may return a key twice when the server resizes its table
        targets = self._client.get_primaries() if self._cluster else [None]
        for target in targets:
            cursor = 0
            while True:
                cursor, page = await self._call(
                    "read", "listing", None, self._scan_page, target, cursor, pattern
                )
                for key in page:
                    if key not in seen:
                        seen.add(key)
                        name = decode_key(key, strip)
                        if name is not None:
                            yield name
                if cursor == 0:
                    break

    async def _scan_page(self, target: Any, cursor: int, pattern: bytes) -> tuple[int, list[bytes]]:
        self._check_open()
        if target is None:
            reply: tuple[int, list[bytes]] = await self._client.scan(cursor, match=pattern, count=1000)
            return reply
        cursors, page = await self._client.scan(cursor, match=pattern, count=1000, target_nodes=target)
        return cursors[target.name], page

    # -- life cycle -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the client this store created (a client passed in stays open); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client!r}, prefix={self._prefix!r})"

    # -- plumbing -------------------------------------------------------------------------------

    def _key(self, key: str) -> bytes:
        return encode_key(self._prefix, key)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("This AsyncRedisStore is closed; open a new one.")

    def _command(self, *args: Any) -> Awaitable[Any]:
        self._check_open()
        result: Awaitable[Any] = self._client.execute_command(*args)
        return result

    async def _call(
        self, call: Call, action: str, key: str | None, fn: Callable[..., Awaitable[Any]], *args: Any
    ) -> Any:
        """``await fn(*args)``, retried as the options allow, with redis-py errors mapped to nstore's."""
        try:
            if self._ready is not None:
                await self._initialize()
            async with self._slots:
                return await fn(*args)
        except redis_errors() as exc:
            last: BaseException = exc
        what = action if key is None else f"{action} {key!r}"
        applied = may_be_applied(call, last)
        attempt = 0
        while isinstance(last, retriable_errors()):
            # A failover or a moved slot makes the cluster topology stale: reload it in any case.
            if self._cluster:
                with contextlib.suppress(*redis_errors()):
                    await self._client.nodes_manager.initialize()
            delay = retry_delay(last, attempt, call, self._options.retries)
            if delay is None:
                break
            await asyncio.sleep(delay)
            attempt += 1
            try:
                async with self._slots:
                    return await fn(*args)
            except redis_errors() as exc:
                last = exc
                applied = applied or may_be_applied(call, exc)
        raise failure(last, what, applied) from last

    async def _initialize(self) -> None:
        lock = self._ready
        if lock is None:
            return
        async with lock:
            if self._ready is not None:
                await self._client.initialize()
                self._ready = None


def _interleave(group: list[bytes], values: Mapping[bytes, bytes]) -> list[bytes]:
    return [part for key in group for part in (key, values[key])]


def _client_options(options: RedisOptions) -> dict[str, Any]:
    """RedisStore's client options, with the asyncio client's own (disabled) retries."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return {**client_options(options), "retry": Retry(NoBackoff(), 0)}


def _client_for(url: str, options: RedisOptions) -> Redis | RedisCluster:
    from urllib.parse import urlsplit

    from redis.asyncio import Redis

    if urlsplit(url).scheme in ("redis", "rediss"):
        try:
            client: Redis = Redis.from_url(url, **_client_options(options))
        except ValueError as exc:
            raise ConfigurationError(f"Expected a redis://host:port/db URL. {exc}") from exc
        return client
    nodes, extra = cluster_arguments(url)
    return _cluster(nodes, options, extra)


def _cluster(nodes: list[tuple[str, int]], options: RedisOptions, extra: dict[str, Any]) -> RedisCluster:
    from redis.asyncio.cluster import ClusterNode, RedisCluster

    node: Any = ClusterNode  # Any: ClusterNode.__init__ is loosely annotated in redis-py
    startup = [node(host, port) for host, port in nodes]
    cluster: RedisCluster = RedisCluster(startup_nodes=startup, **_client_options(options), **extra)
    return cluster
