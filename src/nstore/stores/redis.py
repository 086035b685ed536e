"""RedisStore: ``str -> bytes`` on one Redis server or a Redis Cluster, over redis-py with hiredis."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

from nstore.errors import ConfigurationError, MissingKey, StoreClosed
from nstore.store import KeyPage, Store, check_limit
from nstore.stores import _redis_commands as commands
from nstore.stores._redis_client import (
    RedisCapabilities,
    client_options,
    import_redis,
    make_client,
    make_cluster,
    open_client,
    ttl_ms,
)
from nstore.stores._redis_pages import holds_value, scan_page, wrong_type
from nstore.stores._redis_retry import Call, recover, redis_errors
from nstore.stores._redis_route import Route, route_for, scan

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

__all__ = ["RedisStore"]


def _closed(*args: object) -> NoReturn:
    raise StoreClosed("This RedisStore is closed; open a new one.")


class _ClosedRoute(Route):
    """Stands in for a closed store's route: every use raises StoreClosed."""

    def __init__(self) -> None:
        pass

    batches = bulk = node_client = scan_clients = refresh = waited = _closed  # type: ignore[assignment]  # all raise


class RedisStore(RedisCapabilities, Store[str, bytes]):
    """A store on Redis: one server (``redis://``, ``rediss://``) or a cluster (``redis+cluster://``).

    Keys are UTF-8 Redis keys under ``prefix``; values are stored as the plain bytes given, so other
    Redis clients read them. Keys follow the rules of every backend (a ``str`` that is valid
    Unicode text); a Redis key under the prefix that is not UTF-8, or that holds a hash, a list or
    another type that is not a string, which only another client can have written, is not one of
    this store's keys: listings and counts skip it, a read finds nothing, and it is left alone.

    A cluster is named by a ``redis+cluster://host:port,host:port`` URL or a list of startup nodes
    (``"host:port"`` or ``(host, port)``); an existing ``redis.Redis`` or
    ``redis.cluster.RedisCluster`` client is used as it is, and not closed by :meth:`close`.

    Parameters
    ----------
    url_or_client
        A URL, a list of cluster startup nodes, or a redis-py client. Options below may also be
        given in the URL's query string (``?prefix=app:&ttl=60``).
    prefix
        Prepended to every key in Redis, so several stores can share a database.
    ttl
        Default time-to-live in seconds for every write (None: keys never expire).
    timeout, connect_timeout
        Socket timeouts in seconds for each attempt of each call.
    retries
        How many more times an idempotent operation (GET, MGET, SCAN, plain SET, bulk writes) is
        tried after a lost connection, a timeout or a failover in progress. ``SET NX``,
        compare-and-set and single-key delete are tried once, as their second attempt could report
        the wrong outcome. A call takes at most about ``(retries + 1) * (connect_timeout +
        timeout) + 0.25 * retries`` seconds (on a cluster, plus reloading the slot map from the
        nodes after a lost connection), then raises :class:`~nstore.errors.StoreUnavailable`.
    replicas, replica_timeout
        With ``replicas > 0`` every write waits (``WAIT``) until that many replicas have it, and
        raises :class:`~nstore.errors.StoreUnavailable` if they do not within ``replica_timeout``:
        Redis replication is asynchronous, so otherwise a write acknowledged by a master that dies
        just after may be lost in the failover.

    Examples
    --------
    >>> store = RedisStore("redis://127.0.0.1:1/0?prefix=app:&timeout=0.5&retries=0")
    >>> store.is_remote, store.supports_atomic_writes, store.supports_prefix_listing
    (True, True, False)
    >>> store["greeting"] = b"hello"  # nothing listens on port 1  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstore.errors.StoreUnavailable: Redis is unavailable while writing 'greeting' ...
    >>> store.close()
    """

    __slots__ = (
        "_client",
        "_execute",
        "_options",
        "_owns_client",
        "_prefix",
        "_px",
        "_route",
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
    ) -> None:
        redis = import_redis()
        given = {
            "prefix": prefix,
            "ttl": ttl,
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "retries": retries,
            "replicas": replicas,
            "replica_timeout": replica_timeout,
        }
        client, settings = open_client(
            url_or_client,
            given,
            (redis.Redis, redis.cluster.RedisCluster),
            make_client,
            lambda nodes, settings: make_cluster(redis, nodes, client_options(settings)),
        )
        self._owns_client = client is not url_or_client
        self._client: Redis | RedisCluster = client
        self._options = settings
        self._prefix = settings.prefix
        self._px = None if settings.ttl is None else ttl_ms(settings.ttl)
        self._route = route_for(client)
        self._execute: Callable[..., Any] = client.execute_command

    # -- capabilities: RedisCapabilities' ----------------------------------------------------------

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis-py client underneath (for commands RedisStore does not cover)."""
        return self._client

    # -- single keys -------------------------------------------------------------------------------

    def __getitem__(self, key: str, /) -> bytes:
        value: bytes | None = self._call("read", "reading", key, self._get, self._key(key))
        if value is None:
            raise MissingKey(key)
        return value

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self.set(key, value)

    def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        """Store ``value`` at ``key``, expiring after ``ttl`` seconds (default: the store's ttl)."""
        px = self._px if ttl is None else ttl_ms(ttl)
        self._write("write", "writing", key, commands.set_command(self._key(key), key, value, px))

    def __delitem__(self, key: str, /) -> None:
        if not self._write("write-once", "deleting", key, ("DEL", self._key(key))):
            raise MissingKey(key)

    def __contains__(self, key: object, /) -> bool:
        encoded = commands.member_key(self._prefix, key)
        if encoded is None:
            return False
        # TYPE, not EXISTS: a hash or list of another client is not a key of the store
        return holds_value(self._call("read", "reading", str(key), self._execute, "TYPE", encoded))

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        # docstring inherited
        command = commands.set_if_absent_command(self._key(key), key, value, self._px)
        return bool(self._write("write-once", "writing", key, command))

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        # docstring inherited
        command = commands.cas_command(self._key(key), key, expected, value, self._px)
        return bool(self._write("write-once", "compare-and-set on", key, command))

    # -- expiry ------------------------------------------------------------------------------------

    def ttl(self, key: str, /) -> float | None:
        # docstring inherited; PTTL
        reply = self._call("read", "reading", key, self._execute, *commands.ttl_command(self._key(key)))
        return commands.ttl_seconds(reply, key)

    def touch(self, key: str, /, *, ttl: float | None) -> None:
        # docstring inherited; PEXPIRE, or PERSIST in a script that tells a missing key apart
        command = commands.touch_command(self._key(key), None if ttl is None else ttl_ms(ttl))
        if not self._write("write", "touching", key, command):
            raise MissingKey(key)

    # -- bulk operations ---------------------------------------------------------------------------

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        """Return the present values of ``keys``: one round trip per server (``MGET``).

        On one server the read is one atomic snapshot; on a cluster, atomic per hash slot.
        """
        wanted = self._keys(keys)
        if not wanted:
            return {}
        replies = self._call("read", "reading", None, self._bulk, list(wanted), lambda keys: ("MGET", *keys))
        return commands.found_values(wanted, replies)

    def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        """Store every pair, in one round trip per server; ``ttl`` as in :meth:`set`.

        On one server all pairs are written in one ``MULTI``/``EXEC`` transaction (all or none); on
        a cluster each hash slot's pairs are written together (keys sharing a ``{tag}`` are).
        """
        values = commands.encode_items(self._prefix, items)
        if not values:
            return
        command, singles = commands.set_many_command(values, self._px if ttl is None else ttl_ms(ttl))
        self._call("write", "writing", None, self._bulk, list(values), command, singles)

    def delete_many(self, keys: Iterable[str], /) -> None:
        """Remove the present ``keys`` (``DEL``), atomically on one server, per hash slot on a cluster."""
        encoded = list(self._keys(keys))
        if encoded:
            self._call("write", "deleting", None, self._bulk, encoded, lambda group: ("DEL", *group))

    # -- listing ---------------------------------------------------------------------------------

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        # docstring inherited; one SCAN page per round trip, on every master of a cluster
        found = commands.scan_pattern(self._prefix, prefix)
        if found is None:
            return iter(())  # a prefix with a lone surrogate: no key of this store starts with it
        return self._scan(*found)

    def keys_page(
        self, prefix: str | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[str]:
        # docstring inherited; SCAN from the cursor, which is SCAN's own (see _redis_pages)
        if cursor is not None and not isinstance(cursor, str):
            raise ConfigurationError(f"Expected a str cursor from keys_page. Got {type(cursor).__name__}.")
        check_limit(limit)
        found = commands.scan_pattern(self._prefix, prefix)
        if found is None:
            return KeyPage([], None)  # a prefix with a lone surrogate: no key of this store starts with it
        call = partial(self._call, "read", "listing", None)
        return scan_page(self._route.scan_clients(), *found, cursor, limit, call)

    def _scan(self, pattern: bytes, strip: int, action: str = "listing") -> Iterator[str]:
        seen: set[bytes] = set()
        call = partial(self._call, "read", action, None)
        for client in self._route.scan_clients():
            for page in scan(client, pattern, call):
                yield from commands.fresh_keys(page, seen, strip)

    def __len__(self) -> int:
        # A count of the listing, not DBSIZE: that counts keys that are not UTF-8 or not strings,
        # which are not keys of the store.
        found = commands.scan_pattern(self._prefix, None)
        return 0 if found is None else sum(1 for _ in self._scan(*found, "counting"))

    # -- life cycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the client this store created (a client passed in stays open); idempotent."""
        if self._execute is _closed:
            return
        self._execute = _closed
        self._route = _ClosedRoute()
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client!r}, prefix={self._prefix!r})"

    # -- plumbing -------------------------------------------------------------------------------

    def _key(self, key: str) -> bytes:
        return commands.encode_key(self._prefix, key)

    def _get(self, rkey: bytes) -> bytes | None:
        """``GET rkey``; None for a key of another type (a hash, a list), which is not the store's."""
        try:
            value: bytes | None = self._execute("GET", rkey)
        except redis_errors() as exc:
            if wrong_type(exc):
                return None
            raise
        return value

    def _keys(self, keys: Iterable[str]) -> dict[bytes, str]:
        return commands.encode_keys(self._prefix, keys)

    def _write(self, call: Call, action: str, key: str, command: tuple[Any, ...]) -> Any:
        options = self._options
        if not options.replicas:
            return self._call(call, action, key, self._execute, *command)
        waited = (command, options.replicas, options.replica_timeout)
        return self._call(call, action, key, self._route.waited, *waited)

    def _bulk(
        self, keys: list[bytes], command: Callable[[list[bytes]], tuple[Any, ...]], singles: bool = False
    ) -> list[tuple[list[bytes], Any]]:
        options = self._options
        return self._route.bulk(keys, command, singles, options.replicas, options.replica_timeout)

    def _call(
        self, call: Call, action: str, key: str | None, fn: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any:
        """``fn(*args)``, retried as the options allow, with redis-py errors mapped to nstore's."""
        try:
            return fn(*args, **kw)
        except redis_errors() as exc:
            what = action if key is None else f"{action} {key!r}"
            return recover(exc, what, call, self._options.retries, self._route.refresh, fn, args, kw)
