"""AsyncRedisStore's I/O: the redis.asyncio clients it creates, and batches of commands sent on
one pooled connection each (bulk calls, writes that wait for replicas, gets sent together).

The commands and the framing of a batch are ``_redis_commands``' (the sync store's too); the
grouping of keys by cluster master is ``_redis_route.by_master``. Here is only the sending.

A batch is sent in one write and every reply is read before the connection goes back to its pool;
if anything interrupts it (a cancelled task, a timeout, a lost connection), the connection is
dropped instead, so no later call on it can be handed a reply meant for this one (the redis-py
CVE-2023-28858 class).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from nstore.errors import ConfigurationError
from nstore.stores._redis_client import RedisOptions, client_options, cluster_arguments
from nstore.stores._redis_commands import Command, command_key, frame, pack, unframe
from nstore.stores._redis_pages import VALUE_TYPE
from nstore.stores._redis_retry import retriable_errors
from nstore.stores._redis_route import bulk_work, by_master, chunks

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ["AsyncRoute", "client_for", "cluster_for", "run_batches", "send_batch", "send_batches"]

#: One connection's work: a standalone client or a cluster node, and the commands it runs.
Work = tuple[Any, list[Command]]


def _client_options(options: RedisOptions) -> dict[str, Any]:
    """RedisStore's client options, with the asyncio client's own (disabled) retries."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return {**client_options(options), "retry": Retry(NoBackoff(), 0)}


def client_for(url: str, options: RedisOptions) -> Redis | RedisCluster:
    """A redis.asyncio client for a bare ``redis://`` or ``redis+cluster://`` URL."""
    from urllib.parse import urlsplit

    from redis.asyncio import Redis

    if urlsplit(url).scheme in ("redis", "rediss"):
        try:
            client: Redis = Redis.from_url(url, **_client_options(options))
        except ValueError as exc:
            raise ConfigurationError(f"Expected a redis://host:port/db URL. {exc}") from exc
        return client
    nodes, extra = cluster_arguments(url)
    return cluster_for(nodes, options, extra)


def cluster_for(
    nodes: list[tuple[str, int]], options: RedisOptions, extra: dict[str, Any] | None = None
) -> RedisCluster:
    """A redis.asyncio cluster client over the startup ``nodes``."""
    from redis.asyncio.cluster import ClusterNode, RedisCluster

    node: Any = ClusterNode  # Any: ClusterNode.__init__ is loosely annotated in redis-py
    startup = [node(host, port) for host, port in nodes]
    cluster: RedisCluster = RedisCluster(startup_nodes=startup, **_client_options(options), **(extra or {}))
    return cluster


@contextlib.asynccontextmanager
async def _connection(target: Any) -> AsyncIterator[Any]:
    """A connection of ``target`` (a standalone client's pool, or a cluster node), given back after."""
    from redis.asyncio.cluster import ClusterNode

    if isinstance(target, ClusterNode):
        node_connection = target.acquire_connection()
        try:
            yield node_connection
        finally:
            target.release(node_connection)
        return
    pool = target.connection_pool
    connection = await pool.get_connection()
    try:
        yield connection
    finally:
        await pool.release(connection)


async def send_batch(target: Any, commands: list[Command]) -> list[Any]:
    """Send ``commands`` on one connection of ``target`` in one write; return every reply, an error
    reply as the ``ResponseError`` in its place. An interrupted batch drops its connection.

    The connection's ``socket_timeout`` bounds the reading of all the replies together: one
    deadline for the batch costs a third of one per reply (redis-py's own) for 1,000 small replies.
    """
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeout

    async with _connection(target) as connection:
        try:
            await connection.send_packed_command(pack(connection, commands))
            replies: list[Any] = []
            async with asyncio.timeout(connection.socket_timeout):
                for _ in commands:
                    try:
                        replies.append(await connection.read_response(timeout=math.inf))
                    except ResponseError as exc:  # an error reply: the connection stays in step
                        replies.append(exc)
        except TimeoutError:
            await connection.disconnect(nowait=True)
            raise RedisTimeout(f"Timeout reading {len(commands)} replies") from None
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
    return replies


