"""What :func:`~nstore.memoize` checks when it decorates, for sync and async functions alike."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import blake2b
from types import CodeType, TracebackType
from typing import Any

from nstore._expiry import check_ttl, unsupported_ttl
from nstore.errors import ConfigurationError, UnsupportedOperation

__all__ = ["ERRORS_KEPT", "Settings", "check_function", "settings"]

#: At most this many cached exceptions are kept per function (least recently used first out).
ERRORS_KEPT = 10_000

ErrorTypes = tuple[type[Exception], ...]
Kept = tuple[Exception, TracebackType | None]


@dataclass(frozen=True, slots=True)
class Settings:
    """The checked options of one :func:`~nstore.memoize` call."""

    ttl: float | None
    key: Callable[..., Any] | None
    name: str | None
    leases: Any  # a Store[str, bytes] (sync) or an AsyncStore[str, bytes] (async), or None
    lease_timeout: float
    lease_poll: float
    cache_errors: ErrorTypes
    error_ttl: float | None


def settings(
    store: object,
    *,
    asynchronous: bool,
    key: object = None,
    leases: object = None,
    ttl: object = None,
    name: object = None,
    lease_timeout: object = 60.0,
    lease_poll: object = 0.05,
    cache_errors: object = False,
    error_ttl: object = None,
    **unknown: object,
) -> Settings:
    """Check every option against ``store`` (a ``Store``, or an ``AsyncStore`` if ``asynchronous``)."""
    if unknown:
        raise ConfigurationError(
            f"memoize has no option {', '.join(map(repr, sorted(unknown)))}. Its options: key, leases, "
            "ttl, name, lease_timeout, lease_poll, cache_errors, error_ttl."
        )
    _check_store(store, asynchronous, "store")
    if ttl is not None:
        ttl = check_ttl(ttl)
        if not store.supports_ttl:  # type: ignore[attr-defined]  # a Store or AsyncStore, checked above
            raise unsupported_ttl(store)
    if key is not None and not callable(key):
        raise ConfigurationError(f"Expected a callable for key= (or None). Got {key!r}.")
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigurationError(f"Expected a non-empty str for name=. Got {name!r}.")
    if leases is not None:
        _check_store(leases, asynchronous, "leases")
        if not leases.supports_atomic_writes:  # type: ignore[attr-defined]  # checked above
            raise UnsupportedOperation(
                f"{type(leases).__name__} has no atomic writes (supports_atomic_writes is False), so "
                "it cannot hold leases: pass leases= a store that has them (SQLiteStore, RedisStore, "
                "FileStore, MemoryStore), or leave it out and accept one computation per process."
            )
    return Settings(
        ttl=ttl,
        key=key,
        name=name,
        leases=leases,
        lease_timeout=_seconds(lease_timeout, "lease_timeout"),
        lease_poll=_seconds(lease_poll, "lease_poll"),
        cache_errors=_error_types(cache_errors),
        error_ttl=None if error_ttl is None else check_ttl(error_ttl),
    )


def check_function(fn: object, asynchronous: bool) -> None:
    """Refuse a function that the memoizer cannot call: not callable, or sync/async mismatched."""
    if not callable(fn):
        raise ConfigurationError(f"Expected a function to memoize. Got {fn!r}.")
    if inspect.iscoroutinefunction(fn) and not asynchronous:
        raise ConfigurationError(
            f"{_name(fn)} is an async function: memoize it over an AsyncStore (a sync store "
            "through nstore.AsyncAdapter(store), which never blocks the event loop)."
        )
    if asynchronous and not inspect.iscoroutinefunction(fn):
        raise ConfigurationError(
            f"{_name(fn)} is not an async function, and an AsyncStore memoizes async functions: "
            "memoize it over a sync Store."
        )


def function_name(fn: Callable[..., Any], given: str | None) -> str:
    """The name that starts the function's default keys: ``name=``, else ``module.qualname``.

    A lambda's qualname and that of a function defined inside another (``<lambda>``,
    ``outer.<locals>.f``) is not unique in its module, so there it is followed by a digest of
    the function's code (``mod.<lambda>@1f2e...``): two different lambdas over one store do not
    share keys, and the same one gets the same keys in every process of one Python version.
    Functions made by one factory share their code, so give each its own ``name=``.
    """
    if given is not None:
        return given
    name = _name(fn)
    code = getattr(fn, "__code__", None)
    if isinstance(code, CodeType) and ("<lambda>" in name or "<locals>" in name):
        return f"{name}@{blake2b(_code_text(code).encode(), digest_size=6).hexdigest()}"
    return name


def _code_text(code: CodeType) -> str:
    """What tells one function's code from another's, the same in every process."""
    consts = [_const_text(c) for c in code.co_consts]
    return repr((code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars))


def _const_text(const: object) -> str:
    if isinstance(const, CodeType):
        return _code_text(const)
    if isinstance(const, frozenset):  # its order follows the process's hash seed
        return repr(sorted(map(repr, const)))
    return repr(const)


def _name(fn: object) -> str:
    module = getattr(fn, "__module__", None) or "?"
    return f"{module}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


def _check_store(store: object, asynchronous: bool, what: str) -> None:
    from nstore.astore import AsyncStore
    from nstore.store import Store

    expected = AsyncStore if asynchronous else Store
    if isinstance(store, expected):
        return
    if asynchronous and isinstance(store, Store):
        hint = "an async function needs an AsyncStore: wrap a sync store in nstore.AsyncAdapter(store)"
    elif isinstance(store, AsyncStore):
        hint = "a sync function needs a sync Store; an AsyncStore memoizes async functions"
    else:
        hint = "pass an nstore store"
    raise ConfigurationError(
        f"Expected {'an AsyncStore' if asynchronous else 'a Store'} for {what}. "
        f"Got {type(store).__name__}: {hint}."
    )


def _seconds(value: object, what: str) -> float:
    try:
        return check_ttl(value)  # the same rule as a ttl's
    except ConfigurationError:
        raise ConfigurationError(
            f"Expected a positive, finite number of seconds for {what}. Got {value!r}."
        ) from None


def _error_types(cache_errors: object) -> ErrorTypes:
    if cache_errors is False:
        return ()
    if cache_errors is True:
        return (Exception,)
    if (
        isinstance(cache_errors, tuple)
        and cache_errors
        and all(isinstance(t, type) and issubclass(t, Exception) for t in cache_errors)
    ):
        return cache_errors
    raise ConfigurationError(
        "Expected True, False or a non-empty tuple of Exception subclasses for cache_errors. "
        f"Got {cache_errors!r}."
    )
