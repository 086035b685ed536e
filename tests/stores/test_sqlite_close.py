"""SQLiteStore.close() while other threads use the store: they get StoreClosed, and the process
never crashes (each thread's connection is closed only once that thread has left SQLite)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from nstore.errors import StoreClosed
from nstore.stores._sqlite_threads import CLOSE_WAIT
from nstore.stores.sqlite import SQLiteStore

RACE = r"""
import json, os, sys, threading, time
from nstore.stores.sqlite import SQLiteStore

directory, rounds = sys.argv[1], int(sys.argv[2])
raised = {}

def work(store, kind, start):
    start.wait()
    try:
        for i in range(1_000_000):
            if kind == 0:
                store.get(f"k{i % 1000}")  # a bounded store may have evicted it
            elif kind == 1:
                store[f"n{i}"] = b"y" * 50
            elif kind == 2:
                list(store.keys())
            elif kind == 3:
                store.get_many([f"k{j}" for j in range(700)])
            else:
                with store.transaction():
                    store["t"] = b"1"
                    store["t2"] = b"2"
    except BaseException as exc:
        name = type(exc).__name__
        raised[name] = raised.get(name, 0) + 1
        if name != "StoreClosed":
            print(kind, repr(exc), file=sys.stderr)
        return
    raised["none"] = raised.get("none", 0) + 1

for n in range(rounds):
    store = SQLiteStore(os.path.join(directory, f"d{n}.db"), max_bytes=200_000 if n % 2 else None)
    store.set_many({f"k{i}": b"x" * 100 for i in range(1200)})
    start = threading.Event()
    threads = [threading.Thread(target=work, args=(store, kind, start)) for kind in range(5)]
    for thread in threads:
        thread.start()
    start.set()
    time.sleep(0.005 + (n % 5) * 0.005)
    store.close()
    for thread in threads:
        thread.join()
print(json.dumps(raised))
"""


def test_close_while_other_threads_read_write_and_list(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), PYTHONFAULTHANDLER="1")
    command = [sys.executable, "-c", RACE, str(tmp_path), "30"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    raised = json.loads(run.stdout)
    assert set(raised) == {"StoreClosed"}, run.stderr[-3000:]
    assert raised["StoreClosed"] == 30 * 5


def test_close_does_not_wait_for_a_thread_waiting_for_a_lock(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    store = SQLiteStore(path, timeout=3)
    store["a"] = b"0"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write lock, held
    raised: list[BaseException] = []

    def write() -> None:
        try:
            store["a"] = b"1"
        except BaseException as exc:
            raised.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.3)  # the writer waits for the lock, inside SQLite
    start = time.monotonic()
    store.close()
    assert time.monotonic() - start < CLOSE_WAIT + 0.5
    writer.join()
    other.execute("ROLLBACK")
    other.close()
    assert [type(exc) for exc in raised] == [StoreClosed]
    with SQLiteStore(path) as again:
        assert again["a"] == b"0"