async def send_batches(work: list[Work]) -> list[list[Any]]:
    """:func:`send_batch` for each connection's commands, all at once; every reply of each.

    Every batch runs to its end before an error of one is raised, so none is left half read.
    """
    if len(work) == 1:
        return [await send_batch(*work[0])]
    done = await asyncio.gather(
        *(send_batch(target, commands) for target, commands in work), return_exceptions=True
    )
    for result in done:
        if isinstance(result, BaseException):
            raise result
    return [result for result in done if not isinstance(result, BaseException)]


async def run_batches(
    work: list[Work], *, transaction: bool, replicas: int, replica_timeout: float
) -> list[list[Any]]:
    """Each connection's commands, framed as ``_redis_commands.frame`` says, all sent at once; the
    replies per connection (an error reply, or too few replica acknowledgements, raises)."""
    framed = [(target, frame(commands, transaction, replicas, replica_timeout)) for target, commands in work]
    replies = await send_batches(framed)
    return [unframe(batch, transaction, replicas, replica_timeout) for batch in replies]


class AsyncRoute:
    """Where AsyncRedisStore's batches go: one server, or the masters of a cluster (as
    ``_redis_route.Route`` and ``ClusterRoute`` for RedisStore)."""

    __slots__ = ("client", "cluster", "options")

    def __init__(self, client: Any, options: RedisOptions) -> None:
        from redis.asyncio.cluster import RedisCluster

        self.client = client
        self.cluster = isinstance(client, RedisCluster)
        self.options = options

    def _by_server(self, keys: list[bytes]) -> list[tuple[Any, list[list[bytes]]]]:
        if self.cluster:
            return by_master(self.client.nodes_manager.slots_cache, keys)
        return [(self.client, chunks(keys))]

    async def bulk(
        self, keys: list[bytes], command: Callable[[list[bytes]], Command], singles: bool = False
    ) -> list[tuple[list[bytes], Any]]:
        """``command(group)`` for every group of ``keys``, each with its reply: on one server,
        several commands in one ``MULTI``/``EXEC``; on a cluster, one batch per master, at once."""
        work, groups = bulk_work(self._by_server(keys), command, singles)
        replies = await self._run(work, not self.cluster and len(work[0][1]) > 1)
        return list(zip(groups, (reply for batch in replies for reply in batch), strict=True))

    async def waited(self, command: Command) -> Any:
        """``command``, then ``WAIT`` for the replicas on the same connection."""
        target = self.client.get_node_from_key(command_key(command)) if self.cluster else self.client
        return (await self._run([(target, [command])], False))[0][0]

    async def gets(self, rkeys: list[bytes]) -> list[Any]:
        """The reply to ``GET`` of each key (value, None or error reply), in one batch per server.

        A reply that calls for a retry (a moved slot, a failover) is raised for the whole batch,
        which the store tries again after reloading the slot map.
        """
        if self.cluster:
            work, groups = bulk_work(self._by_server(rkeys), lambda group: ("GET", group[0]), True)
            batches = await send_batches(work)
            found = dict(zip((g[0] for g in groups), (r for batch in batches for r in batch), strict=True))
            replies = [found[rkey] for rkey in rkeys]
        else:
            replies = await send_batch(self.client, [("GET", rkey) for rkey in rkeys])
        for reply in replies:
            if isinstance(reply, retriable_errors()):
                raise reply
        return replies

    async def scan_page(self, target: Any, cursor: int, pattern: bytes) -> tuple[int, list[bytes]]:
        """One ``SCAN ... TYPE string`` step on one server (``target`` None) or on the cluster node
        ``target`` (keys of other types are not the store's: see ``_redis_pages``)."""
        scan = partial(self.client.scan, cursor, match=pattern, count=1000, _type=VALUE_TYPE)
        if target is None:
            reply: tuple[int, list[bytes]] = await scan()
            return reply
        cursors, page = await scan(target_nodes=target)
        return cursors[target.name], page

    def _run(self, work: list[Work], transaction: bool) -> Awaitable[list[list[Any]]]:
        options = self.options
        return run_batches(
            work, transaction=transaction, replicas=options.replicas, replica_timeout=options.replica_timeout
        )
