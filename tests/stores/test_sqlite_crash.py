"""Crash tests: writer processes killed with SIGKILL in the middle of single, bulk and
transactional writes. Afterwards no value is torn, every acknowledged write is present, and every
bulk write or transaction is there completely or not at all.

A writer acknowledges a write by appending a line to an acknowledgement file right after the call
returned (``os.write``, which reaches the kernel before the next write starts, so it survives the
kill). The default run has a short version; ``-m slow`` runs many more rounds.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nstore.stores.sqlite import Durability, SQLiteStore

WRITER = r"""
import hashlib, os, sys
from nstore.stores.sqlite import Durability, SQLiteStore

path, mode, durability, acks, start = sys.argv[1:6]
store = SQLiteStore(path, durability=durability, timeout=30)
fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

def value(key, n):
    size = (n * 7919) % 200_000 + 10  # from 10 B to about 200 KiB, so torn pages would show
    body = (key.encode() * (size // len(key) + 1))[:size]
    return hashlib.sha256(body).digest() + body

n = int(start)
while True:
    if mode == "single":
        key = f"s/{n:07d}"
        store[key] = value(key, n)
    elif mode == "bulk":
        store.set_many({f"b/{n:07d}/{j:03d}": value(f"b/{n:07d}/{j:03d}", n + j) for j in range(40)})
    else:  # a transaction: a batch, a counter update and a delete of the previous batch's marker
        with store.transaction():
            for j in range(10):
                key = f"t/{n:07d}/{j:03d}"
                store[key] = value(key, n + j)
            store["t-counter"] = str(n).encode()
            store.set_if_absent(f"t-marker/{n:07d}", b"m")
            store.pop(f"t-marker/{n - 1:07d}", None)
    os.write(fd, f"{n}\n".encode())
    n += 1
"""


def _valid(value: bytes) -> bool:
    return hashlib.sha256(value[32:]).digest() == value[:32]


def _acked(path: Path) -> list[int]:
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")[:-1]  # a last line without its newline was cut by the kill
    return [int(line) for line in lines]


def _start(db: Path, mode: str, durability: str, acks: Path, start: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), mode, durability, str(acks), str(start)],
        env=env,
        stderr=subprocess.PIPE,
    )


def _round(tmp_path: Path, durability: Durability, round_no: int, rng: random.Random) -> None:
    db = tmp_path / "crash.db"
    start = round_no * 1_000_000
    procs = {}
    for mode in ("single", "bulk", "txn"):
        acks = tmp_path / f"acks-{mode}-{round_no}"
        procs[mode] = (_start(db, mode, durability, acks, start), acks)
    # Wait until every writer has acknowledged something, then kill them all at a random moment.
    deadline = time.monotonic() + 30
    while not all(_acked(acks) for _, acks in procs.values()):
        for proc, _ in procs.values():
            if proc.poll() is not None:
                raise AssertionError(f"a writer died on its own: {proc.stderr.read().decode()}")  # type: ignore[union-attr]  # stderr is a pipe
        assert time.monotonic() < deadline, "writers acknowledged nothing in 30 s"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.3))
    for proc, _ in procs.values():
        proc.send_signal(signal.SIGKILL)
    for proc, _ in procs.values():
        proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]  # stderr is a pipe

    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    raw.close()
    with SQLiteStore(db, durability=durability) as store:
        single = _acked(procs["single"][1])
        for n in single:
            assert _valid(store[f"s/{n:07d}"]), n
        for key in store.keys(prefix="s/"):
            assert _valid(store[key]), key  # also the write in flight at the kill, if it landed
        batches: dict[str, int] = {}
        for key in store.keys(prefix="b/"):
            assert _valid(store[key]), key
            batch = key.rsplit("/", 1)[0]
            batches[batch] = batches.get(batch, 0) + 1
        assert set(batches.values()) <= {40}, "a bulk write was torn"
        for n in _acked(procs["bulk"][1]):
            assert batches.get(f"b/{n:07d}") == 40, n
        tx_batches: dict[str, int] = {}
        for key in store.keys(prefix="t/"):
            assert _valid(store[key]), key
            batch = key.rsplit("/", 1)[0]
            tx_batches[batch] = tx_batches.get(batch, 0) + 1
        assert set(tx_batches.values()) <= {10}, "a transaction was torn"
        acked_tx = _acked(procs["txn"][1])
        for n in acked_tx:
            assert tx_batches.get(f"t/{n:07d}") == 10, n
        # The counter and the single live marker belong to the last committed transaction.
        last = max(int(b.rsplit("/", 1)[1]) for b in tx_batches if int(b.rsplit("/", 1)[1]) >= start)
        assert last >= acked_tx[-1]
        assert store["t-counter"] == str(last).encode()
        markers = [k for k in store.keys(prefix="t-marker/") if int(k.split("/")[1]) >= start]
        assert markers == [f"t-marker/{last:07d}"]


@pytest.mark.parametrize("durability", ["normal", "full", "off"])
def test_kill_during_writes_short(tmp_path: Path, durability: Durability) -> None:
    rng = random.Random(durability)
    for round_no in range(2):
        _round(tmp_path, durability, round_no, rng)


@pytest.mark.slow
@pytest.mark.parametrize("durability", ["normal", "full", "off"])
def test_kill_during_writes_long(tmp_path: Path, durability: Durability) -> None:
    rng = random.Random(f"long-{durability}")
    for round_no in range(25):
        _round(tmp_path, durability, round_no, rng)
