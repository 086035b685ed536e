"""Where RedisStore's commands go: one server, or the masters of a Redis Cluster.

Bulk operations are split into groups that one command can serve atomically: on one server, chunks
of keys inside one ``MULTI``/``EXEC``; on a cluster, the keys of one hash slot (``MGET``/``MSET``/
``DEL`` refuse keys from several slots), batched in one pipeline per master. Each connection's batch
is one round trip; with ``replicas > 0`` it ends with ``WAIT`` on the same connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from nstore.errors import StoreUnavailable

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

__all__ = ["Batch", "Route", "route_for"]

#: Keys per MGET/MSET/DEL command: large enough to amortise a round trip, small enough that one
#: command does not block the server for long.
CHUNK = 1000

Command = tuple[Any, ...]
#: One connection's work: its client, and groups of keys each served by one command.
Batch = tuple["Redis", list[list[bytes]]]


class Route:
    """One Redis server: every key lives on the one client."""

    atomic_bulk = True

    def __init__(self, client: Redis) -> None:
        self.client = client

    def batches(self, keys: Sequence[bytes]) -> list[Batch]:
        return [(self.client, [list(keys[i : i + CHUNK]) for i in range(0, len(keys), CHUNK)])]

    def node_client(self, key: bytes) -> Redis:
        return self.client

    def scan_clients(self) -> list[Redis]:
        return [self.client]

    def refresh(self) -> None:
        """Forget cached topology (nothing to forget on one server)."""


class ClusterRoute(Route):
    """A Redis Cluster: keys grouped by hash slot, slots by the master that serves them."""

    atomic_bulk = False

    def __init__(self, cluster: RedisCluster) -> None:
        # Any: several RedisCluster methods used here carry no annotations in redis-py.
        self.cluster: Any = cluster

    def batches(self, keys: Sequence[bytes]) -> list[Batch]:
        keyslot = self.cluster.keyslot
        slots: dict[int, list[bytes]] = {}
        for key in keys:
            slots.setdefault(keyslot(key), []).append(key)
        by_node: dict[str, tuple[Redis, list[list[bytes]]]] = {}
        manager = self.cluster.nodes_manager
        for slot, slot_keys in slots.items():
            node = manager.get_node_from_slot(slot)
            entry = by_node.get(node.name)
            if entry is None:
                entry = by_node[node.name] = (self.cluster.get_redis_connection(node), [])
            entry[1].extend(slot_keys[i : i + CHUNK] for i in range(0, len(slot_keys), CHUNK))
        return list(by_node.values())

    def node_client(self, key: bytes) -> Redis:
        client: Redis = self.cluster.get_redis_connection(self.cluster.get_node_from_key(key))
        return client

    def scan_clients(self) -> list[Redis]:
        return [self.cluster.get_redis_connection(node) for node in self.cluster.get_primaries()]

    def refresh(self) -> None:
        self.cluster.nodes_manager.initialize()


def route_for(client: Redis | RedisCluster) -> Route:
    from redis.cluster import RedisCluster

    return ClusterRoute(client) if isinstance(client, RedisCluster) else Route(client)


def run_batch(
    client: Redis,
    commands: list[Command],
    *,
    transaction: bool,
    replicas: int,
    replica_timeout: float,
) -> list[Any]:
    """Send ``commands`` on one connection in one round trip; return their replies.

    With ``transaction`` they run inside ``MULTI``/``EXEC``; with ``replicas`` a ``WAIT`` follows
    on the same connection and too few acknowledgements raise StoreUnavailable. Error replies are
    raised (the first one), as redis-py raises them.
    """
    pipe: Any = client.pipeline(transaction=False)  # Any: Pipeline.execute_command is unannotated
    if transaction:
        pipe.execute_command("MULTI")
    for command in commands:
        pipe.execute_command(*command)
    if transaction:
        pipe.execute_command("EXEC")
    if replicas:
        pipe.execute_command("WAIT", replicas, int(replica_timeout * 1000))
    replies = pipe.execute(raise_on_error=False)
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    if replicas:
        acknowledged = replies.pop()
        if acknowledged < replicas:
            raise StoreUnavailable(
                f"The write reached the master but only {acknowledged} of {replicas} replicas acknowledged "
                f"it within {replica_timeout}s; it may be lost if the master fails now."
            )
    if not transaction:
        return list(replies)
    results = list(replies[-1])
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def scan(client: Redis, pattern: bytes, call: Callable[..., Any]) -> Iterator[bytes]:
    """Yield the keys ``SCAN MATCH pattern`` finds on one server, one page per call."""
    cursor = 0
    while True:
        cursor, page = call(client.scan, cursor, match=pattern, count=1000)
        yield from page
        if cursor == 0:
            return
