"""``memoize``: a typed decorator that keeps a function's results in any nstore store.

The package keeps the decisions that the sync and async decorators share in modules without
I/O: the default key (``_keys``), the options (``_settings``), one computation per key in a
process (``_flights``) and the steps of the caller that computes, leases included (``_leases``);
``_sync`` and ``_async`` only do their I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict, TypeVar, Unpack, overload

from nstore._memoize._async import AsyncMemoized, AsyncMemoizer
from nstore._memoize._flights import MemoizeStats
from nstore._memoize._settings import settings
from nstore._memoize._sync import Memoized, Memoizer
from nstore.astore import AsyncStore
from nstore.store import Store

__all__ = ["AsyncMemoized", "AsyncMemoizer", "MemoizeStats", "Memoized", "Memoizer", "Options", "memoize"]

K = TypeVar("K")
R = TypeVar("R")


class Options(TypedDict, total=False):
    """The options of :func:`memoize` besides ``key`` and ``leases`` (see its parameters)."""

    ttl: float | None
    name: str | None
    lease_timeout: float
    lease_poll: float
    cache_errors: bool | tuple[type[Exception], ...]
    error_ttl: float | None


@overload
def memoize(
    store: Store[str, R],
    /,
    *,
    key: None = None,
    leases: Store[str, bytes] | None = None,
    **options: Unpack[Options],
) -> Memoizer[str, R]: ...
@overload
def memoize(
    store: Store[K, R],
    /,
    *,
    key: Callable[..., K],
    leases: Store[str, bytes] | None = None,
    **options: Unpack[Options],
) -> Memoizer[K, R]: ...
@overload
def memoize(
    store: AsyncStore[str, R],
    /,
    *,
    key: None = None,
    leases: AsyncStore[str, bytes] | None = None,
    **options: Unpack[Options],
) -> AsyncMemoizer[str, R]: ...
@overload
def memoize(
    store: AsyncStore[K, R],
    /,
    *,
    key: Callable[..., K],
    leases: AsyncStore[str, bytes] | None = None,
    **options: Unpack[Options],
) -> AsyncMemoizer[K, R]: ...
def memoize(
    store: Store[Any, Any] | AsyncStore[Any, Any],
    /,
    *,
    key: Callable[..., Any] | None = None,
    leases: Store[str, bytes] | AsyncStore[str, bytes] | None = None,
    **options: Unpack[Options],
) -> Memoizer[Any, Any] | AsyncMemoizer[Any, Any]:
    """Keep the results of the decorated function in ``store``, one computation per key.

    A sync function is memoized over a :class:`~nstore.Store`, an async one over an
    :class:`~nstore.AsyncStore` (a sync store through :class:`~nstore.AsyncAdapter`, so the event
    loop never blocks). mypy and pyright check that the store's value type is the function's
    return type. Options are checked here, when decorating.

    ``memoize(store, /, *, key=None, leases=None, ttl=None, name=None, lease_timeout=60.0,
    lease_poll=0.05, cache_errors=False, error_ttl=None)``

    Parameters
    ----------
    store
        Where results live. Without ``key=`` its keys are ``str``: ``name + "/" + digest``.
    ttl
        Seconds each result lives, through ``store.set(key, value, ttl=)``; None: the store's
        default. A store whose ``supports_ttl`` is False raises
        :class:`~nstore.errors.UnsupportedOperation` for a ttl.
    key
        Builds the store key from the call's arguments (``key(*args, **kwargs)``). The default
        hashes the arguments encoded by value, the same in every process and run, and raises
        :class:`~nstore.errors.KeyEncodingError` for an argument it cannot encode.
    name
        What starts the default keys (default: the function's ``module.qualname``).
    leases, lease_timeout, lease_poll
        A ``Store[str, bytes]`` with atomic writes (an ``AsyncStore`` for async functions) in
        which the caller computing a key holds a lease, so that one process computes it while
        the others poll every ``lease_poll`` seconds for the value; a lease whose holder died is
        taken over ``lease_timeout`` seconds after it was taken. None: one computation per key
        per process.
    cache_errors, error_ttl
        ``True`` (any ``Exception``) or a tuple of exception types whose raising is remembered in
        this process, for ``error_ttl`` seconds (default: ``ttl``; None: until ``cache_clear``),
        and raised again to later calls with the same key. Off by default.

    Examples
    --------
    >>> from nstore import MemoryStore, memoize
    >>> @memoize(MemoryStore[str, int]())
    ... def square(x: int) -> int:
    ...     return x * x
    >>> square(12), square(12), square.cache_info().hits
    (144, 144, 1)
    """
    checked = settings(store, asynchronous=isinstance(store, AsyncStore), key=key, leases=leases, **options)
    if isinstance(store, AsyncStore):
        return AsyncMemoizer(store, checked)
    return Memoizer(store, checked)
