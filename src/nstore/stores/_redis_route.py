"""Where RedisStore's commands go: one server, or the masters of a Redis Cluster.

Bulk operations are split into groups that one command can serve atomically: on one server, chunks
of keys inside one ``MULTI``/``EXEC``; on a cluster, the keys of one hash slot (``MGET``/``MSET``/
``DEL`` refuse keys from several slots), batched in one pipeline per master. Each connection's batch
is one round trip; with ``replicas > 0`` it ends with ``WAIT`` on the same connection.
"""

from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from nstore.stores._redis_commands import Command, command_key, frame, pack, unframe
from nstore.stores._redis_pages import VALUE_TYPE

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

__all__ = [
    "Batch",
    "ClusterRoute",
    "Route",
    "bulk_work",
    "by_master",
    "chunks",
    "group_by_slot",
    "key_slot",
    "route_for",
    "run_batches",
    "scan",
]

T = TypeVar("T")
#: Keys per MGET/MSET/DEL command: large enough to amortise a round trip, small enough that one
#: command does not block the server for long.
CHUNK = 1000

#: One connection's work: its client, and groups of keys each served by one command.
Batch = tuple["Redis", list[list[bytes]]]


class Route:
    """One Redis server: every key lives on the one client."""

    atomic_bulk = True

    def __init__(self, client: Redis) -> None:
        self.client = client

    def batches(self, keys: Sequence[bytes]) -> list[Batch]:
        return [(self.client, chunks(keys))]

    def node_client(self, key: bytes) -> Redis:
        return self.client

    def scan_clients(self) -> list[Redis]:
        return [self.client]

    def refresh(self) -> None:
        """Forget cached topology (nothing to forget on one server)."""

    def waited(self, command: Command, replicas: int, replica_timeout: float) -> Any:
        """``command``, then ``WAIT`` for ``replicas`` on the same connection; its reply."""
        client = self.node_client(command_key(command))
        batch = run_batches(
            [(client, [command])], transaction=False, replicas=replicas, replica_timeout=replica_timeout
        )
        return batch[0][0]

    def bulk(
        self,
        keys: list[bytes],
        command: Callable[[list[bytes]], Command],
        singles: bool,
        replicas: int,
        replica_timeout: float,
    ) -> list[tuple[list[bytes], Any]]:
        """Run ``command(group)`` for every group of ``keys``, in one round trip in all.

        Return each group with its reply; with ``singles`` every group is one key. On one server,
        several commands run inside one ``MULTI``/``EXEC``, so the whole call is atomic.
        """
        work, groups = bulk_work(self.batches(keys), command, singles)
        transaction = self.atomic_bulk and len(work[0][1]) > 1
        replies = run_batches(
            work, transaction=transaction, replicas=replicas, replica_timeout=replica_timeout
        )
        return list(zip(groups, (reply for batch in replies for reply in batch), strict=True))


class ClusterRoute(Route):
    """A Redis Cluster: keys grouped by hash slot, slots by the master that serves them."""

    atomic_bulk = False

    def __init__(self, cluster: RedisCluster) -> None:
        # Any: several RedisCluster methods used here carry no annotations in redis-py.
        self.cluster: Any = cluster

    def batches(self, keys: Sequence[bytes]) -> list[Batch]:
        masters = by_master(self.cluster.nodes_manager.slots_cache, keys)
        return [(self.cluster.get_redis_connection(node), groups) for node, groups in masters]

    def node_client(self, key: bytes) -> Redis:
        client: Redis = self.cluster.get_redis_connection(self.cluster.get_node_from_key(key))
        return client

    def scan_clients(self) -> list[Redis]:
        return [self.cluster.get_redis_connection(node) for node in self.cluster.get_primaries()]

    def refresh(self) -> None:
        self.cluster.nodes_manager.initialize()


def bulk_work(
    batches: Sequence[tuple[T, list[list[bytes]]]], command: Callable[[list[bytes]], Command], singles: bool
) -> tuple[list[tuple[T, list[Command]]], list[list[bytes]]]:
    """Each connection's commands for its groups of keys (one key a group with ``singles``), and
    every group in the order of the commands: what a bulk call sends, sync or async."""
    work: list[tuple[T, list[Command]]] = []
    groups: list[list[bytes]] = []
    for target, target_groups in batches:
        if singles:
            target_groups = [[key] for group in target_groups for key in group]
        work.append((target, [command(group) for group in target_groups]))
        groups.extend(target_groups)
    return work, groups


