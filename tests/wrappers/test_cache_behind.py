"""CacheStore under pressure: exit with writes queued, failing caches, a full queue, worker errors,
concurrent readers and writers, and reads that must never go back in time."""

from __future__ import annotations

import gc
import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from nstore import MemoryStore
from nstore.errors import ConfigurationError, MissingKey
from nstore.stores.file import FileStore
from nstore.stores.redis import RedisStore
from nstore.stores.sqlite import SQLiteStore
from nstore.wrappers import CacheStore
from tests.threads import run_threads
from tests.wrappers._stores import Outage, SlowWrites

CHILD = """
import os, sys, time
from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore
from nstore.wrappers import CacheStore

primary = SQLiteStore(sys.argv[1], durability="full")
store = CacheStore(primary, FileStore(sys.argv[2], durable=False), write_behind=True, queue_size=1000)
for i in range(100):
    store[f"key{i:03d}"] = b"value %d" % i
print(store.stats.pending, flush=True)
if sys.argv[3] == "kill":
    os.kill(os.getpid(), 9)
# falls off the end: no flush, no close
"""


def _run_child(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "primary.db"), str(tmp_path / "cache"), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_exit_right_after_100_sets_drains_the_queue(tmp_path: Path) -> None:
    done = _run_child(tmp_path, "exit")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0  # writes were still queued when the interpreter began to exit
    expected = {f"key{i:03d}": b"value %d" % i for i in range(100)}
    with SQLiteStore(tmp_path / "primary.db") as primary:
        assert dict(primary.items()) == expected
    with FileStore(tmp_path / "cache") as cache:
        assert dict(cache.items()) == expected


def test_killed_right_after_100_sets_loses_nothing_in_the_primary(tmp_path: Path) -> None:
    done = _run_child(tmp_path, "kill")
    assert done.returncode == -signal.SIGKILL
    with SQLiteStore(tmp_path / "primary.db") as primary:
        assert dict(primary.items()) == {f"key{i:03d}": b"value %d" % i for i in range(100)}
    with FileStore(tmp_path / "cache") as cache:  # whatever reached the cache is correct
        assert all(cache[k] == b"value %d" % int(k[3:]) for k in cache)


def test_collected_store_stops_its_worker() -> None:
    cache = MemoryStore[str, bytes]()
    store = CacheStore(MemoryStore[str, bytes](), SlowWrites(cache, 0.001), write_behind=True)
    store.set_many({f"k{i}": b"v" for i in range(20)})
    store["last"] = b"v"
    worker = store._behind.thread if store._behind is not None else None
    assert worker is not None
    del store
    gc.collect()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(cache) == 21  # drained before stopping


# -- a full queue --------------------------------------------------------------------------------


def test_full_queue_blocks_writers_and_loses_nothing() -> None:
    primary, cache = MemoryStore[str, bytes](), MemoryStore[str, bytes]()
    store = CacheStore(primary, SlowWrites(cache, 0.002), write_behind=True, queue_size=2)
    for i in range(60):
        store[f"k{i}"] = str(i).encode()
        assert store[f"k{i}"] == str(i).encode()  # served from the pending write
        assert store._behind is not None
        assert store._behind.queue.qsize() <= 2
    assert len(primary) == 60
    store.flush()
    assert dict(cache.items()) == dict(primary.items())
    assert store.stats.pending == 0
    store.close()


# -- failing caches ----------------------------------------------------------------------------------


