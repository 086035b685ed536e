"""What the one caller that computes a key in a process does, as steps without I/O (sans-I/O).

:func:`lead` is a generator: it yields the operations it needs (:class:`ReadValue`,
:class:`TryLease`, ...) and is sent each one's result, so :class:`~nstore.Memoized` (sync) and
:class:`~nstore.AsyncMemoized` (async) run the same decisions and differ only in how they do the
I/O. It ends with a :class:`Found` value (computed by someone else) or a :class:`Compute` order.

Across processes, computing a key is guarded by a *lease*: a record in the lease store, written
with ``set_if_absent``, that names its holder and its deadline (wall-clock seconds). Whoever
finds a lease waits, polling for the value, until the value appears, the lease is released
(then it tries to take it) or its deadline passes: then it takes the lease over with a
``compare_and_set`` from the record it read, so that of several waiters exactly one succeeds.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "MISSING",
    "Compute",
    "DeleteLease",
    "Found",
    "Op",
    "ReadLease",
    "ReadValue",
    "Sleep",
    "SwapLease",
    "TryLease",
    "lead",
    "lease_key",
    "release",
]

K = TypeVar("K")
R = TypeVar("R")

#: What a :class:`ReadValue` is answered with when the store has no value at the key.
MISSING: Any = object()
_HOLDER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class ReadValue(Generic[K]):
    """Read the value at ``key`` in the value store; answer it, or :data:`MISSING`."""

    key: K


@dataclass(frozen=True, slots=True)
class TryLease:
    """``set_if_absent(key, record)`` in the lease store; answer whether it was stored."""

    key: str
    record: bytes


@dataclass(frozen=True, slots=True)
class ReadLease:
    """Read the lease at ``key``; answer its record, or None if there is none."""

    key: str


@dataclass(frozen=True, slots=True)
class SwapLease:
    """``compare_and_set(key, old, new)`` in the lease store; answer whether it swapped."""

    key: str
    old: bytes
    new: bytes


@dataclass(frozen=True, slots=True)
class DeleteLease:
    """Delete the lease at ``key`` (nothing if it is gone); answer nothing."""

    key: str


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds``, then answer the wall-clock time (``time.time()``)."""

    seconds: float


Op = ReadValue[Any] | TryLease | ReadLease | SwapLease | DeleteLease | Sleep


@dataclass(frozen=True, slots=True)
class Found(Generic[R]):
    """The value was there (written by another thread, task or process): return it."""

    value: R


@dataclass(frozen=True, slots=True)
class Compute:
    """Compute the value now, store it, then :func:`release` ``lease`` (if not None)."""

    lease: bytes | None
    took_over: bool = False


def lease_key(key: object) -> str:
    """The key of ``key``'s lease in the lease store: ``"lease/"`` and the key."""
    return f"lease/{key}"


def record(deadline: float) -> bytes:
    """A new lease record, unique to this attempt: its holder and its deadline."""
    holder = f"{_HOLDER}:{secrets.token_hex(8)}"
    return json.dumps({"holder": holder, "deadline": deadline}).encode()


def deadline_of(raw: bytes) -> float:
    """A lease record's deadline; a record that does not parse counts as expired (0.0)."""
    try:
        found = json.loads(raw)
    except ValueError:
        return 0.0
    deadline = found.get("deadline") if isinstance(found, dict) else None
    return float(deadline) if isinstance(deadline, int | float) else 0.0


def lead(
    key: object, *, leases: bool, timeout: float, poll: float, now: float
) -> Generator[Op, Any, Found[Any] | Compute]:
    """The steps of the caller that computes ``key`` in this process (see the module docs).

    It reads the value first: another thread may have stored it since this caller missed.
    """
    value = yield ReadValue(key)
    if value is not MISSING:
        return Found(value)
    if not leases:
        return Compute(None)
    lkey = lease_key(key)
    took_over = False
    while True:
        mine = record(now + timeout)
        if (yield TryLease(lkey, mine)):
            break
        current: bytes | None = yield ReadLease(lkey)
        if current is None:  # released since: try again at once
            continue
        if deadline_of(current) <= now:  # its holder died or overran: take it over
            if (yield SwapLease(lkey, current, mine)):
                took_over = True
                break
            continue
        now = yield Sleep(poll)
        value = yield ReadValue(key)
        if value is not MISSING:
            return Found(value)
    value = yield ReadValue(key)  # stored by the holder that just released the lease?
    if value is not MISSING:
        yield from release(lkey, mine)
        return Found(value)
    return Compute(mine, took_over)


def release(lkey: str, mine: bytes) -> Generator[Op, Any, None]:
    """Delete the lease at ``lkey`` if it is still ``mine``.

    A holder that overran its deadline may find a successor's record there: it leaves it. (Between
    the read and the delete a successor could take the lease over; deleting it then costs
    nothing, since the value is stored first and the next holder reads it before computing.)
    """
    current = yield ReadLease(lkey)
    if current == mine:
        yield DeleteLease(lkey)