def by_master(
    slots_cache: Mapping[int, Sequence[Any]], keys: Iterable[bytes]
) -> list[tuple[Any, list[list[bytes]]]]:
    """``keys`` grouped by hash slot (in chunks of at most :data:`CHUNK`), the groups by the master
    node that serves them; ``slots_cache`` is the cluster client's slot map (sync or async).

    ``slots_cache[slot][0]`` is the slot's master, as ``NodesManager.get_node_from_slot`` reads it,
    without that method's lock and load-balancing checks for every slot.
    """
    by_node: dict[str, tuple[Any, list[list[bytes]]]] = {}
    for slot, slot_keys in group_by_slot(keys).items():
        nodes = slots_cache.get(slot)
        if not nodes:
            from redis.exceptions import SlotNotCoveredError

            raise SlotNotCoveredError(f"Slot {slot} is not covered by the cluster.")
        node = nodes[0]
        entry = by_node.get(node.name)
        if entry is None:
            entry = by_node[node.name] = (node, [])
        if len(slot_keys) <= CHUNK:
            entry[1].append(slot_keys)
        else:
            entry[1].extend(chunks(slot_keys))
    return list(by_node.values())


def key_slot(key: bytes) -> int:
    """The Redis Cluster hash slot of ``key``: CRC16 (XMODEM) of its ``{hash tag}`` or of all of it."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc_hqx(key, 0) % 16384


def group_by_slot(keys: Iterable[bytes]) -> dict[int, list[bytes]]:
    """``keys`` grouped by Redis Cluster hash slot, each group in the keys' order."""
    slots: dict[int, list[bytes]] = {}
    for key in keys:
        slot = key_slot(key)
        group = slots.get(slot)
        if group is None:
            slots[slot] = [key]
        else:
            group.append(key)
    return slots


def chunks(keys: Sequence[bytes]) -> list[list[bytes]]:
    """``keys`` in groups of at most :data:`CHUNK`, one command each."""
    return [list(keys[i : i + CHUNK]) for i in range(0, len(keys), CHUNK)]


def route_for(client: Redis | RedisCluster) -> Route:
    from redis.cluster import RedisCluster

    return ClusterRoute(client) if isinstance(client, RedisCluster) else Route(client)


def run_batches(
    work: list[tuple[Redis, list[Command]]],
    *,
    transaction: bool,
    replicas: int,
    replica_timeout: float,
) -> list[list[Any]]:
    """Send each connection's ``commands``, all before reading any reply; return the replies.

    One round trip in all, however many masters take part. With ``transaction`` each batch runs
    inside ``MULTI``/``EXEC``; with ``replicas`` a ``WAIT`` follows on the same connection and
    too few acknowledgements raise StoreUnavailable. Every reply is read before an error reply is
    raised, and a connection that fails mid-way is dropped, so no later request on a pooled
    connection can be handed a reply meant for this one.
    """
    from redis.exceptions import ResponseError

    framed = [frame(commands, transaction, replicas, replica_timeout) for _, commands in work]
    taken: list[tuple[Any, Any]] = []  # (pool, connection); Any: redis-py's pool API is unannotated
    try:
        for (client, _), commands in zip(work, framed, strict=True):
            pool: Any = client.connection_pool
            connection = pool.get_connection()
            taken.append((pool, connection))
            connection.send_packed_command(pack(connection, commands))
        replies: list[list[Any]] = []
        for (_, connection), commands in zip(taken, framed, strict=True):
            batch: list[Any] = []
            for _ in commands:
                try:
                    batch.append(connection.read_response())
                except ResponseError as exc:  # an error reply: the connection stays in step
                    batch.append(exc)
            replies.append(batch)
    except BaseException:
        for _, connection in taken:
            connection.disconnect()
        raise
    finally:
        for pool, connection in taken:
            pool.release(connection)
    return [unframe(batch, transaction, replicas, replica_timeout) for batch in replies]


def scan(client: Redis, pattern: bytes, call: Callable[..., Any]) -> Iterator[list[bytes]]:
    """Yield the pages of string keys ``SCAN MATCH pattern TYPE string`` finds on one server, one
    page per call (keys of other types are not the store's: see ``_redis_pages``)."""
    cursor = 0
    while True:
        cursor, page = call(client.scan, cursor, match=pattern, count=1000, _type=VALUE_TYPE)
        yield page
        if cursor == 0:
            return
