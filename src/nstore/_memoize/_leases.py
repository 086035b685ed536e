"""The steps of a miss, without I/O (sans-I/O): the operations, leases, and what the computing
caller does.

A step is a generator: it yields the operations it needs (:class:`Read`, :class:`Call`,
:class:`Wait`, :class:`Sleep`) and is sent each one's result (or thrown its exception), so
:class:`~nstore.Memoized` (sync) and :class:`~nstore.AsyncMemoized` (async) run the same
decisions and differ only in how they do an operation.

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
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from nstore._memoize._keys import text_of

__all__ = [
    "MISSING",
    "Call",
    "Compute",
    "Op",
    "Read",
    "Sleep",
    "Steps",
    "Wait",
    "lead",
    "lease_key",
    "release",
]

#: What a :class:`Read` is answered with when there is nothing at the key.
MISSING: Any = object()
_HOLDER = f"{socket.gethostname()}:{os.getpid()}"

#: What an operation acts on: the value store, the lease store, or the memoized function.
Target = Literal["values", "leases", "function"]


@dataclass(frozen=True, slots=True)
class Read:
    """Read ``key`` in the ``target`` store; answer its value, or :data:`MISSING`."""

    target: Target
    key: Any


@dataclass(frozen=True, slots=True)
class Call:
    """Call ``target.method(*args, **kwargs)`` (awaited, in the async shell); answer its result."""

    target: Target
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Wait:
    """Wait for another caller's computation of the key; answer its result (or raise its error)."""

    flight: Future[Any]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds``, then answer the wall-clock time (``time.time()``)."""

    seconds: float


Op = Read | Call | Wait | Sleep
Steps = Generator[Op, Any, Any]


@dataclass(frozen=True, slots=True)
class Compute:
    """The lease steps' order to compute (holding ``lease``, if not None), or the value found."""

    lease: bytes | None
    took_over: bool = False
    found: Any = MISSING


def lease_key(key: object) -> str:
    """The key of ``key``'s lease in the lease store: ``"lease/"`` and the key as text."""
    return "lease/" + text_of(key)


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
) -> Generator[Op, Any, Compute]:
    """The steps of the caller that computes ``key`` in this process, up to computing.

    It reads the value first: another thread may have stored it since this caller missed. The
    result says what was found, or to compute (with the lease taken, if ``leases``).
    """
    value = yield Read("values", key)
    if value is not MISSING or not leases:
        return Compute(None, found=value)
    lkey = lease_key(key)
    took_over = False
    while True:
        mine = record(now + timeout)
        if (yield Call("leases", "set_if_absent", (lkey, mine))):
            break
        current = yield Read("leases", lkey)
        if current is MISSING:  # released since: try again at once
            continue
        if deadline_of(current) <= now:  # its holder died or overran: take it over
            if (yield Call("leases", "compare_and_set", (lkey, current, mine))):
                took_over = True
                break
            continue
        now = yield Sleep(poll)
        value = yield Read("values", key)
        if value is not MISSING:
            return Compute(None, found=value)
    value = yield Read("values", key)  # stored by the holder that just released the lease?
    if value is not MISSING:
        yield from release(lkey, mine)
        return Compute(None, found=value)
    return Compute(mine, took_over)


def release(lkey: str, mine: bytes) -> Steps:
    """Delete the lease at ``lkey`` if it is still ``mine``.

    A holder that overran its deadline may find a successor's record there: it leaves it. (Between
    the read and the delete a successor could take the lease over; deleting it then costs
    nothing, since the value is stored first and the next holder reads it before computing.)
    """
    current = yield Read("leases", lkey)
    if current == mine:
        yield Call("leases", "delete_many", ([lkey],))
