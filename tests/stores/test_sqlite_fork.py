"""fork at any moment: a child either works with its own connections or fails at once, never hangs.

Each child arms SIGALRM with the default action, so a child stuck in an inherited SQLite mutex or
waiting for a write lock nobody will release is killed, and the test fails instead of hanging.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nstore.errors import StoreError
from nstore.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")

WORKED, REFUSED, OTHER = 0, 3, 4
CHILD_LIMIT = 20  # seconds before a child counts as hung


def _fork(child: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        code = OTHER
        try:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(CHILD_LIMIT)
            started = time.monotonic()
            try:
                child()
                code = WORKED
            except StoreError as exc:
                # A refusal must come at once and say why.
                code = REFUSED if time.monotonic() - started < 2 and "fork" in str(exc) else OTHER
        finally:
            os._exit(code)
    return pid


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    assert not os.WIFSIGNALED(status), "the child hung (killed by its alarm)"
    return os.WEXITSTATUS(status)


def test_children_forked_under_a_busy_writer_thread_work(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                store[f"w/{i % 50}"] = os.urandom(200)
                if i % 7 == 0:
                    store.set_many({f"b/{j}": b"x" * 300 for j in range(20)})
                if i % 11 == 0:
                    store.get_many([f"w/{j}" for j in range(600)])
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        codes = []
        try:
            for n in range(32):

                def child(n: int = n) -> None:
                    store[f"child/{n}"] = b"c"
                    assert store[f"child/{n}"] == b"c"
                    with SQLiteStore(path) as fresh:
                        fresh[f"fresh/{n}"] = b"f"

                codes.append(_wait(_fork(child)))
                time.sleep(0.005)
        finally:
            stop.set()
            thread.join()
        assert codes == [WORKED] * 32
        assert len(list(store.keys(prefix="child/"))) == 32
        assert len(list(store.keys(prefix="fresh/"))) == 32


def test_children_forked_inside_a_transaction_fail_at_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store["k"] = b"v"
        codes = []
        for n in range(30):
            with store.transaction():
                store["k"] = str(n).encode()

                def child() -> None:
                    store["in-child"] = b"c"

                def fresh_child() -> None:
                    with SQLiteStore(path, timeout=30) as fresh:
                        fresh["in-child"] = b"c"

                codes.append(_wait(_fork(child if n % 2 else fresh_child)))
        assert codes == [REFUSED] * 30  # the documented outcome: a clear error, at once
        assert store["k"] == b"29"
        # Out of the transaction, children work again.
        assert _wait(_fork(lambda: store.__setitem__("after", b"a"))) == WORKED
        assert store["after"] == b"a"


def test_a_child_forked_while_another_thread_is_in_a_transaction_fails_at_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        inside, release = threading.Event(), threading.Event()

        def holder() -> None:
            with store.transaction():
                store["k"] = b"held"
                inside.set()
                release.wait()

        thread = threading.Thread(target=holder)
        thread.start()
        inside.wait()
        try:
            code = _wait(_fork(lambda: store.__setitem__("c", b"c")))
        finally:
            release.set()
            thread.join()
        assert code == REFUSED
        assert store["k"] == b"held"


EXITING_CHILD = r"""
import os, sqlite3, sys, threading
from nstore.stores.sqlite import SQLiteStore

path, where = sys.argv[1:3]
store = SQLiteStore(path)
store.set_many({f"base/{i}": b"b" * 500 for i in range(500)})

def transaction(fork):
    with store.transaction():
        for i in range(3000):  # 36 MB: more than the page cache, so frames reach the WAL
            store[f"t/{i}"] = b"x" * 12000
        fork()
        for i in range(3000, 3500):
            store[f"t/{i}"] = b"y" * 12000

def fork_and_exit():
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # a normal exit: the interpreter frees what the child inherited
    os.waitpid(pid, 0)

if where == "here":
    transaction(fork_and_exit)
else:
    inside, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=transaction, args=(lambda: (inside.set(), done.wait()),))
    thread.start()
    inside.wait()
    fork_and_exit()
    done.set()
    thread.join()
print(sum(1 for _ in store.keys(prefix="t/")))
store.close()
conn = sqlite3.connect(path)
print(conn.execute("PRAGMA integrity_check").fetchone()[0])
"""


@pytest.mark.parametrize("where", ["here", "thread"])
def test_a_child_that_exits_normally_leaves_the_parents_transaction_intact(
    tmp_path: Path, where: str
) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", EXITING_CHILD, str(tmp_path / "s.db"), where],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["3500", "ok"]
