"""``Memoized``: a sync function memoized in a :class:`~nstore.Store`; its I/O over the shared steps."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Generator
from typing import Any, Generic, ParamSpec, TypeVar, cast

from nstore._memoize._core import CLEAR_BATCH, MemoBase
from nstore._memoize._flights import Abandoned
from nstore._memoize._leases import (
    MISSING,
    DeleteLease,
    Op,
    ReadLease,
    ReadValue,
    SwapLease,
    TryLease,
    lease_key,
    release,
)
from nstore._memoize._settings import Settings
from nstore.store import Store

__all__ = ["Memoized", "Memoizer"]

P = ParamSpec("P")
K = TypeVar("K")
R = TypeVar("R")
T = TypeVar("T")


class Memoized(MemoBase[P, K, R]):
    """A function whose results are kept in a store: made by :func:`~nstore.memoize`.

    Calling it returns the stored value of its arguments' key, or computes it once, however
    many threads (and, with leases, processes) ask at the same time.
    """

    def __init__(self, store: Store[K, R], fn: Callable[P, R], settings: Settings) -> None:
        super().__init__(fn, settings, asynchronous=False)
        self._store = store
        self._read = store.reader().__getitem__
        self._leases: Store[str, bytes] | None = settings.leases

    def __call__(self, /, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._key(args, kwargs)
        try:
            value = self._read(key)
        except KeyError:
            return self._miss(key, args, kwargs)
        self._counters.hits += 1
        return value

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Delete the stored value (and cached error) of a call with these arguments, if any."""
        key = self._key(args, kwargs)
        self._forget(key)
        self._store.delete_many([key])

    def cache_clear(self) -> None:
        """Delete every stored value of this function (all processes'), and reset the counts.

        It lists the store under the function's name: a function memoized with ``key=`` raises
        :class:`~nstore.errors.UnsupportedOperation` (its keys cannot be listed).
        """
        prefix, ours = self._clear_prefix()
        keys = (k for k in self._store.iter_keys(prefix) if ours(k))  # type: ignore[arg-type]  # K is str here
        while batch := list(itertools.islice(keys, CLEAR_BATCH)):
            self._store.delete_many(batch)
        self._cleared()

    # -- the miss path ---------------------------------------------------------------------------

    def _miss(self, key: K, args: Any, kwargs: Any) -> R:
        self._counters.count(misses=1)
        if self._errors is not None:
            self._raise_kept(key)
        while True:
            flight, leading = self._flights.join(key)
            if leading:
                break
            self._counters.count(waits=1)
            try:
                value: R = flight.result()
            except Abandoned:
                continue
            return value
        try:
            value = self._lead(key, args, kwargs)
        except BaseException as error:
            self._flights.land(key, flight, error=error)
            raise
        self._flights.land(key, flight, value)
        return value

    def _lead(self, key: K, args: Any, kwargs: Any) -> R:
        outcome = self._run(self._steps(key))
        order = self._counted(outcome)
        if order is None:
            found: R = outcome.value  # type: ignore[union-attr]  # a Found, as _counted said
            return found
        try:
            try:
                value: R = self._fn(*args, **kwargs)
            except BaseException as error:
                self._failed(key, error)
                raise
            self._store.set(key, value, ttl=self._ttl)
            return value
        finally:
            if order.lease is not None:
                self._run(release(lease_key(key), order.lease))

    def _run(self, steps: Generator[Op, Any, T]) -> T:
        answer: Any = None
        while True:
            try:
                op = steps.send(answer)
            except StopIteration as done:
                result: T = done.value
                return result
            answer = self._do(op)

    def _do(self, op: Op) -> Any:
        if isinstance(op, ReadValue):
            try:
                return self._store[op.key]
            except KeyError:
                return MISSING
        leases = cast("Store[str, bytes]", self._leases)  # only steps with leases= ask for these
        if isinstance(op, TryLease):
            return leases.set_if_absent(op.key, op.record)
        if isinstance(op, ReadLease):
            return leases.get(op.key)
        if isinstance(op, SwapLease):
            return leases.compare_and_set(op.key, op.old, op.new)
        if isinstance(op, DeleteLease):
            return leases.delete_many([op.key])
        time.sleep(op.seconds)
        return time.time()


class Memoizer(Generic[K, R]):
    """The decorator :func:`~nstore.memoize` returns for a :class:`~nstore.Store`."""

    __slots__ = ("_settings", "_store")

    def __init__(self, store: Store[K, R], settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def __call__(self, fn: Callable[P, R], /) -> Memoized[P, K, R]:
        return Memoized(self._store, fn, self._settings)
