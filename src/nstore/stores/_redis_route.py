"""Where RedisStore's commands go: one server, or the masters of a Redis Cluster.

Bulk operations are split into groups that one command can serve atomically: on one server, chunks
of keys inside one ``MULTI``/``EXEC``; on a cluster, the keys of one hash slot (``MGET``/``MSET``/
``DEL`` refuse keys from several slots), batched in one pipeline per master. Each connection's batch
is one round trip; with ``replicas > 0`` it ends with ``WAIT`` on the same connection.
"""

from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from nstore.errors import StoreUnavailable

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

__all__ = [
    "Batch",
    "ClusterRoute",
    "Route",
    "chunks",
    "group_by_slot",
    "key_slot",
    "route_for",
    "run_batches",
    "scan",
]

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
        return [(self.client, chunks(keys))]

    def node_client(self, key: bytes) -> Redis:
        return self.client

    def scan_clients(self) -> list[Redis]:
        return [self.client]

    def refresh(self) -> None:
        """Forget cached topology (nothing to forget on one server)."""

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
        work = []
        groups: list[list[bytes]] = []
        for client, client_groups in self.batches(keys):
            if singles:
                client_groups = [[key] for group in client_groups for key in group]
            work.append((client, [command(group) for group in client_groups]))
            groups.extend(client_groups)
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
        slots = group_by_slot(keys)
        by_node: dict[str, tuple[Redis, list[list[bytes]]]] = {}
        # slots_cache[slot][0] is the slot's master, as NodesManager.get_node_from_slot reads it,
        # without that method's lock and load-balancing checks for every slot.
        slots_cache = self.cluster.nodes_manager.slots_cache
        for slot, slot_keys in slots.items():
            nodes = slots_cache.get(slot)
            if not nodes:
                from redis.exceptions import SlotNotCoveredError

                raise SlotNotCoveredError(f"Slot {slot} is not covered by the cluster.")
            node = nodes[0]
            entry = by_node.get(node.name)
            if entry is None:
                entry = by_node[node.name] = (self.cluster.get_redis_connection(node), [])
            if len(slot_keys) <= CHUNK:
                entry[1].append(slot_keys)
            else:
                entry[1].extend(chunks(slot_keys))
        return list(by_node.values())

    def node_client(self, key: bytes) -> Redis:
        client: Redis = self.cluster.get_redis_connection(self.cluster.get_node_from_key(key))
        return client

    def scan_clients(self) -> list[Redis]:
        return [self.cluster.get_redis_connection(node) for node in self.cluster.get_primaries()]

    def refresh(self) -> None:
        self.cluster.nodes_manager.initialize()


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

    framed = [_frame(commands, transaction, replicas, replica_timeout) for _, commands in work]
    taken: list[tuple[Any, Any]] = []  # (pool, connection); Any: redis-py's pool API is unannotated
    try:
        for (client, _), commands in zip(work, framed, strict=True):
            pool: Any = client.connection_pool
            connection = pool.get_connection()
            taken.append((pool, connection))
            connection.send_packed_command(_pack(connection, commands))
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
    return [_unframe(batch, transaction, replicas, replica_timeout) for batch in replies]


def _pack(connection: Any, commands: list[Command]) -> Any:
    """The commands in the Redis protocol: hiredis packs each in one C call when it is installed."""
    try:
        from hiredis import pack_command
    except ImportError:
        return connection.pack_commands(commands)
    return [b"".join([pack_command(command) for command in commands])]


def _frame(commands: list[Command], transaction: bool, replicas: int, timeout: float) -> list[Command]:
    framed = [("MULTI",), *commands, ("EXEC",)] if transaction else list(commands)
    if replicas:
        framed.append(("WAIT", replicas, int(timeout * 1000)))
    return framed


def _unframe(replies: list[Any], transaction: bool, replicas: int, timeout: float) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    if replicas:
        acknowledged = replies.pop()
        if acknowledged < replicas:
            raise StoreUnavailable(
                f"The write reached the master but only {acknowledged} of {replicas} replicas "
                f"acknowledged it within {timeout}s; it may be lost if the master fails now."
            )
    if not transaction:
        return replies
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
