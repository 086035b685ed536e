"""FileStore shared by several processes, and killed in the middle of writes.

Values are self-checking (a SHA-256 of the rest appended), so a reader can tell a whole value from
a torn one without knowing which writer wrote it.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from nstore.stores._filescan import SWEEP_AGE
from nstore.stores._paths import TEMP_PREFIX
from nstore.stores.file import FileStore

SPAWN = get_context("spawn")
SIZES = [0, 100, 1024, 64 * 1024, 300 * 1024]


def make_value(writer: int, seq: int, size: int) -> bytes:
    body = f"{writer}:{seq}:".encode() + random.randbytes(size)
    return body + hashlib.sha256(body).digest()


def is_whole(value: bytes) -> bool:
    return len(value) >= 32 and hashlib.sha256(value[:-32]).digest() == value[-32:]


def writer(root: str, writer_id: int, rounds: int) -> dict[str, bytes | None]:
    """Write shared keys and own keys in directories that deletes keep emptying."""
    final: dict[str, bytes | None] = {}
    with FileStore(root, durable=writer_id % 2 == 0) as store:
        for seq in range(rounds):
            store[f"shared/k{seq % 5}"] = make_value(writer_id, seq, random.choice(SIZES))
            own = f"race{(seq // 2) % 3}/w{writer_id}"
            if seq % 2:
                del store[own]
                final[own] = None
            else:
                final[own] = store[own] = make_value(writer_id, seq, 50)
            if seq % 10 == 0:
                batch = {f"batch{seq % 4}/w{writer_id}-{i}": make_value(writer_id, seq, 10) for i in range(3)}
                store.set_many(batch)
                final.update(batch)
    return final


def reader(root: str, stop: str) -> tuple[int, list[str]]:
    """Read shared keys until told to stop; return the count of reads and any torn value."""
    reads, torn = 0, []
    with FileStore(root) as store:
        while not os.path.exists(stop):
            for key in [*store.keys(prefix="shared/"), "shared/k0", "race0/w1"]:
                value = store.get(key)
                if value is not None:
                    reads += 1
                    if not is_whole(value):
                        torn.append(key)
    return reads, torn


def incrementer(root: str, times: int) -> int:
    conflicts = 0
    with FileStore(root, durable=False) as store:
        for _ in range(times):
            while True:
                current = store["counter"]
                if store.compare_and_set("counter", current, str(int(current) + 1).encode()):
                    break
                conflicts += 1
    return conflicts


def claimer(root: str, claimer_id: int, keys: int) -> list[str]:
    with FileStore(root, durable=False) as store:
        return [
            f"claims/{i}" for i in range(keys) if store.set_if_absent(f"claims/{i}", str(claimer_id).encode())
        ]


@pytest.mark.parametrize("rounds", [60, pytest.param(1000, marks=pytest.mark.slow)])
def test_processes_read_and_write_one_root(tmp_path: Path, rounds: int) -> None:
    root, stop = str(tmp_path / "root"), str(tmp_path / "stop")
    FileStore(root).close()
    with ProcessPoolExecutor(5, mp_context=SPAWN) as pool:
        readers = [pool.submit(reader, root, stop) for _ in range(2)]
        writers = [pool.submit(writer, root, i, rounds) for i in range(3)]
        try:
            finals = [w.result(timeout=60 + rounds) for w in writers]
        finally:
            Path(stop).touch()
        results = [r.result(timeout=60) for r in readers]
    assert sum(reads for reads, _ in results) > 0
    assert [torn for _, torn in results] == [[], []]
    with FileStore(root) as store:
        for final in finals:
            for key, value in final.items():
                assert store.get(key) == value, key
        assert all(is_whole(store[key]) for key in store.keys(prefix="shared/"))
        assert not any(TEMP_PREFIX in key for key in store)
    assert not list(Path(root).rglob(TEMP_PREFIX + "*"))


def test_compare_and_set_is_atomic_across_processes(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    with FileStore(root) as store:
        store["counter"] = b"0"
    with ProcessPoolExecutor(4, mp_context=SPAWN) as pool:
        conflicts = list(pool.map(incrementer, [root] * 4, [50] * 4))
    with FileStore(root) as store:
        assert store["counter"] == b"200", conflicts


def test_set_if_absent_has_one_winner_per_key(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    with ProcessPoolExecutor(4, mp_context=SPAWN) as pool:
        won = list(pool.map(claimer, [root] * 4, range(4), [100] * 4))
    assert sorted(k for keys in won for k in keys) == sorted(f"claims/{i}" for i in range(100))
    with FileStore(root) as store:
        for claimer_id, keys in enumerate(won):
            for key in keys:
                assert store[key] == str(claimer_id).encode()


CRASH_WRITER = textwrap.dedent(
    """
    import hashlib, random, sys
    from nstore.stores.file import FileStore
    store = FileStore(sys.argv[1], durable=sys.argv[2] == "durable")
    bodies = [b"%d:" % size + random.randbytes(size) for size in (10, 2**20, 8 * 2**20)]
    values = [body + hashlib.sha256(body).digest() for body in bodies]
    for seq in range(10**6):
        store[f"c/k{seq % 5}"] = values[seq % 3]
        if seq == 3:
            print("ready", flush=True)
    """
)


def test_kill_minus_9_mid_write_leaves_no_torn_value(tmp_path: Path) -> None:
    root = tmp_path / "root"
    leftovers: list[Path] = []
    # Opened before the crashes, so its listings see the leftovers before any sweep.
    with FileStore(root) as observer:
        for attempt in range(12):
            mode = "durable" if attempt % 2 else "fast"
            command = [sys.executable, "-c", CRASH_WRITER, str(root), mode]
            with subprocess.Popen(command, stdout=subprocess.PIPE) as proc:
                assert proc.stdout is not None
                assert proc.stdout.readline() == b"ready\n"
                time.sleep(random.uniform(0.0, 0.05))
                proc.send_signal(signal.SIGKILL)
            leftovers = list(root.rglob(TEMP_PREFIX + "*"))
            keys = list(observer)
            assert keys
            assert all(k.startswith("c/k") for k in keys), keys
            assert all(is_whole(observer[k]) for k in keys)
            if leftovers:
                break
    assert leftovers, "no kill landed in the middle of a write"
    with FileStore(root) as store:
        assert leftovers == list(root.rglob(TEMP_PREFIX + "*")), "swept before SWEEP_AGE"
    time.sleep(SWEEP_AGE)
    with FileStore(root) as store:
        assert leftovers == list(root.rglob(TEMP_PREFIX + "*")), "opening must not sweep"
        keys = list(store)  # a listing sweeps the stale files of the directories it reads
        assert not list(root.rglob(TEMP_PREFIX + "*"))
        assert all(is_whole(store[k]) for k in keys)
        assert store.sweep() == 0


FSIZE_WRITER = textwrap.dedent(
    """
    import resource, signal, sys
    from nstore.errors import StoreError
    from nstore.stores.file import FileStore
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    store = FileStore(sys.argv[1])
    store["k"] = b"old"
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    try:
        store["k"] = bytes(2 << 20)
    except StoreError as exc:
        print(exc)
    """
)


def test_a_failed_write_keeps_the_old_value_and_no_temp_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    out = subprocess.run(
        [sys.executable, "-c", FSIZE_WRITER, str(root)], capture_output=True, text=True, check=True
    ).stdout
    assert "Could not write key 'k'" in out
    assert "previous value" in out
    assert str(root) not in out
    with FileStore(root) as store:
        assert store["k"] == b"old"
    assert not list(root.rglob(TEMP_PREFIX + "*"))


def test_a_store_sent_to_another_process_opens_the_root_again(tmp_path: Path) -> None:
    with FileStore(tmp_path / "root", durable=False) as store:
        store["shared/k0"] = make_value(0, 0, 10)
        with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
            assert pool.submit(_keys_of, store).result(timeout=60) == ["shared/k0"]


def _keys_of(store: FileStore) -> list[str]:
    with store:
        return list(store)


def _increment(store: FileStore, times: int) -> None:
    for _ in range(times):
        while True:
            current = store["counter"]
            if store.compare_and_set("counter", current, str(int(current) + 1).encode()):
                break


def test_forked_children_do_not_share_the_parents_lock(tmp_path: Path) -> None:
    with FileStore(tmp_path / "root", durable=False) as store:
        store["counter"] = b"0"
        assert store.compare_and_set("counter", b"0", b"0")  # the lock pool now holds a descriptor
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                status = 1
                try:
                    _increment(store, 100)
                    status = 0
                finally:
                    os._exit(status)
            children.append(pid)
        _increment(store, 100)
        assert [os.waitpid(pid, 0)[1] for pid in children] == [0, 0, 0]
        assert store["counter"] == b"400"
