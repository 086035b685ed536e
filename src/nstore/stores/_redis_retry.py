"""When RedisStore and AsyncRedisStore try a call again, and which nstore error a failure becomes.

The decisions are made here, without I/O, by :class:`Attempts`; each store only waits (``time.sleep``
or ``asyncio.sleep``) and calls redis-py again. Clients that the stores create have redis-py's own
retries turned off (``Retry(NoBackoff(), 0)``): redis-py would retry any command after a lost
connection, including ``SET NX`` and scripts, whose second attempt can report the wrong outcome.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from functools import cache
from typing import Any, Literal

from nstore.errors import AuthError, ConfigurationError, NStoreError, StoreError, StoreUnavailable

__all__ = [
    "Attempts",
    "Call",
    "failure",
    "map_error",
    "may_be_applied",
    "recover",
    "redis_errors",
    "refused_errors",
    "retriable_errors",
    "retry_delay",
]

#: How a call may be tried: a read (again after any transient error; a failure changes nothing), a
#: write that is idempotent (again, like a read; a write that failed may still be applied later:
#: the server may run a request whose reply never came), or a write tried once (SET NX,
#: compare-and-set, DEL of one key: a second attempt could report the wrong outcome).
Call = Literal["read", "write", "write-once"]


@cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """Every error redis-py raises (RedisClusterException does not derive from RedisError)."""
    from redis import exceptions as e

    return (e.RedisError, e.RedisClusterException)


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


class Attempts:
    """The attempts of one call after its first failure: whether to reload the cluster topology,
    how long to wait before the next attempt, and the error to raise at the end.

    Both stores run the same loop around it::

        attempts = Attempts(call, retries, first)
        while attempts.stale():
            reload the topology (errors ignored)
            delay = attempts.delay()
            if delay is None: break
            sleep(delay); try again; on a redis-py error: attempts.failed(exc)
        raise attempts.error(what) from attempts.last
    """

    __slots__ = ("applied", "attempt", "call", "last", "retries")

    def __init__(self, call: Call, retries: int, first: BaseException) -> None:
        self.call: Call = call
        self.retries = retries
        self.last = first
        self.applied = may_be_applied(call, first)
        self.attempt = 0

    def stale(self) -> bool:
        """Whether the last error was transient. A failover or a moved slot makes the cached
        cluster topology stale: reload it even when not trying again, or every later call would go
        to the same dead node."""
        return isinstance(self.last, retriable_errors())

    def delay(self) -> float | None:
        """Seconds to wait before the next attempt, or None to give up (see :func:`retry_delay`)."""
        delay = retry_delay(self.last, self.attempt, self.call, self.retries)
        self.attempt += 1
        return delay

    def failed(self, exc: BaseException) -> None:
        """Record that the next attempt failed too, with ``exc``."""
        self.last = exc
        self.applied = self.applied or may_be_applied(self.call, exc)

    def error(self, what: str) -> NStoreError:
        """The nstore error for the call doing ``what``, which failed for good."""
        return failure(self.last, what, self.applied)


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
    """Try ``fn`` again after ``first`` failed, as far as :class:`Attempts` allows; else raise.

    A write that fails in a way that may have reached the server says that it may or may not have
    been applied. (The sync loop; AsyncRedisStore runs the same one with ``await``.)
    """
    errors = redis_errors()
    attempts = Attempts(call, retries, first)
    while attempts.stale():
        with contextlib.suppress(*errors):
            refresh()
        delay = attempts.delay()
        if delay is None:
            break
        time.sleep(delay)
        try:
            return fn(*args, **kw)
        except errors as exc:
            attempts.failed(exc)
    raise attempts.error(what) from attempts.last


def retry_delay(exc: BaseException, attempt: int, call: Call, retries: int) -> float | None:
    """Seconds to wait before trying again after ``exc`` (attempt ``attempt``), or None to give up.

    Reads and idempotent writes are tried again after any transient error; writes tried once only
    after an error reply that means the command did not run (``refused_errors``). The backoff is
    0.05 s, 0.1 s, 0.2 s, then 0.25 s per attempt.
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
    # Redis names its errors by their text; these two are a URL naming the wrong thing.
    if isinstance(exc, e.ResponseError) and str(exc).startswith("DB index is out of range"):
        return ConfigurationError(
            f"This Redis server has no database of that number ({exc}): its 'databases' setting "
            "bounds them (16 by default). Name one below it in the URL (redis://host:port/0)."
        )
    if isinstance(exc, e.RedisClusterException) and "Cluster mode is not enabled" in str(exc):
        return ConfigurationError(
            f"This Redis server is not a cluster ({action}: {exc}). Open it with redis://host:port/0."
        )
    if isinstance(exc, e.MovedError):  # only a client of one server sees MOVED: a cluster's clients follow it
        return ConfigurationError(
            f"This Redis server is a node of a cluster: it holds only some of the keys ({action}: {exc}). "
            "Open the cluster with redis+cluster://host:port (any of its nodes)."
        )
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
