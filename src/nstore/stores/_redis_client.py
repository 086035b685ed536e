"""Connecting RedisStore: the lazy redis-py import, URL options, client creation, error mapping.

Clients that RedisStore creates have redis-py's own retries turned off (``Retry(NoBackoff(), 0)``):
redis-py would retry any command after a lost connection, including ``SET NX`` and scripts, whose
second attempt can report the wrong outcome. RedisStore retries only idempotent operations itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import unquote, urlsplit

from nstore.errors import (
    AuthError,
    ConfigurationError,
    NStoreError,
    StoreError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from redis import Redis
    from redis.cluster import RedisCluster

__all__ = [
    "Call",
    "RedisOptions",
    "client_options",
    "cluster_arguments",
    "failure",
    "import_redis",
    "make_client",
    "make_cluster",
    "map_error",
    "may_be_applied",
    "parse_node",
    "recover",
    "redis_errors",
    "refused_errors",
    "retriable_errors",
    "retry_delay",
    "split_url",
    "ttl_ms",
]

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
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigurationError(f"Expected a positive number of seconds for {name}. Got {value!r}.")
        ttl: object = self.ttl
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0):
            raise ConfigurationError(
                f"Expected a positive number of seconds (or None) for ttl. Got {self.ttl!r}."
            )
        for name in ("retries", "replicas"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
                raise ConfigurationError(f"Expected an integer from 0 to 100 for {name}. Got {value!r}.")
        if not isinstance(self.prefix, str):
            raise ConfigurationError(f"Expected a str for prefix. Got {type(self.prefix).__name__}.")

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
    if isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], str) and isinstance(node[1], int):
        return node[0], node[1]
    host, sep, port = node.rpartition(":") if isinstance(node, str) else ("", "", "")
    if not sep or not port.isdigit():
        raise ConfigurationError(f"Expected a cluster node as 'host:port' or (host, port). Got {node!r}.")
    return host.strip("[]"), int(port)


def ttl_ms(ttl: object) -> int:
    """A time-to-live in seconds as Redis milliseconds (at least 1)."""
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
        raise ConfigurationError(f"Expected a positive number of seconds for ttl. Got {ttl!r}.")
    return max(1, round(ttl * 1000))


@cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """Every error redis-py raises (RedisClusterException does not derive from RedisError)."""
    redis = import_redis()
    return (redis.RedisError, redis.exceptions.RedisClusterException)


@cache
def refused_errors() -> tuple[type[BaseException], ...]:
    """Error replies that mean the command did not run: safe to try again, even when not idempotent."""
    from redis import exceptions as e

    return (e.MovedError, e.TryAgainError, e.ClusterDownError, e.ReadOnlyError)


@cache
def retriable_errors() -> tuple[type[BaseException], ...]:
    """redis-py errors after which an idempotent operation may be tried again."""
    from redis import exceptions as e

    return (
        e.ConnectionError,
        e.TimeoutError,
        e.ClusterDownError,
        e.TryAgainError,
        e.ReadOnlyError,
        e.MovedError,
        e.SlotNotCoveredError,
    )


#: How a call may be tried: a read (again after any transient error; a failure changes nothing), a
#: write that is idempotent (again, like a read; a write that failed may still be applied later:
#: the server may run a request whose reply never came), or a write tried once (SET NX,
#: compare-and-set, DEL of one key: a second attempt could report the wrong outcome).
Call = Literal["read", "write", "write-once"]


def recover(
    first: BaseException,
    what: str,
    call: Call,
    retries: int,
    refresh: Callable[[], None],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kw: dict[str, Any],
) -> Any:
    """Try ``fn`` again after ``first`` failed, as far as :func:`retry_delay` allows; else raise.

    The cached cluster topology is reloaded after each transient failure. A write that fails
    in a way that may have reached the server says that it may or may not have been applied.
    """
    errors = redis_errors()
    last = first
    applied = may_be_applied(call, first)
    attempt = 0
    while isinstance(last, retriable_errors()):
        # A failover or a moved slot makes the cached cluster topology stale: reload it even when
        # not trying again, or every later call would go to the same dead node.
        with contextlib.suppress(*errors):
            refresh()
        delay = retry_delay(last, attempt, call, retries)
        if delay is None:
            break
        time.sleep(delay)
        attempt += 1
        try:
            return fn(*args, **kw)
        except errors as exc:
            last = exc
            applied = applied or may_be_applied(call, exc)
    raise failure(last, what, applied) from last


def retry_delay(exc: BaseException, attempt: int, call: Call, retries: int) -> float | None:
    """Seconds to wait before trying again after ``exc`` (attempt ``attempt``), or None to give up.

    Reads and idempotent writes are tried again after any transient error; writes tried once only
    after an error reply that means the command did not run (``refused_errors``). The backoff is
    0.05 s, 0.1 s, 0.2 s, then 0.25 s per attempt. Shared by the sync and async stores.
    """
    if not isinstance(exc, retriable_errors()) or attempt >= retries:
        return None
    if call == "write-once" and not isinstance(exc, refused_errors()):
        return None
    return min(0.05 * 2.0**attempt, 0.25)


def may_be_applied(call: Call, exc: BaseException) -> bool:
    """Whether a write that failed with ``exc`` may still have been applied by the server."""
    return call != "read" and not isinstance(exc, refused_errors())


def failure(exc: BaseException, what: str, maybe_applied: bool) -> NStoreError:
    """The nstore error to raise when a call doing ``what`` finally failed with ``exc``."""
    return map_error(exc, what, unknown_outcome=maybe_applied)


def map_error(exc: BaseException, action: str, *, unknown_outcome: bool = False) -> NStoreError:
    """The nstore error for a redis-py error raised while doing ``action``."""
    from redis import exceptions as e

    if isinstance(exc, e.AuthenticationError | e.AuthorizationError | e.NoPermissionError):
        return AuthError(f"Redis refused the credentials while {action}: {exc}. Check the user and password.")
    if isinstance(exc, e.AuthenticationWrongNumberOfArgsError):
        return AuthError(f"Redis refused the credentials while {action}: {exc}.")
    if isinstance(exc, (*retriable_errors(), e.RedisClusterException, e.BusyLoadingError)):
        outcome = (
            " The write may or may not have been applied: read the key to find out."
            if unknown_outcome
            else ""
        )
        return StoreUnavailable(
            f"Redis is unavailable while {action} ({type(exc).__name__}: {exc}).{outcome} "
            "Check that the server (or every cluster master) is up; a failover may be in progress."
        )
    return StoreError(f"Redis failed while {action}: {type(exc).__name__}: {exc}")
