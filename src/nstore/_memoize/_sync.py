"""``Memoized``: a sync function memoized in a :class:`~nstore.Store`: its hit path, and how it
does the operations of the steps it shares with :class:`~nstore.AsyncMemoized`."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, Generic

from nstore._memoize import _leases as ops
from nstore._memoize._core import CLEAR_BATCH, Decorator, Done, K, MemoBase, P, R, step
from nstore._memoize._settings import Settings
from nstore.store import Store

__all__ = ["Memoized", "Memoizer"]


class Memoized(MemoBase[P, K, R, R]):
    """A function whose results are kept in a store: made by :func:`~nstore.memoize`.

    Calling it returns the stored value of its arguments' key, or computes it once, however
    many threads (and, with leases, processes) ask at the same time.

    Examples
    --------
    >>> from nstore import MemoryStore, memoize
    >>> store = MemoryStore[str, str]()
    >>> @memoize(store, name="greet")
    ... def greet(name: str) -> str:
    ...     return f"hello {name}"
    >>> greet("ada"), greet.cache_key("ada") in store, greet.cache_info().computations
    ('hello ada', True, 1)
    >>> greet.cache_clear(); len(store)
    0
    """

    def __init__(self, store: Store[K, R], fn: Callable[P, R], settings: Settings) -> None:
        super().__init__(fn, settings, asynchronous=False)
        self._store = store
        reader = store.reader()
        self._read = reader.__getitem__
        #: A reader's KeyError is not final (Store.reader): an entry that expires, say, is only
        #: in the store; the store's own KeyError is.
        self._final = reader is store
        self._targets: dict[str, Any] = {"values": store, "leases": settings.leases, "function": fn}

    def __call__(self, /, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._key(args, kwargs)
        try:
            value = self._read(key)
        except KeyError:
            if self._final:
                return self._run(self._miss(key, args, kwargs))  # type: ignore[no-any-return]  # an R
            return self._ask_store(key, args, kwargs)
        self._counters.hits += 1
        return value

    def _ask_store(self, key: K, args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        try:
            value = self._store[key]
        except KeyError:
            return self._run(self._miss(key, args, kwargs))  # type: ignore[no-any-return]  # an R
        self._counters.hits += 1
        return value

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Delete the stored value (and cached error) of a call with these arguments, if any."""
        self._store.delete_many([self._forget(self._key(args, kwargs))])

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

    def _run(self, steps: ops.Steps) -> Any:
        answer, error = None, None
        while not isinstance(op := step(steps, answer, error), Done):
            try:
                answer, error = self._do(op), None
            except BaseException as exc:  # thrown into the steps, which decide
                answer, error = None, exc
        return op.value

    def _do(self, op: ops.Op) -> Any:
        if isinstance(op, ops.Call):
            return getattr(self._targets[op.target], op.method)(*op.args, **op.kwargs)
        if isinstance(op, ops.Read):
            return self._targets[op.target].get(op.key, ops.MISSING)
        if isinstance(op, ops.Wait):
            return op.flight.result()
        time.sleep(op.seconds)
        return time.time()


class Memoizer(Decorator[Store[K, R]], Generic[K, R]):
    """The decorator :func:`~nstore.memoize` returns for a :class:`~nstore.Store`."""

    __slots__ = ()

    def __call__(self, fn: Callable[P, R], /) -> Memoized[P, K, R]:
        return Memoized(self._store, fn, self._settings)
