"""SQLiteStore shared by threads and processes: one connection per thread, real processes on one
file, fork safety and bounded waiting for a locked database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nstore.errors import StoreUnavailable
from nstore.stores.sqlite import SQLiteStore

WORKER = r"""
import sys
from nstore.stores.sqlite import SQLiteStore

path, name = sys.argv[1:3]
with SQLiteStore(path, timeout=30) as store:
    for i in range(100):
        store[f"{name}/{i}"] = f"{name}{i}".encode()
    store.set_many({f"{name}/bulk/{i}": b"b" for i in range(100)})
    for _ in range(50):
        while True:
            current = store["counter"]
            if store.compare_and_set("counter", current, str(int(current) + 1).encode()):
                break
    with store.transaction():
        total = int(store["total"]) + 1
        store["total"] = str(total).encode()
"""


def test_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with SQLiteStore(path) as store:
        store.set_many({"counter": b"0", "total": b"0"})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), f"p{n}"], env=env) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    with SQLiteStore(path) as store:
        assert store["counter"] == b"200"
        assert store["total"] == b"4"
        assert len(store) == 2 + 4 * 200
        assert store.get_many([f"p{n}/99" for n in range(4)]) == {
            f"p{n}/99": f"p{n}99".encode() for n in range(4)
        }


def test_threads_each_get_their_own_connection(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        connections: list[sqlite3.Connection] = []

        def work() -> None:
            connections.append(store._open().connection)
            store["x"] = b"1"

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        connections.append(store._open().connection)
        assert len({id(c) for c in connections}) == 4


def test_transfers_between_threads_keep_the_total(tmp_path: Path) -> None:
    accounts = [f"acct/{i}" for i in range(5)]
    with SQLiteStore(tmp_path / "s.db", timeout=30) as store:
        store.set_many(dict.fromkeys(accounts, b"100"))
        errors: list[BaseException] = []
        totals: list[int] = []
        stop = threading.Event()

        def transfer(n: int) -> None:
            try:
                for i in range(40):
                    src, dst = accounts[(n + i) % 5], accounts[(n + 2 * i + 1) % 5]
                    with store.transaction():
                        store[src] = str(int(store[src]) - 1).encode()
                        store[dst] = str(int(store[dst]) + 1).encode()
            except BaseException as exc:  # reported in the test's thread
                errors.append(exc)

        def audit() -> None:
            while not stop.is_set():
                totals.append(sum(int(v) for v in store.get_many(accounts).values()))

        auditor = threading.Thread(target=audit)
        auditor.start()
        workers = [threading.Thread(target=transfer, args=(n,)) for n in range(3)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        stop.set()
        auditor.join()
        assert errors == []
        assert totals
        assert set(totals) == {500}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_fork_gives_the_child_fresh_connections(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store["before"] = b"parent"
        parent_conn = store._open().connection
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: must not touch the parent's connection
            status = 1
            try:
                fresh = store._open().connection is not parent_conn
                store["child"] = b"child"
                ok = fresh and store["before"] == b"parent"
                status = 0 if ok else 2
            finally:
                os.write(write, bytes([status]))
                os._exit(status)
        os.close(write)
        _, code = os.waitpid(pid, 0)
        assert os.read(read, 1) == b"\x00"
        os.close(read)
        assert code == 0
        assert store._open().connection is parent_conn
        assert store["child"] == b"child"
        store["after"] = b"parent again"
        assert parent_conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_locked_database_raises_store_unavailable_after_bounded_retries(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path, timeout=0.05) as store:
        store["k"] = b"v"
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="locked"):
            store["k"] = b"w"
        assert time.monotonic() - started < 5
        assert store["k"] == b"v"  # readers are never blocked by a writer in WAL mode
        blocker.execute("ROLLBACK")
        blocker.close()
        store["k"] = b"w"
        assert store["k"] == b"w"


def test_a_writer_waits_for_a_short_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path, timeout=10) as store:
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.2, lambda: blocker.execute("COMMIT"))
        release.start()
        store.set_many({"a": b"1", "b": b"2"})  # waits for the lock, then succeeds
        release.join()
        blocker.close()
        assert store.get_many(["a", "b"]) == {"a": b"1", "b": b"2"}
