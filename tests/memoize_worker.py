"""A process for the memoize tests: threads that call one slow memoized function, over a URL.

``python -m tests.memoize_worker URL DIRECTORY THREADS LEASE_TIMEOUT [hang]`` opens the store at
URL (values and leases in it), writes ``ready-<pid>`` in DIRECTORY, waits for ``go`` there, then
calls ``slow("report")`` from THREADS threads and prints their results and the statistics as
JSON. Each computation appends a line to ``DIRECTORY/computations``. With ``hang``, the
computation writes ``DIRECTORY/started`` and never ends (the test kills the process).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import nstore
from nstore import Memoized, Store, memoize


def slow_function(
    store: Store[str, bytes], directory: Path, lease_timeout: float, *, hang: bool = False
) -> Memoized[[str], str, bytes]:
    @memoize(store, name="tests.slow", ttl=600, leases=store, lease_timeout=lease_timeout, lease_poll=0.02)
    def slow(what: str) -> bytes:
        with open(directory / "computations", "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()}\n")
        if hang:
            (directory / "started").touch()
            time.sleep(3600)
        time.sleep(0.3)
        return f"{what} by {os.getpid()}".encode()

    return slow


def main(url: str, directory: Path, threads: int, lease_timeout: float, hang: bool) -> None:
    store: Store[str, bytes] = nstore.open(url)
    slow = slow_function(store, directory, lease_timeout, hang=hang)
    (directory / f"ready-{os.getpid()}").touch()
    while not (directory / "go").exists():
        time.sleep(0.005)
    results: list[str] = []

    def call() -> None:
        results.append(slow("report").decode())

    running = [threading.Thread(target=call) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    info = slow.cache_info()
    print(json.dumps({"results": results, "computations": info.computations, "waits": info.waits}))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:] == ["hang"])
