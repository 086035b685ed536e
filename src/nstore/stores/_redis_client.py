"""Connecting RedisStore and AsyncRedisStore: the lazy redis-py import, URL options, the
constructor's argument (a URL, cluster nodes or a client), sync clients, and the capabilities.

Failures and retries are ``_redis_retry``'s; what is sent is ``_redis_commands``'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from nstore._expiry import check_ttl
from nstore.errors import ConfigurationError
from nstore.stores._redis_retry import map_error
from nstore.urls import port_number

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

__all__ = [
    "RedisCapabilities",
    "RedisOptions",
    "client_options",
    "cluster_arguments",
    "import_redis",
    "make_client",
    "make_cluster",
    "open_client",
    "parse_node",
    "split_url",
    "ttl_ms",
]

C = TypeVar("C")
#: The longest expiry Redis takes: its clock in ms plus ``PX`` must fit a signed 64-bit integer.
MAX_TTL_MS = 2**62
#: The longest timeout, in seconds, that a RedisStore waits for anything (one day): a socket
#: cannot wait for much longer (about 9.2e9 s), and no store operation should.
MAX_WAIT = 86_400.0
STANDALONE_SCHEMES = ("redis", "rediss")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def import_redis() -> ModuleType:
    """Import redis-py, or raise an ImportError that names the extra to install."""
    try:
        import redis
        import redis.cluster
    except ImportError as exc:
        raise ImportError(
            "RedisStore needs the redis client library (redis-py with hiredis). "
            "Install it with: pip install 'nstore[redis]'"
        ) from exc
    return redis


@dataclass(frozen=True, slots=True)
class RedisOptions:
    """RedisStore's own options; each can also come from the URL's query string."""

    prefix: str = ""
    ttl: float | None = None
    timeout: float = 5.0
    connect_timeout: float = 2.0
    retries: int = 2
    replicas: int = 0
    replica_timeout: float = 1.0

    def __post_init__(self) -> None:
        for name in ("timeout", "connect_timeout", "replica_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_WAIT:
                raise ConfigurationError(
                    f"Expected a positive number of seconds, at most {MAX_WAIT:g}, for {name}. Got {value!r}."
                )
        if self.ttl is not None:
            ttl_ms(self.ttl)  # raises ConfigurationError for a ttl Redis cannot take
        for name in ("retries", "replicas"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
                raise ConfigurationError(f"Expected an integer from 0 to 100 for {name}. Got {value!r}.")
        if not isinstance(self.prefix, str):
            raise ConfigurationError(f"Expected a str for prefix. Got {type(self.prefix).__name__}.")
        try:
            self.prefix.encode()
        except UnicodeEncodeError:
            raise ConfigurationError(
                f"Expected a prefix that is valid Unicode text. Got {self.prefix!r:.80}."
            ) from None

    def merged(self, **given: Any) -> RedisOptions:
        """These options, overridden by every argument in ``given`` that is not None."""
        return replace(self, **{k: v for k, v in given.items() if v is not None})


def split_url(url: str) -> tuple[str, RedisOptions]:
    """Split RedisStore's options off a URL's query string; return the bare URL and the options.

    The URL is read by :func:`nstore.urls.parse`, the one parser of store URLs and their options.
    """
    scheme, slashes, _ = url.partition("://")
    if not slashes:
        node = url.partition("?")[0]
        raise ConfigurationError(
            f"Expected a redis:// or redis+cluster:// URL. Got {url!r}: write redis://{node}/0 for one "
            f"server, or pass the list [{node!r}] of a cluster's startup nodes."
        )
    if scheme.lower() not in STANDALONE_SCHEMES + CLUSTER_SCHEMES:
        raise ConfigurationError(
            f"Expected a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL. Got {scheme!r}."
        )
    from nstore.urls import parse

    parsed = parse(url)
    return parsed.location, RedisOptions(**cast("dict[str, Any]", parsed.options))


def open_client(
    target: object,
    given: dict[str, Any],
    clients: tuple[type[C], ...],
    from_url: Callable[[str, RedisOptions], C],
    from_nodes: Callable[[list[tuple[str, int]], RedisOptions], C],
) -> tuple[C, RedisOptions]:
    """The client and options of a Redis store's first argument, sync or async alike.

    ``target`` is a URL (its query string holds options, which ``given`` arguments override), a
    list of cluster startup nodes, or a client of one of the types ``clients``, used as it is.
    ``from_url`` and ``from_nodes`` make the client of the API in use.
    """
    if isinstance(target, str):
        bare, from_query = split_url(target)
        options = from_query.merged(**given)
        return from_url(bare, options), options
    options = RedisOptions().merged(**given)
    if isinstance(target, clients):
        if cast("Any", target).get_encoder().decode_responses:
            raise ConfigurationError(
                "Expected a redis-py client with decode_responses=False: the store's values are "
                "bytes. Got a client that decodes replies to str; create one without it."
            )
        return target, options
    if isinstance(target, Sequence) and target:
        return from_nodes([parse_node(node) for node in target], options), options
    raise ConfigurationError(
        "Expected a redis:// or redis+cluster:// URL, a list of cluster nodes or a redis-py client. "
        f"Got {target!r}."
    )


def make_client(url: str, options: RedisOptions) -> Redis | RedisCluster:
    """A redis-py client for ``url`` (one server or a cluster), with redis-py's retries off."""
    redis = import_redis()
    common = client_options(options)
    scheme = urlsplit(url).scheme
    if scheme in STANDALONE_SCHEMES:
        try:
            client: Redis = redis.Redis.from_url(url, **common)
        except ValueError as exc:
            raise ConfigurationError(f"Expected a redis://host:port/db URL. {exc}") from exc
        return client
    return _cluster_client(redis, url, common)


