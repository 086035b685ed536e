"""One computation per key: 16 threads in a process, 4 processes with leases, a dead lease holder.

Real stores only: SQLite files, a real Redis server (tests/redis_servers.py), worker processes
started with ``python -m tests.memoize_worker``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import nstore
from nstore import MemoryStore, RedisStore, SQLiteStore, Store, memoize
from nstore.codecs import Msgspec, Prefix
from tests.memoize_worker import slow_function
from tests.threads import run_threads

ROOT = Path(__file__).resolve().parent.parent
THREADS = 16
PROCESSES = 4


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store[str, bytes]]:
    made: Store[str, bytes]
    if request.param == "memory":
        made = MemoryStore[str, bytes]()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "cache.db")
    else:
        made = RedisStore(request.getfixturevalue("redis_url"))
    yield made
    made.close()


def test_sixteen_threads_compute_one_key_once(store: Store[str, bytes]) -> None:
    calls: list[int] = []
    start = threading.Barrier(THREADS)

    @memoize(store.with_values(Msgspec(list[int])))
    def slow(n: int) -> list[int]:
        calls.append(n)
        time.sleep(0.2)
        return list(range(n))

    results: list[list[int]] = []

    def call(_: int) -> None:
        start.wait()
        results.append(slow(5))

    assert run_threads(call, THREADS) == []
    assert calls == [5]
    assert results == [[0, 1, 2, 3, 4]] * THREADS
    info = slow.cache_info()
    assert info.computations == 1
    assert info.hits + info.misses == THREADS
    assert slow(5) == [0, 1, 2, 3, 4]
    assert len(calls) == 1


def test_the_waiters_get_the_computations_exception() -> None:
    calls: list[int] = []
    start = threading.Barrier(THREADS)
    release = threading.Event()

    @memoize(MemoryStore[str, int]())
    def failing(n: int) -> int:
        calls.append(n)
        release.wait(10)
        raise RuntimeError(f"failed {n}")

    def call(_: int) -> None:
        start.wait()
        failing(1)

    def open_when_all_wait() -> None:
        deadline = time.monotonic() + 10
        while failing.cache_info().waits < THREADS - 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        release.set()

    opener = threading.Thread(target=open_when_all_wait)
    opener.start()
    errors = run_threads(call, THREADS)
    opener.join()
    assert calls == [1]
    assert len(errors) == THREADS
    assert all(isinstance(e, RuntimeError) and str(e) == "failed 1" for e in errors)
    info = failing.cache_info()
    assert (info.computations, info.errors, info.waits) == (1, 1, THREADS - 1)


def test_an_interrupted_computation_is_taken_up_by_a_waiter() -> None:
    entered = threading.Event()
    waiting = threading.Event()
    calls: list[str] = []

    @memoize(MemoryStore[str, str]())
    def compute(who: str) -> str:
        calls.append(who)
        if len(calls) == 1:
            entered.set()
            waiting.wait(10)
            raise KeyboardInterrupt  # not an outcome of the function: the waiter computes
        return who

    results: list[str] = []

    def waiter() -> None:
        entered.wait(10)
        thread = threading.Thread(target=lambda: results.append(compute("x")))
        thread.start()
        deadline = time.monotonic() + 10
        while compute.cache_info().waits < 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        waiting.set()
        thread.join()

    other = threading.Thread(target=waiter)
    other.start()
    with pytest.raises(KeyboardInterrupt):
        compute("x")
    other.join()
    assert results == ["x"]
    assert calls == ["x", "x"]


def _start_workers(
    url: str, directory: Path, threads: int, lease_timeout: float
) -> list[subprocess.Popen[str]]:
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.memoize_worker",
                url,
                str(directory),
                str(threads),
                str(lease_timeout),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    deadline = time.monotonic() + 60
    while len(list(directory.glob("ready-*"))) < PROCESSES:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            for w in workers:
                w.kill()
            raise AssertionError([w.communicate() for w in workers])
        time.sleep(0.01)
    (directory / "go").touch()
    return workers


def _four_processes_compute_once(url: str, directory: Path) -> None:
    workers = _start_workers(url, directory, threads=4, lease_timeout=30.0)
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))
    computed = (directory / "computations").read_text().split()
    assert len(computed) == 1
    expected = f"report by {computed[0]}"
    assert [r["results"] for r in reports] == [[expected] * 4] * PROCESSES
    assert sum(r["computations"] for r in reports) == 1


def _url(backend: str, directory: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory}/cache.db"
    url: str = request.getfixturevalue("redis_url")
    request.getfixturevalue("redis_server").command("FLUSHALL")
    return url


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_four_processes_compute_one_key_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _four_processes_compute_once(_url(backend, tmp_path, request), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_four_processes_compute_once_round_after_round(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for round_ in range(20):
        directory = tmp_path / str(round_)
        directory.mkdir()
        _four_processes_compute_once(_url(backend, directory, request), directory)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_killed_lease_holders_lease_is_taken_over_after_its_timeout(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/cache.db" if backend == "sqlite" else request.getfixturevalue("redis_url")
    errors = tmp_path / "holder.err"
    with errors.open("w") as stderr:
        holder = subprocess.Popen(
            [sys.executable, "-m", "tests.memoize_worker", url, str(tmp_path), "1", "1.5", "hang"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        for step in ("ready", "started"):
            if step == "started":
                (tmp_path / "go").touch()
            while not list(tmp_path.glob(f"{step}*")):
                assert holder.poll() is None, errors.read_text()
                assert time.monotonic() < deadline, f"the holder is not {step} after 60 s"
                time.sleep(0.01)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    store: Store[str, bytes] = nstore.open(url)
    survivor = slow_function(store, tmp_path, lease_timeout=1.5)
    lease = store["lease/" + survivor.cache_key("report")]
    assert str(holder.pid) in json.loads(lease)["holder"]
    assert survivor("report") == f"report by {os.getpid()}".encode()
    info = survivor.cache_info()
    assert (info.computations, info.takeovers) == (1, 1)
    assert "lease/" + survivor.cache_key("report") not in store  # released after the value was stored
    assert (tmp_path / "computations").read_text().split() == [str(holder.pid), str(os.getpid())]
    store.close()


def test_leases_exclude_another_memoized_function_over_the_same_key(tmp_path: Path) -> None:
    """Two memoized functions with their own flights stand for two processes; tuple keys too."""
    db = SQLiteStore(tmp_path / "cache.db")
    values = db.with_values(Msgspec(int))
    leases = db.with_keys(Prefix("memo/"))
    backend = MemoryStore[tuple[str, int], int]()
    calls: list[int] = []
    start = threading.Barrier(THREADS)

    def make(store: Store[str, int] | None) -> Callable[[int], int]:
        def square(n: int) -> int:
            calls.append(n)
            time.sleep(0.2)
            return n * n

        if store is None:
            return memoize(backend, key=lambda n: ("square", n), leases=leases, lease_poll=0.01)(square)
        return memoize(store, name="square", leases=leases, lease_poll=0.01)(square)

    def race(functions: list[Callable[[int], int]]) -> list[int]:
        results: list[int] = []

        def call(i: int) -> None:
            start.wait()
            results.append(functions[i % 2](7))

        assert run_threads(call, THREADS) == []
        return results

    assert race([make(values), make(values)]) == [49] * THREADS
    assert calls == [7]
    calls.clear()
    assert race([make(None), make(None)]) == [49] * THREADS
    assert calls == [7]
    assert list(leases.keys()) == []  # every lease released
    db.close()


def test_ttl_goes_through_redis_set(redis_url: str) -> None:
    store = RedisStore(redis_url)

    @memoize(store.with_values(Msgspec(int)), ttl=30, leases=store)
    def answer(question: str) -> int:
        return 42

    assert answer("life") == 42
    left = store.ttl(answer.cache_key("life"))
    assert left is not None
    assert 0 < left <= 30
    store.close()
