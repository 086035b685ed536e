"""What a memoized function is, sync or async: its key, counts, flights, cached errors, and the
steps of a miss (the sync and async shells only do their operations)."""

from __future__ import annotations

import functools
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, cast, overload

from nstore._memoize._flights import Abandoned, Counters, Flights, MemoizeStats
from nstore._memoize._keys import KeyOf, custom_key, default_key, is_default_key
from nstore._memoize._leases import MISSING, Call, Op, Steps, Wait, lead, lease_key, release
from nstore._memoize._settings import ERRORS_KEPT, Kept, Settings, check_function, function_name
from nstore.errors import UnsupportedOperation

__all__ = ["CLEAR_BATCH", "Decorator", "Done", "K", "MemoBase", "P", "R", "step"]

P = ParamSpec("P")
K = TypeVar("K")
R = TypeVar("R")
S = TypeVar("S")
#: What a call returns: ``R`` (sync), or a coroutine of ``R`` (async).
C = TypeVar("C")
#: The instance a memoized method is bound to, and the method's other parameters.
T = TypeVar("T")
P2 = ParamSpec("P2")

#: Keys deleted per call by ``cache_clear``, so a large cache is cleared in bounded memory.
CLEAR_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Done:
    """The steps ended with ``value``."""

    value: Any


def step(steps: Steps, answer: Any, error: BaseException | None) -> Op | Done:
    """Send the last operation's answer (or throw its error) into ``steps``: the next operation,
    or :class:`Done`. An error the steps do not handle is raised from here."""
    try:
        return steps.send(answer) if error is None else steps.throw(error)
    except StopIteration as done:
        return Done(done.value)


class Decorator(Generic[S]):
    """What :func:`~nstore.memoize` returns: the store and the checked options, to decorate with."""

    __slots__ = ("_settings", "_store")

    def __init__(self, store: S, settings: Settings) -> None:
        self._store = store
        self._settings = settings


class MemoBase(Generic[P, K, R, C]):
    """The state and decisions that :class:`~nstore.Memoized` and :class:`~nstore.AsyncMemoized`
    share; they add their hit path (a call returns a ``C``) and how they do an operation."""

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
        self._counters = Counters()
        self._flights: Flights[K] = Flights()
        self._errors: Any = None
        if settings.cache_errors:
            from nstore.stores.memory import MemoryStore

            self._errors = MemoryStore[K, Kept](maxsize=ERRORS_KEPT, ttl=settings.error_ttl or settings.ttl)

    def __call__(self, /, *args: P.args, **kwargs: P.kwargs) -> C:
        raise NotImplementedError  # each shell's hit path

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Self: ...
    @overload
    def __get__(
        self: MemoBase[Concatenate[T, P2], K, R, C], instance: T, owner: type[Any] | None = None
    ) -> Callable[P2, C]: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        # a memoized method: bound to its instance, as a function is
        return self if instance is None else types.MethodType(self, instance)

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> K:
        """The store key of a call with these arguments (without calling anything)."""
        return self._key(args, kwargs)

    def cache_info(self) -> MemoizeStats:
        """The counts of calls in this process since the function was memoized or cleared."""
        return self._counters.snapshot()

    # -- the steps of a miss, for both shells --------------------------------------------------

    def _miss(self, key: K, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Steps:
        """A call that did not find ``key``: wait for the computation in flight, or lead one."""
        self._counters.count(misses=1)
        if self._errors is not None:
            self._raise_kept(key)
        while True:
            flight, leading = self._flights.join(key)
            if leading:
                break
            self._counters.count(waits=1)
            try:
                return (yield Wait(flight))
            except Abandoned:
                continue
        try:
            value = yield from self._lead(key, args, kwargs)
        except BaseException as error:
            self._flights.land(key, flight, error=error)
            raise
        self._flights.land(key, flight, value)
        return value

    def _lead(self, key: K, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Steps:
        settings = self._settings
        order = yield from lead(
            key,
            leases=settings.leases is not None,
            timeout=settings.lease_timeout,
            poll=settings.lease_poll,
            now=time.time(),
        )
        if order.found is not MISSING:
            self._counters.count(waits=1)
            return order.found
        self._counters.count(computations=1, takeovers=int(order.took_over))
        try:
            try:
                value = yield Call("function", "__call__", args, kwargs)
            except BaseException as error:
                if isinstance(error, Exception):
                    self._counters.count(errors=1)
                    self._keep(key, error)
                raise
            yield Call("values", "set", (key, value), {"ttl": settings.ttl})
            return value
        finally:
            if order.lease is not None:
                yield from release(lease_key(key), order.lease)

    # -- cached errors and clearing ------------------------------------------------------------

    def _raise_kept(self, key: K) -> None:
        """Raise the cached exception of ``key``, if any (``cache_errors``)."""
        kept: Kept | None = self._errors.get(key)
        if kept is not None:
            error, traceback = kept
            raise error.with_traceback(traceback)

    def _keep(self, key: K, error: Exception) -> None:
        if self._errors is not None and isinstance(error, self._settings.cache_errors):
            self._errors[key] = (error, error.__traceback__)

    def _forget(self, key: K) -> K:
        if self._errors is not None:
            self._errors.pop(key, None)
        return key

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
