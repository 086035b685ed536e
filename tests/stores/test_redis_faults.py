"""RedisStore under faults: a frozen server (SIGSTOP) and a cluster master killed (SIGKILL).

Each test runs its own servers, so the session's shared server and cluster stay healthy.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nstore.errors import StoreUnavailable
from nstore.stores.redis import RedisStore
from tests.redis_servers import RedisCluster, RedisServer, missing_binaries

TIMEOUT = 0.3
RETRIES = 1
# The documented bound: (retries + 1) attempts of at most connect_timeout + timeout, plus backoff;
# 0.5 s on top for a loaded machine.
BUDGET = (RETRIES + 1) * TIMEOUT + 0.05 * RETRIES + 0.5


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    problem = missing_binaries()
    if problem:
        pytest.fail(problem, pytrace=False)
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.kill()


def test_frozen_server_times_out_within_budget_then_answers_correctly(server: RedisServer) -> None:
    store = RedisStore(server.url, timeout=TIMEOUT, connect_timeout=TIMEOUT, retries=RETRIES)
    store.set_many({f"k{i}": f"v{i}".encode() for i in range(20)})
    server.stop()
    try:
        operations: list[tuple[Callable[[], object], str]] = [
            (lambda: store["k1"], "reading 'k1'"),
            (lambda: store.get_many(["k1", "k2"]), "reading"),
            (lambda: store.__setitem__("k3", b"new"), "writing 'k3'"),
            (lambda: list(store.iter_keys()), "listing"),
            (lambda: len(store), "counting"),
        ]
        for operation, action in operations:
            start = time.monotonic()
            with pytest.raises(StoreUnavailable, match=action):
                operation()
            assert time.monotonic() - start < BUDGET
        start = time.monotonic()
        with pytest.raises(StoreUnavailable, match="may or may not have been applied"):
            store.set_if_absent("k4", b"new")  # tried once: a second try could report the wrong outcome
        assert time.monotonic() - start < TIMEOUT + 0.5
    finally:
        server.resume()
    # The replies to the timed-out requests arrive now, on connections that were dropped: every
    # request from here on gets its own reply.
    for i in range(20):
        if i not in (3, 4):
            assert store[f"k{i}"] == f"v{i}".encode()
    assert store.get_many(["k5", "k6", "absent"]) == {"k5": b"v5", "k6": b"v6"}
    assert store.get("k3") in (b"v3", b"new")  # the write was never acknowledged: either is right
    store.close()


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda store: store.__setitem__("late", b"applied"), b"applied"),
        (lambda store: store.set("late", b"applied", ttl=60), b"applied"),
        (lambda store: store.set_many({"late": b"applied", "late2": b"applied"}), b"applied"),
        (lambda store: store.set_many({"late": b"applied"}, ttl=60), b"applied"),
        (lambda store: store.delete_many(["late"]), None),
    ],
    ids=["set", "set-ttl", "set_many", "set_many-ttl", "delete_many"],
)
def test_a_write_that_timed_out_says_it_may_be_applied_later(
    server: RedisServer, write: Callable[[RedisStore], None], expected: bytes | None
) -> None:
    store = RedisStore(server.url, timeout=TIMEOUT, connect_timeout=TIMEOUT, retries=RETRIES)
    store["late"] = b"before"
    server.stop()
    try:
        with pytest.raises(StoreUnavailable, match="may or may not have been applied") as info:
            write(store)
        assert "read the key to find out" in str(info.value)
    finally:
        server.resume()
    # The server now runs the requests it had received while frozen: the write is applied after
    # the caller was told it failed, which is what the message warns of.
    deadline = time.monotonic() + 5
    while store.get("late") != expected:
        assert time.monotonic() < deadline, "the frozen server never ran the queued write"
        time.sleep(0.02)
    store.close()


def test_a_read_that_timed_out_says_nothing_of_writes(server: RedisServer) -> None:
    store = RedisStore(server.url, timeout=TIMEOUT, connect_timeout=TIMEOUT, retries=0)
    server.stop()
    try:
        with pytest.raises(StoreUnavailable) as info:
            store.get_many(["a", "b"])
        assert "applied" not in str(info.value)
    finally:
        server.resume()
    store.close()


def _freeze_and_thaw_under_readers(server: RedisServer, pauses: list[float]) -> None:
    """Threads read their own keys while the server freezes and thaws: no read sees another's value."""
    store = RedisStore(server.url, timeout=0.2, connect_timeout=0.2, retries=0)
    store.set_many({f"own/{n}": str(n).encode() * 50 for n in range(6)})
    stop = threading.Event()
    wrong: list[tuple[int, object]] = []
    counts = {"ok": 0, "unavailable": 0}

    def reader(n: int) -> None:
        expected = str(n).encode() * 50
        while not stop.is_set():
            try:
                got = store[f"own/{n}"] if n % 2 else store.get_many([f"own/{n}"]).get(f"own/{n}")
            except StoreUnavailable:
                counts["unavailable"] += 1
                continue
            except BaseException as exc:  # reported below, in the test's thread
                wrong.append((n, exc))
                return
            counts["ok"] += 1
            if got != expected:
                wrong.append((n, got))

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    try:
        for pause in pauses:
            time.sleep(0.1)
            server.stop()
            time.sleep(pause)
            server.resume()
        time.sleep(0.2)
    finally:
        server.resume()
        stop.set()
        for thread in threads:
            thread.join()
    store.close()
    assert wrong == []
    assert counts["unavailable"] > 0
    assert counts["ok"] > 0


