"""The store calls a namespace operation asks for, and the sync shell that makes them.

A namespace operation (opening, migrating, ...) is written once, in :mod:`nstore._operations` and
:mod:`nstore._migrate`, as a generator that does no I/O: it yields the store call it needs next
(:class:`Read`, :class:`Swap`, ...) and is sent that call's result. :func:`run` makes the calls
on a :class:`~nstore.Store`, and :func:`nstore._asteps.arun` awaits them on an
:class:`~nstore.AsyncStore`; these two shells are all that differs between
:class:`~nstore.Namespaces` and :class:`~nstore.AsyncNamespaces` (the sans-I/O shape, as h11 is
written). The async shell lives in its own module, so the sync API never imports asyncio.

An operation asks through the typed helpers below (``raw = yield from read(key)``), so each
call's result has its type where it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar, cast

if TYPE_CHECKING:
    from nstore.store import Store

__all__ = [
    "Done",
    "Effect",
    "Steps",
    "advance",
    "compute",
    "delete_many",
    "list_keys",
    "put",
    "put_many",
    "put_new",
    "read",
    "read_many",
    "read_ttls",
    "run",
    "swap",
]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Read:
    """The value at ``key``, None if absent."""

    key: str


@dataclass(frozen=True, slots=True)
class ReadMany:
    """The values of those ``keys`` that are present."""

    keys: list[str]


@dataclass(frozen=True, slots=True)
class ReadTtls:
    """The seconds left to each of ``keys`` (None: it never expires), leaving out the absent.

    A store without expiry (``supports_ttl`` false) is not asked: its keys never expire.
    """

    keys: list[str]


@dataclass(frozen=True, slots=True)
class ListKeys:
    """The keys under ``prefix``, at most ``limit`` of them (None: all)."""

    prefix: str
    limit: int | None


@dataclass(frozen=True, slots=True)
class Put:
    """Store ``data`` at ``key``, to expire in ``ttl`` seconds (None: never)."""

    key: str
    data: bytes
    ttl: float | None = None


@dataclass(frozen=True, slots=True)
class PutNew:
    """Store ``data`` at ``key`` if it is absent (atomic): whether it was stored."""

    key: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Swap:
    """Replace ``expected`` at ``key`` with ``data`` (atomic): whether it was replaced."""

    key: str
    expected: bytes
    data: bytes


@dataclass(frozen=True, slots=True)
class PutMany:
    """Store every pair."""

    pairs: list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class DeleteMany:
    """Remove every key present."""

    keys: list[str]


@dataclass(frozen=True, slots=True)
class Compute:
    """``work()``, over ``size`` bytes: the async shell runs it in a thread when that is large."""

    work: Callable[[], object]
    size: int


Effect: TypeAlias = (
    Read | ReadMany | ReadTtls | ListKeys | Put | PutNew | Swap | PutMany | DeleteMany | Compute
)
Steps: TypeAlias = Generator[Effect, object, R]
"""An operation: yields effects, is sent their results, returns an ``R``."""


# -- what an operation asks, typed -----------------------------------------------------------------


def read(key: str) -> Steps[bytes | None]:
    return cast("bytes | None", (yield Read(key)))


def read_many(keys: list[str]) -> Steps[dict[str, bytes]]:
    return cast("dict[str, bytes]", (yield ReadMany(keys)))


def read_ttls(keys: list[str]) -> Steps[dict[str, float | None]]:
    return cast("dict[str, float | None]", (yield ReadTtls(keys)))


def list_keys(prefix: str, limit: int | None = None) -> Steps[list[str]]:
    return cast("list[str]", (yield ListKeys(prefix, limit)))


def put(key: str, data: bytes, ttl: float | None = None) -> Steps[None]:
    yield Put(key, data, ttl)


def put_new(key: str, data: bytes) -> Steps[bool]:
    return cast("bool", (yield PutNew(key, data)))


def swap(key: str, expected: bytes, data: bytes) -> Steps[bool]:
    return cast("bool", (yield Swap(key, expected, data)))


def put_many(pairs: list[tuple[str, bytes]]) -> Steps[None]:
    yield PutMany(pairs)


def delete_many(keys: list[str]) -> Steps[None]:
    yield DeleteMany(keys)


def compute(work: Callable[[], R], size: int) -> Steps[R]:
    return cast("R", (yield Compute(work, size)))


# -- running an operation, and the sync shell --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Done(Generic[R]):
    value: R


def advance(steps: Steps[R], reply: object) -> Effect | Done[R]:
    """The operation's next effect after sending it ``reply``, or its result."""
    try:
        return steps.send(reply)
    except StopIteration as stop:
        return Done(stop.value)


def run(store: Store[str, bytes], steps: Steps[R]) -> R:
    """Run the operation ``steps`` on ``store``, each call in turn; its result."""
    step = advance(steps, None)
    while not isinstance(step, Done):
        step = advance(steps, _call(store, step))
    return step.value


def _call(store: Store[str, bytes], effect: Effect) -> object:
    match effect:
        case Read(key):
            return store.get(key)
        case ReadMany(keys):
            return store.get_many(keys)
        case ReadTtls(keys):
            return _ttls(store, keys)
        case ListKeys(prefix, limit):
            return list(islice(store.iter_keys(prefix), limit))
        case Put(key, data, ttl):
            store.set(key, data, ttl=ttl)
        case PutNew(key, data):
            return store.set_if_absent(key, data)
        case Swap(key, expected, data):
            return store.compare_and_set(key, expected, data)
        case PutMany(pairs):
            store.set_many(pairs)
        case DeleteMany(keys):
            store.delete_many(keys)
        case Compute(work):
            return work()
    return None


def _ttls(store: Store[str, bytes], keys: list[str]) -> dict[str, float | None]:
    if not store.supports_ttl:
        return dict.fromkeys(keys)
    ttls: dict[str, float | None] = {}
    for key in keys:
        try:
            ttls[key] = store.ttl(key)
        except KeyError:  # expired since it was read
            continue
    return ttls
