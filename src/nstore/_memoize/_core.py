"""What a memoized function is, sync or async: its key, counts, flights and cached errors."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Generator
from typing import Any, Generic, ParamSpec, TypeVar, cast

from nstore._memoize._flights import Counters, Flights, MemoizeStats
from nstore._memoize._keys import KeyOf, custom_key, default_key, is_default_key
from nstore._memoize._leases import Compute, Found, Op, lead
from nstore._memoize._settings import ERRORS_KEPT, Kept, Settings, check_function, function_name
from nstore.errors import UnsupportedOperation

__all__ = ["CLEAR_BATCH", "MemoBase"]

P = ParamSpec("P")
K = TypeVar("K")
R = TypeVar("R")

#: Keys deleted per call by ``cache_clear``, so a large cache is cleared in bounded memory.
CLEAR_BATCH = 1000


class MemoBase(Generic[P, K, R]):
    """The state and decisions that :class:`~nstore.Memoized` and :class:`~nstore.AsyncMemoized`
    share; they add the calls to their stores."""

    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __init__(self, fn: Callable[..., Any], settings: Settings, *, asynchronous: bool) -> None:
        check_function(fn, asynchronous)
        for attribute in functools.WRAPPER_ASSIGNMENTS:  # what functools.wraps copies
            if hasattr(fn, attribute):
                setattr(self, attribute, getattr(fn, attribute))
        self.__wrapped__ = fn
        self._fn = fn
        self._settings = settings
        name = function_name(fn, settings.name)
        #: The name that starts every key, None with a key= builder (its keys cannot be listed).
        self._name: str | None = name if settings.key is None else None
        given = settings.key
        self._key: KeyOf[K] = cast("KeyOf[K]", default_key(name) if given is None else custom_key(given))
        self._ttl = settings.ttl
        self._counters = Counters()
        self._flights: Flights[K] = Flights()
        self._errors: Any = None
        if settings.cache_errors:
            from nstore.stores.memory import MemoryStore

            self._errors = MemoryStore[K, Kept](maxsize=ERRORS_KEPT, ttl=settings.error_ttl or settings.ttl)

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> K:
        """The store key of a call with these arguments (without calling anything)."""
        return self._key(args, kwargs)

    def cache_info(self) -> MemoizeStats:
        """The counts of calls in this process since the function was memoized or cleared."""
        return self._counters.snapshot()

    # -- shared by the sync and async calls ----------------------------------------------------

    def _raise_kept(self, key: K) -> None:
        """Raise the cached exception of ``key``, if any (``cache_errors``)."""
        kept: Kept | None = self._errors.get(key)
        if kept is not None:
            error, traceback = kept
            raise error.with_traceback(traceback)

    def _keep(self, key: K, error: Exception) -> None:
        if self._errors is not None and isinstance(error, self._settings.cache_errors):
            self._errors[key] = (error, error.__traceback__)

    def _forget(self, key: K) -> None:
        if self._errors is not None:
            self._errors.pop(key, None)

    def _steps(self, key: K) -> Generator[Op, Any, Found[R] | Compute]:
        settings = self._settings
        return lead(
            key,
            leases=settings.leases is not None,
            timeout=settings.lease_timeout,
            poll=settings.lease_poll,
            now=time.time(),
        )

    def _counted(self, outcome: Found[R] | Compute) -> Compute | None:
        """Count the outcome of the leader's steps; the :class:`Compute` order, if it is one."""
        if isinstance(outcome, Found):
            self._counters.count(waits=1)
            return None
        self._counters.count(computations=1, takeovers=int(outcome.took_over))
        return outcome

    def _failed(self, key: K, error: BaseException) -> None:
        if isinstance(error, Exception):
            self._counters.count(errors=1)
            self._keep(key, error)

    def _clear_prefix(self) -> tuple[str, Callable[[object], bool]]:
        """The prefix to list for ``cache_clear``, and the test of a key listed under it."""
        name = self._name
        if name is None:
            raise UnsupportedOperation(
                f"{function_name(self._fn, None)} builds its keys with key=, which cache_clear "
                "cannot list: delete them from the store, or call invalidate(*args) per call."
            )
        return name + "/", functools.partial(is_default_key, name)

    def _cleared(self) -> None:
        self._counters.reset()
        if self._errors is not None:
            self._errors.clear()