def test_no_reply_is_matched_to_another_request(server: RedisServer) -> None:
    _freeze_and_thaw_under_readers(server, [0.35, 0.15, 0.5, 0.05, 0.3])


@pytest.mark.slow
def test_no_reply_is_matched_to_another_request_soak(server: RedisServer) -> None:
    rng = random.Random(6)
    _freeze_and_thaw_under_readers(server, [rng.uniform(0.0, 0.6) for _ in range(150)])


@pytest.fixture(scope="module")
def doomed_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A cluster of its own: the test kills one of its masters."""
    problem = missing_binaries()
    if problem:
        pytest.fail(problem, pytrace=False)
    cluster = RedisCluster(tmp_path_factory.mktemp("doomed"), node_timeout_ms=1000)
    try:
        yield cluster
    finally:
        cluster.kill()


def test_master_killed_during_writes(doomed_cluster: RedisCluster) -> None:
    """Every write is either acknowledged and readable after the failover, or StoreUnavailable."""
    store = RedisStore(doomed_cluster.url, timeout=0.5, connect_timeout=0.5, retries=2, replicas=1)
    # A second store learns the slot map now; after the failover it must find the new master
    # (bulk calls go to the masters directly, so a stale map is only fixed by reloading it).
    reader = RedisStore(doomed_cluster.url, timeout=0.5, connect_timeout=0.5, retries=0)
    spread = {f"spread/{i}": b"s" for i in range(50)}
    reader.set_many(spread)
    acknowledged: dict[str, bytes] = {}
    failed: list[str] = []
    unexpected: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            key, value = f"w{i}", f"value {i}".encode()
            i += 1
            try:
                store[key] = value
            except StoreUnavailable:
                failed.append(key)
            except BaseException as exc:  # reported below, in the test's thread
                unexpected.append(exc)
                return
            else:
                acknowledged[key] = value

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.5)
        victim = doomed_cluster.masters()[0]
        victim.kill()
        # Write on until the cluster has failed over (at least one failure seen) and a while after.
        deadline = time.monotonic() + 20
        while not failed and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(3)
    finally:
        stop.set()
        thread.join()
    store.close()
    assert unexpected == []
    assert failed, "killing a master made no write fail: the fault was not exercised"
    assert len(acknowledged) > 100
    # Every acknowledged write is readable once the replica has taken over the dead master's slots.
    with reader:
        deadline = time.monotonic() + 20
        while True:
            try:
                found = reader.get_many(acknowledged)
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        lost = sorted(set(acknowledged) - set(found))
        assert lost == []
        assert found == acknowledged
        assert reader.get_many(spread) == spread
        reader.set_many(dict.fromkeys(spread, b"again"))
        assert set(reader.get_many(spread).values()) == {b"again"}