def client_options(options: RedisOptions) -> dict[str, Any]:
    """redis-py keyword arguments for a client RedisStore creates: timeouts, no redis-py retries."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": options.timeout,
        "socket_connect_timeout": options.connect_timeout,
        "retry": Retry(NoBackoff(), 0),
        # RESP2 works with every Redis-compatible server and needs no HELLO round trip per connection.
        "protocol": 2,
    }


def _cluster_client(redis: ModuleType, url: str, common: dict[str, Any]) -> RedisCluster:
    nodes, extra = cluster_arguments(url)
    return make_cluster(redis, nodes, common, **extra)


def cluster_arguments(url: str) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """The startup nodes of a ``redis+cluster://`` URL and the client's credentials and TLS flag."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = [parse_node(item) for item in hosts.split(",") if item]
    if not nodes:
        raise ConfigurationError("Expected at least one host:port in the redis+cluster:// URL. Got none.")
    extra = {
        "username": unquote(username) or None,
        "password": unquote(password) or None,
        "ssl": parts.scheme == "rediss+cluster",
    }
    return nodes, extra


def make_cluster(
    redis: ModuleType, nodes: list[tuple[str, int]], common: dict[str, Any], **extra: Any
) -> RedisCluster:
    """A RedisCluster client over the startup ``nodes``; unreachable clusters raise StoreUnavailable."""
    from redis.cluster import ClusterNode

    node: Any = ClusterNode  # Any: ClusterNode.__init__ is unannotated in redis-py
    try:
        cluster: RedisCluster = redis.cluster.RedisCluster(
            startup_nodes=[node(host, port) for host, port in nodes], **common, **extra
        )
    except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
        raise map_error(exc, "connecting to the cluster") from exc
    return cluster


def parse_node(node: object) -> tuple[str, int]:
    """``(host, port)`` from ``"host:port"`` (IPv6 hosts in brackets) or a ``(host, port)`` pair."""
    pair = isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], str) and type(node[1]) is int
    if pair and 0 < node[1] < 65536:  # type: ignore[index]  # a pair, checked just before
        return node[0], node[1]  # type: ignore[index]
    host, sep, port = node.rpartition(":") if isinstance(node, str) else ("", "", "")
    number = port_number(port)
    if not sep or number is None:
        raise ConfigurationError(
            "Expected a cluster node as 'host:port' or (host, port), with a port from 1 to 65535. "
            f"Got {node!r}."
        )
    return host.strip("[]"), number


def ttl_ms(ttl: object) -> int:
    """A time-to-live in seconds as Redis milliseconds (at least 1); ConfigurationError unless it is
    a positive, finite number (``check_ttl``) that Redis can take."""
    seconds = check_ttl(ttl)
    ms = max(1, round(seconds * 1000))
    if ms > MAX_TTL_MS:
        raise ConfigurationError(
            f"Expected a ttl of at most {MAX_TTL_MS // 1000} seconds (Redis's limit). Got {ttl!r}; "
            "store the value without a ttl to keep it forever."
        )
    return ms


class RedisCapabilities:
    """Mixin: the capabilities of RedisStore and AsyncRedisStore."""

    __slots__ = ()

    @property
    def is_persistent(self) -> bool:
        # Values outlive this process; how they survive a server crash is the server's persistence.
        return True

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def supports_prefix_listing(self) -> bool:
        # SCAN MATCH filters on the server but still walks the whole keyspace.
        return False

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    @property
    def supports_ttl(self) -> bool:
        # Redis expires keys itself (SET PX, PEXPIRE), so an expired key is absent to every client.
        return True
