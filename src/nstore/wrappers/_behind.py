"""The write-behind worker of a CacheStore: a bounded queue of cache writes and one thread.

Writers stage each write as a *pending* entry (under the key's stripe lock, right after the
primary write) and then queue ``(key, seq)``; the worker applies the newest pending entry of the
key to every cache and only then forgets it, so a reader that consults the pending entries first
never sees an older value than the last write. Fills after a primary read are queued too, with the
stripe version seen before the read; the worker skips a fill whose stripe was written since.
The worker is the only thread that writes to the caches. (The async twin, ``_abehind.py``, is a
task; both take their decisions from ``_cache_rules.py``.)

A process forked from one with a live worker has no worker (threads do not survive ``fork``), and
the queue's lock may have been held at that moment by the parent's worker; so in the child, every
use of the store raises :class:`~nstore.errors.StoreError`, at once (an ``os.register_at_fork``
hook, which holds the workers by weak reference only), and the parent's queued writes are left to
the parent. The child creates its own CacheStore.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import weakref
from typing import Any, Generic, TypeVar

from nstore.wrappers._cache_rules import Pending
from nstore.wrappers._cache_state import CacheState
from nstore.wrappers._tier import Tier

__all__ = ["WriteBehind"]

K = TypeVar("K")
V = TypeVar("V")

_STOP: Any = object()

#: Refusal of a write-behind store inherited across fork.
FORKED = (
    "Expected a write-behind CacheStore created in this process. Got one inherited across "
    "os.fork() instead: its worker thread stayed in the parent, so after fork this copy cannot "
    "write its caches. Create the CacheStore after the fork (or use write_behind=False)."
)


class WriteBehind(Generic[K, V]):
    """Queue and worker thread; holds no reference to the CacheStore."""

    def __init__(self, tier: Tier[K, V], state: CacheState[K], queue_size: int) -> None:
        self.tier = tier
        self.state = state
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name="nstore-cache-writer", daemon=True)
        self.thread.start()
        _workers.add(self)

    def forked(self) -> None:
        """In a child after fork: no worker here; every use of the store is refused from now on."""
        self._stopped = True  # close() and interpreter exit have nothing to wait for
        self.queue = queue.Queue()  # the parent's may be locked for good; nothing is queued here
        self.state.refuse(FORKED)

    # -- called by writers and readers -------------------------------------------------------

    def enqueue(self, batch: list[tuple[K, int]]) -> None:
        """Queue staged writes; blocks while the queue is full (the primary has them already).

        Once the worker has stopped (interpreter exit, collected store), the caller applies them.
        """
        if self._stopped:
            self._apply(batch)
            return
        self.queue.put(batch)

    def offer_fill(
        self, entries: list[tuple[K, Pending]], stripes: list[int], seen: list[int], upto: int | None
    ) -> None:
        """Queue a cache fill, or drop it when the queue is full: a fill is only an optimisation."""
        if not self._stopped:
            with contextlib.suppress(queue.Full):
                self.queue.put_nowait((entries, stripes, seen, upto))

    def drain(self) -> None:
        """Wait until every queued write has been applied (or has failed)."""
        if threading.current_thread() is not self.thread:
            self.queue.join()

    def stop(self) -> None:
        """Drain, then stop the worker. Idempotent; run by close() and at interpreter exit."""
        if self._stopped:
            return
        self._stopped = True
        self.queue.put(_STOP)
        if threading.current_thread() is not self.thread:
            self.thread.join()

    # -- the worker ------------------------------------------------------------------------------

    def _run(self) -> None:
        get, done = self.queue.get, self.queue.task_done
        while True:
            item = get()
            try:
                if item is _STOP:
                    return
                if isinstance(item, list):
                    self._apply(item)
                else:
                    entries, stripes, seen, upto = item
                    self.tier.apply(self.state.fresh(entries, stripes, seen), upto)
            except Exception as exc:  # reported to the next caller, never swallowed
                self.state.failed(exc)
            finally:
                done()

    def _apply(self, batch: list[tuple[K, int]]) -> None:
        current = self.state.current(batch)
        try:
            self.tier.apply(current)
        finally:
            # Forget an entry only after the caches have it, and only if no newer write replaced it.
            self.state.forget(current)


_workers: weakref.WeakSet[WriteBehind[Any, Any]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for worker in list(_workers):
        worker.forked()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
