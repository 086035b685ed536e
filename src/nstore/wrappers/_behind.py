"""The write-behind worker of a CacheStore: a bounded queue of cache writes and one thread.

Writers stage each write as a *pending* entry (under the key's stripe lock, right after the
primary write) and then queue ``(key, seq)``; the worker applies the newest pending entry of the
key to every cache and only then forgets it, so a reader that consults the pending entries first
never sees an older value than the last write. Fills after a primary read are queued too, with the
stripe version seen before the read; the worker skips a fill whose stripe was written since.
The worker is the only thread that writes to the caches.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from nstore.wrappers._tier import Tier

__all__ = ["ATTENTION", "DELETE", "INVALIDATE", "MARK", "SET", "Pending", "WriteBehind"]

K = TypeVar("K")
V = TypeVar("V")

SET = 0
DELETE = 1
#: A write to the primary that failed or did not happen: the primary may hold anything for the key,
#: so reads ask the primary, and the worker removes the key from every cache.
INVALIDATE = 2

#: A pending-dict key that no user key equals: while present, reads take the slow path, which
#: reports worker errors and refuses use after close.
ATTENTION: Any = object()
_STOP: Any = object()


@dataclass(slots=True)
class Pending:
    """A write that the primary has and the caches may not have yet."""

    seq: int
    op: int
    value: Any


#: The entry stored under ATTENTION.
MARK = Pending(0, -1, None)


class WriteBehind(Generic[K, V]):
    """Queue, pending entries and the worker thread; holds no reference to the CacheStore."""

    def __init__(
        self,
        tier: Tier[K, V],
        pending: dict[Any, Pending],
        locks: Sequence[threading.Lock],
        versions: list[int],
        queue_size: int,
    ) -> None:
        self.tier = tier
        self.pending = pending
        self.locks = locks
        self.versions = versions
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.errors: deque[BaseException] = deque()
        self._seq = itertools.count(1)  # next() is atomic: no lock needed for sequence numbers
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name="nstore-cache-writer", daemon=True)
        self.thread.start()

    # -- called by writers and readers -------------------------------------------------------

    def stage(self, key: K, op: int, value: Any) -> int:
        """Record a pending write; the caller holds the key's stripe lock."""
        seq = next(self._seq)
        self.pending[key] = Pending(seq, op, value)
        return seq

    def enqueue(self, batch: list[tuple[K, int]]) -> None:
        """Queue staged writes; blocks while the queue is full (the primary has them already).

        Once the worker has stopped (interpreter exit, collected store), the caller applies them.
        """
        if self._stopped:
            self._apply(batch)
            return
        self.queue.put(batch)

    def offer_fill(
        self, pairs: list[tuple[K, V]], stripes: list[int], seen: list[int], upto: int | None
    ) -> None:
        """Queue a cache fill, or drop it when the queue is full: a fill is only an optimisation."""
        if not self._stopped:
            with contextlib.suppress(queue.Full):
                self.queue.put_nowait((pairs, stripes, seen, upto))

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
                    self._fill(*item)
            except Exception as exc:  # reported to the next caller, never swallowed
                self.errors.append(exc)
                self.pending[ATTENTION] = MARK
            finally:
                done()

    def _apply(self, batch: list[tuple[K, int]]) -> None:
        pending = self.pending
        current: list[tuple[K, Pending]] = []
        for key, seq in batch:
            entry = pending.get(key)
            if entry is not None and entry.seq == seq:  # else a newer write is queued behind us
                current.append((key, entry))
        try:
            sets = [(k, e.value) for k, e in current if e.op == SET]
            deletes = [k for k, e in current if e.op != SET]  # DELETE and INVALIDATE
            self.tier.set_many(sets)
            self.tier.delete(deletes)
        finally:
            # Forget an entry only after the caches have it, and only if no newer write replaced it.
            n = len(self.locks)
            for key, entry in current:
                with self.locks[hash(key) % n]:
                    if pending.get(key) is entry:
                        del pending[key]

    def _fill(self, pairs: list[tuple[K, V]], stripes: list[int], seen: list[int], upto: int | None) -> None:
        versions, pending = self.versions, self.pending
        fresh = [
            (k, v)
            for (k, v), s, before in zip(pairs, stripes, seen, strict=True)
            if versions[s] == before and k not in pending
        ]
        self.tier.set_many(fresh, upto)
