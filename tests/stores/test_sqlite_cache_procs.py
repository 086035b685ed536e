"""A bounded SQLiteStore shared by processes: four writers stay within the bound together and lose
nothing the policy did not evict; a writer killed with SIGKILL in the middle of evicting leaves a
consistent database (the byte count exact, the bound kept, the order of evictions intact).

The writers use ``eviction="fifo"`` and write distinct keys in order, so what the policy may have
evicted is exact: of each writer's keys, those left are the newest ones, and the keys left plus
the evictions the writers counted are every key written.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nstore.stores._sqlite_schema import total_sql
from nstore.stores.sqlite import SQLiteStore

WRITER = r"""
import hashlib, json, os, sys
from nstore.stores.sqlite import SQLiteStore

path, writer, count, acks, max_bytes = sys.argv[1:6]
store = SQLiteStore(path, max_bytes=int(max_bytes), eviction="fifo", timeout=30)
fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if acks != "-" else None

def value(key, n):
    size = (n * 7919) % 3000 + 10
    body = (key.encode() * (size // len(key) + 1))[:size]
    return hashlib.sha256(body).digest() + body

n = 0
while count == "forever" or n < int(count):
    if n % 5 == 4:  # a batch of 4 keys in one transaction
        store.set_many({f"{writer}/{n + j:07d}": value(f"{writer}/{n + j:07d}", n + j) for j in range(4)})
        n += 4
    else:
        store[f"{writer}/{n:07d}"] = value(f"{writer}/{n:07d}", n)
        n += 1
    if fd is not None:
        os.write(fd, f"{n}\n".encode())  # every key below n is written
print(json.dumps({"evictions": store.stats.evictions, "written": n}))
store.close()
"""


#: The most bytes one key and value of the writers take.
LARGEST = 32 + 3009 + len("r99w0/0000000")


def _start(db: Path, writer: str, count: str, acks: str, max_bytes: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), writer, count, acks, str(max_bytes)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _valid(value: bytes) -> bool:
    return hashlib.sha256(value[32:]).digest() == value[:32]


def _held(db: Path) -> tuple[int, int]:
    """In one read snapshot: the bytes of the table's keys and values, and the count kept for it."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN")
        total = conn.execute(
            "SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0) FROM nstore"
        ).fetchone()[0]
        policy = conn.execute("SELECT policy FROM nstore_caches WHERE name = 'nstore'").fetchone()[0]
        kept = conn.execute(total_sql("nstore", policy.split("/")[0])).fetchone()[0]
        conn.execute("COMMIT")
    finally:
        conn.close()
    return int(total), int(kept)


def _left_by_writer(store: SQLiteStore) -> dict[str, list[int]]:
    left: dict[str, list[int]] = {}
    for key in store:
        writer, n = key.split("/")
        assert _valid(store[key]), key
        left.setdefault(writer, []).append(int(n))
    return left


def test_four_writer_processes_stay_within_the_bound_and_lose_nothing_else(tmp_path: Path) -> None:
    db, bound, count = tmp_path / "c.db", 60_000, 600
    SQLiteStore(db, max_bytes=bound, eviction="fifo").close()
    procs = [_start(db, f"w{i}", str(count), "-", bound) for i in range(4)]
    samples = 0
    while any(proc.poll() is None for proc in procs):
        total, kept = _held(db)  # in every committed state, over the bound by in-flight writes at most
        assert total == kept
        assert total <= bound + 4 * LARGEST
        samples += 1
        time.sleep(0.005)
    reports = []
    for proc in procs:
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    assert samples > 0
    with SQLiteStore(db, max_bytes=bound, eviction="fifo") as store:
        left = _left_by_writer(store)
        evicted = sum(report["evictions"] for report in reports)
        assert evicted > 0
        assert len(store) + evicted == sum(report["written"] for report in reports)
        # At rest, after every writer's last eviction, the bound holds exactly.
        for i, report in enumerate(reports):
            numbers = sorted(left.get(f"w{i}", []))
            if numbers:  # the newest of each writer, up to its last
                assert numbers == list(range(numbers[0], report["written"])), i
    total, kept = _held(db)
    assert total == kept
    assert total <= bound


def _kill_round(tmp_path: Path, round_no: int, rng: random.Random) -> None:
    db, bound = tmp_path / "c.db", 200_000
    # One writer per round, so that its keys are the newest of the table and the last one it
    # acknowledged must be there; the keys of earlier rounds are older and go first.
    acks = [tmp_path / f"acks-{round_no}"]
    procs = [_start(db, f"r{round_no}w0", "forever", str(acks[0]), bound)]
    deadline = time.monotonic() + 30
    while not all(path.exists() and path.read_text().count("\n") > 150 for path in acks):
        for proc in procs:
            assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the writers acknowledged nothing in 30 s"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.2))  # every write here evicts: the kill lands mid-eviction or near
    for proc in procs:
        proc.send_signal(signal.SIGKILL)
    for proc in procs:
        proc.communicate()

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    total, kept = _held(db)
    assert total == kept
    assert total <= bound + LARGEST  # the write in flight may have committed before its eviction
    with SQLiteStore(db, max_bytes=bound, eviction="fifo") as store:
        left = _left_by_writer(store)
        store["after"] = b"x"  # the next write makes room
        assert _held(db)[0] <= bound
        for i, path in enumerate(acks):
            lines = path.read_text().split("\n")[:-1]  # a line cut by the kill does not count
            acked = int(lines[-1])
            numbers = sorted(left[f"r{round_no}w{i}"])
            # The newest keys are left, none missing between, up to the last acknowledged write
            # (and perhaps the one in flight at the kill).
            assert numbers == list(range(numbers[0], numbers[-1] + 1))
            assert numbers[-1] >= acked - 1
            assert numbers[-1] <= acked + 3


def test_kill_during_eviction_short(tmp_path: Path) -> None:
    rng = random.Random(1)
    for round_no in range(2):
        _kill_round(tmp_path, round_no, rng)


@pytest.mark.slow
def test_kill_during_eviction_long(tmp_path: Path) -> None:
    rng = random.Random(2)
    for round_no in range(25):
        _kill_round(tmp_path, round_no, rng)