@pytest.mark.parametrize("write_behind", [False, True])
def test_unreachable_cache_degrades_to_the_primary(
    write_behind: bool, caplog: pytest.LogCaptureFixture
) -> None:
    dead = RedisStore("redis://127.0.0.1:1/0", timeout=0.2, connect_timeout=0.2, retries=0)
    primary = MemoryStore[str, bytes]({"old": b"0"})
    store = CacheStore(primary, dead, write_behind=write_behind)
    with caplog.at_level(logging.WARNING, logger="nstore.cache"):
        store["a"] = b"1"
        store.set_many({"b": b"2", "c": b"3"})
        store.flush()
        assert store["a"] == b"1"
        assert store["old"] == b"0"
        assert store.get_many(["b", "c", "zz"]) == {"b": b"2", "c": b"3"}
        del store["a"]
        store.flush()
        with pytest.raises(MissingKey):
            store["a"]
        assert "b" in store
    assert dict(primary.items()) == {"old": b"0", "b": b"2", "c": b"3"}
    warnings = [r for r in caplog.records if r.name == "nstore.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per failing episode, not once per call
    assert "StoreUnavailable" in warnings[0].getMessage()
    stats = store.stats
    assert stats.write_failures >= 3
    assert stats.read_failures >= 2
    store.close()


@pytest.mark.parametrize("write_behind", [False, True])
def test_cache_outage_never_serves_a_stale_value_afterwards(
    write_behind: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="nstore.cache")
    primary, cache = MemoryStore[str, bytes](), Outage()
    store = CacheStore(primary, cache, write_behind=write_behind)
    store["k"] = b"old"
    store["gone"] = b"x"
    store.flush()
    assert cache._data == {"k": b"old", "gone": b"x"}
    cache.down = True
    store["k"] = b"new"  # the cache keeps b"old": neither the write nor the invalidation got there
    del store["gone"]
    store.flush()
    cache.down = False
    assert cache._data["k"] == b"old"
    assert store["k"] == b"new"  # the key is skipped in that cache until rewritten
    with pytest.raises(MissingKey):
        store["gone"]
    assert "gone" not in store
    assert store.get_many(["k", "gone"]) == {"k": b"new"}
    store.flush()
    assert cache._data["k"] == b"new"  # refilled once the cache works again
    assert store["k"] == b"new"
    assert store.stats.write_failures == 2
    messages = [r.getMessage() for r in caplog.records if r.name == "nstore.cache"]
    assert len(messages) == 2
    assert "Cache 0 (Outage) failed on set 'k': StoreUnavailable" in messages[0]
    assert messages[1] == "Cache 0 (Outage) works again."
    store.close()


def test_worker_error_is_raised_on_the_next_call_and_by_flush() -> None:
    # A cache with maxbytes needs sized values: putting an int there is a programming error, not
    # an outage, so it must reach the caller.
    primary = MemoryStore[str, int]()
    store = CacheStore(primary, MemoryStore[str, int](maxbytes=100), write_behind=True)
    store["n"] = 1  # the primary write succeeds; the cache write fails in the worker
    assert store._behind is not None
    store._behind.drain()
    with pytest.raises(ConfigurationError, match="len"):
        store["n"]
    assert primary["n"] == 1
    store["m"] = 2
    with pytest.raises(ConfigurationError):
        store.flush()
    store.flush()
    assert primary.get_many(["n", "m"]) == {"n": 1, "m": 2}
    store["o"] = 3
    with pytest.raises(ConfigurationError):
        store.close()


def test_sync_cache_programming_error_is_raised_directly() -> None:
    primary = MemoryStore[str, int]()
    store = CacheStore(primary, MemoryStore[str, int](maxbytes=100))
    with pytest.raises(ConfigurationError):
        store["n"] = 1
    assert primary["n"] == 1
    with pytest.raises(ConfigurationError):  # a read fills the cache: same error
        store["n"]


# -- concurrency -------------------------------------------------------------------------------------


@pytest.mark.parametrize("write_behind", [False, True])
def test_no_stale_read_after_set_or_delete(write_behind: bool) -> None:
    """Readers check each answer against the last write that had returned before they asked.

    The writer sets ``k`` to the step number, deleting it every third step. After ``set n``
    returned, a read must give ``n`` or more, or KeyError only if a later delete has started; after
    ``delete n`` returned, a read gives KeyError or a value above ``n``.
    """
    primary, cache = MemoryStore[str, int](), MemoryStore[str, int](maxsize=8)
    store = CacheStore(primary, SlowWrites(cache, 0.0001), write_behind=write_behind, queue_size=8)
    started = [-1]
    returned = [(-1, "delete")]
    stop = threading.Event()
    failures: list[str] = []

    def writer() -> None:
        for step in range(150):
            if step % 4 == 0:
                time.sleep(0.002)  # let the caches catch up, so that they hold values to go stale
            started.append(step)
            if step % 3 == 2:
                del store["k"]
                returned.append((step, "delete"))
            else:
                store["k"] = step
                returned.append((step, "set"))
        stop.set()

    def reader() -> None:
        while not stop.is_set() and len(failures) < 10:
            before, op = returned[-1]
            try:
                value = store["k"]
            except KeyError:
                if op == "set" and started[-1] == before:
                    failures.append(f"missing after set {before} returned")
                continue
            if value < before or (op == "delete" and value == before - 1):
                failures.append(f"read {value} after {op} {before} returned")

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    store.flush()
    assert store.get("k") == primary.get("k")
    store.close()


@pytest.mark.parametrize("write_behind", [False, True])
def test_concurrent_readers_and_writers_end_consistent(write_behind: bool) -> None:
    primary, first, second = (
        MemoryStore[str, bytes](),
        MemoryStore[str, bytes](maxsize=50),
        MemoryStore[str, bytes](),
    )
    store = CacheStore(primary, first, second, write_behind=write_behind, queue_size=16)

    def work(n: int) -> None:
        for i in range(300):
            key = f"k{(i * 7 + n) % 40}"
            match i % 5:
                case 0 | 1:
                    store[key] = f"{n}:{i}".encode()
                case 2:
                    store.get(key)
                case 3:
                    store.set_many({key: b"bulk", f"k{(i + 1) % 40}": b"bulk"})
                case _:
                    store.delete_many([key])

    assert run_threads(work, 4) == []
    store.flush()
    truth = dict(primary.items())
    for key in (f"k{i}" for i in range(40)):
        assert store.get(key) == truth.get(key)
        for cache in (first, second):
            assert cache.get(key) in (None, truth.get(key)), key
    store.close()


def test_writes_after_the_worker_stopped_reach_the_caches() -> None:
    # What an atexit handler running after the store's exit hook sees: the worker is gone.
    primary, cache = MemoryStore[str, bytes](), MemoryStore[str, bytes]()
    store = CacheStore(primary, cache, write_behind=True, queue_size=1)
    assert store._behind is not None
    store._behind.stop()
    for i in range(5):  # more than the queue holds: nothing may block
        store[f"k{i}"] = b"v"
    assert store["k4"] == b"v"
    assert dict(cache.items()) == dict(primary.items())
    store.close()


class _OutageModel(RuleBasedStateMachine):
    """Random writes, reads and cache outages against a dict: reads always match the dict."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = Outage(), Outage()
        self.primary = MemoryStore[str, bytes]()
        self.store = CacheStore(self.primary, self.first, self.second, write_behind=self.write_behind)
        self.model: dict[str, bytes] = {}
        self.writes = 0

    write_behind = False

    @rule(key=st.sampled_from("ab"))
    def set(self, key: str) -> None:
        self.writes += 1  # every value differs, so a stale one always shows
        value = b"%d" % self.writes
        self.store[key] = value
        self.model[key] = value

    @rule(key=st.sampled_from("ab"))
    def delete(self, key: str) -> None:
        self.store.delete_many([key])
        self.model.pop(key, None)

    @rule(key=st.sampled_from("ab"))
    def get(self, key: str) -> None:
        assert self.store.get(key) == self.model.get(key)

    @rule()
    def get_many(self) -> None:
        assert self.store.get_many("ab") == self.model

    @rule(which=st.sampled_from(["first", "second"]), down=st.booleans())
    def outage(self, which: str, down: bool) -> None:
        cache: Outage = getattr(self, which)
        cache.down = down

    @rule()
    def flush(self) -> None:
        self.store.flush()

    @invariant()
    def primary_is_the_model(self) -> None:
        assert dict(self.primary.items()) == self.model

    def teardown(self) -> None:
        self.store.close()


class _OutageModelBehind(_OutageModel):
    write_behind = True


@pytest.mark.parametrize("machine", [_OutageModel, _OutageModelBehind])
def test_reads_match_a_dict_through_random_outages(machine: type[_OutageModel]) -> None:
    run_state_machine_as_test(
        machine, settings=settings(max_examples=150, stateful_step_count=25, deadline=None)
    )
