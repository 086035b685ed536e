"""fork safety for SQLiteStore: a child forked at any moment works with its own connections or
fails at once with a clear error; it never hangs.

Two things a child inherits from its parent can make SQLite hang in it:

- SQLite's process-wide mutexes (memory, VFS, page cache): a thread of the parent inside a SQLite
  call at the moment of ``fork`` may hold one, and in the child that thread no longer exists to
  release it. So every SQLite call runs under its thread's *gate*, a reentrant lock, and
  ``os.register_at_fork`` takes every gate before the fork and gives them back after it, in the
  parent and in the child: no thread is inside SQLite while the process forks. A thread that
  does not leave SQLite within :data:`FORK_WAIT` seconds (a long statement, a wait for a write
  lock) is not waited for; SQLite is then refused in the child.
- SQLite's per-process record of the file locks its connections hold (POSIX ``fcntl`` locks,
  which a child does not inherit): if a connection of the parent is inside a transaction at the
  fork, the child's record says "write lock held" while the lock itself stayed with the parent,
  so a connection of the child to that file waits for a lock nobody will release. Such a file is
  refused in the child, by every store, for the life of the child.

A refused child gets :class:`~nstore.errors.StoreError` at its first use of SQLite, naming the
cause. The parent's connections are never used or closed in the child, not even when the child
exits (closing one there rolls the parent's open transaction back in the shared WAL index, which
corrupts it); the child opens its own.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Final

from nstore.errors import StoreError

try:
    import ctypes
except ImportError:  # pragma: no cover  # a Python built without ctypes
    ctypes = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from nstore.stores.sqlite import SQLiteStore

__all__ = ["FORK_WAIT", "check_usable", "gate", "track"]

#: Seconds a fork waits for other threads to leave SQLite before it goes ahead without them.
FORK_WAIT: Final = 2.0


class _Gate:
    """One thread's gate (a weak-referenceable holder, so a finished thread's gate goes away)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.RLock()


_local = threading.local()
_gates: weakref.WeakSet[_Gate] = weakref.WeakSet()
_registry = threading.Lock()  # held across fork: no gate is made while the gates are taken
_stores: weakref.WeakKeyDictionary[SQLiteStore, str] = weakref.WeakKeyDictionary()  # -> real path
# The stores' per-thread state at the last fork: in the child it is kept alive for good (see
# _keep_forever); in the parent it is let go once the fork is done.
_inherited: list[object] = []
_forever: list[object] = []
# What the child may not use: set in the child only.
_refused_all = ""
_refused_files: set[str] = set()
# Filled by _before, read by the after-fork hooks of the same thread.
_held: list[threading.RLock] = []
_complete = True
_busy: frozenset[str] = frozenset()


def gate() -> threading.RLock:
    """The calling thread's gate; hold it around every call into SQLite."""
    try:
        return _local.gate.lock  # type: ignore[no-any-return]  # a thread-local attribute
    except AttributeError:
        pass
    holder = _Gate()
    with _registry:
        _gates.add(holder)
    _local.gate = holder
    return holder.lock


def track(store: SQLiteStore, path: str) -> None:
    """Give ``store`` (on the database ``path``) fresh connections in a child after ``fork``."""
    _stores[store] = os.path.realpath(path)


def check_usable(path: str) -> None:
    """Raise :class:`StoreError` if this process may not open SQLite connections to ``path``."""
    if _refused_all:
        raise StoreError(_refused_all)
    if _refused_files and os.path.realpath(path) in _refused_files:
        raise StoreError(
            "This process was forked while its parent was inside a transaction on this SQLite "
            "database, so SQLite's lock records in this process say the parent's lock is held and "
            "no connection here could ever write. Fork outside transaction() blocks, or start the "
            "worker with the 'spawn' or 'forkserver' method."
        )


def _before() -> None:
    global _complete, _busy
    _registry.acquire()
    deadline = time.monotonic() + FORK_WAIT
    complete = True
    for holder in list(_gates):
        if holder.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            _held.append(holder.lock)
        else:
            complete = False
    busy = set()
    for store, path in list(_stores.items()):
        # Taken before the fork so the child holds them too: a thread that does not exist in the
        # child loses its thread-local state there, which would free (close) its connection.
        local, threads, in_transaction = store._fork_state()
        _inherited.append((local, threads))
        if complete and in_transaction:  # with every thread out of SQLite, safe to read
            busy.add(path)
    _complete, _busy = complete, frozenset(busy)


def _release() -> None:
    while _held:
        _held.pop().release()
    _registry.release()


def _after_in_parent() -> None:
    _inherited.clear()
    _release()


def _keep_forever(obj: object) -> None:
    """Never free ``obj`` in this process, not even when the interpreter exits.

    Freeing a connection closes it, and closing a connection inherited from the parent rolls
    back the parent's open transaction in the shared WAL index (corrupting it), so the child
    holds one reference that nothing ever drops.
    """
    _forever.append(obj)  # without ctypes, this holds it until the interpreter exits at least
    if ctypes is not None:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


def _after_in_child() -> None:
    global _refused_all
    if not _complete:
        _refused_all = (
            "This process was forked while another thread of its parent was inside SQLite for over "
            f"{FORK_WAIT:g} s, so SQLite's process-wide locks may be held by a thread that does not "
            "exist here; SQLite cannot be used in this process. Fork when no other thread is "
            "using a SQLiteStore, or start the worker with the 'spawn' or 'forkserver' method."
        )
    _refused_files.update(_busy)
    _keep_forever(list(_inherited))
    _inherited.clear()
    for store in list(_stores):
        store._forget_connections()
    _release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before, after_in_parent=_after_in_parent, after_in_child=_after_in_child)
