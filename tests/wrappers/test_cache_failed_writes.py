"""After a write to the primary that failed or did not happen, a read through the cache asks the primary.

Another process (or a writer around the CacheStore) may have changed the primary, so a failed
conditional write is the moment a cache learns that its value may be stale; a write that raised
may have reached the primary in part.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nstore import MemoryStore
from nstore.errors import MissingKey
from nstore.wrappers import CacheStore

MODES = pytest.mark.parametrize("write_behind", [False, True], ids=["sync", "write-behind"])


def _stale(write_behind: bool) -> tuple[CacheStore[str, bytes], MemoryStore[str, bytes]]:
    """A CacheStore whose cache holds k=1 while its primary was changed around it to k=2."""
    primary = MemoryStore[str, bytes]()
    store = CacheStore(primary, MemoryStore[str, bytes](), write_behind=write_behind)
    store["k"] = b"1"
    store.flush()
    primary["k"] = b"2"  # another writer
    assert store["k"] == b"1"  # the cache does not know yet
    return store, primary


@MODES
def test_a_failed_compare_and_set_forgets_the_cached_value(write_behind: bool) -> None:
    store, primary = _stale(write_behind)
    assert store.compare_and_set("k", b"1", b"3") is False
    assert store["k"] == b"2"
    assert store.get_many(["k"]) == {"k": b"2"}
    store.flush()
    assert store["k"] == b"2"
    assert store.compare_and_set("k", b"2", b"3") is True
    assert store["k"] == primary["k"] == b"3"
    store.close()


@MODES
def test_a_refused_set_if_absent_forgets_the_cached_value(write_behind: bool) -> None:
    store, _ = _stale(write_behind)
    assert store.set_if_absent("k", b"3") is False
    assert store["k"] == b"2"
    store.close()


@MODES
def test_a_failed_delete_forgets_the_cached_value(write_behind: bool) -> None:
    store, primary = _stale(write_behind)
    del primary["k"]
    with pytest.raises(MissingKey):
        del store["k"]
    assert "k" not in store
    with pytest.raises(MissingKey):
        store["k"]
    store.close()


# -- real processes ---------------------------------------------------------------------------------

COUNTER = textwrap.dedent(
    """
    import os, sys, time
    from nstore import MemoryStore
    from nstore.stores.sqlite import SQLiteStore
    from nstore.wrappers import CacheStore

    path, rounds, write_behind = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    store = CacheStore(SQLiteStore(path), MemoryStore[str, bytes](), write_behind=write_behind)
    store.set_if_absent("counter", b"0")
    store["counter"]  # cached from now on
    open(path + "." + str(os.getpid()), "w").close()  # ready
    while not os.path.exists(path + ".go"):
        time.sleep(0.005)
    for _ in range(rounds):
        for attempt in range(10_000):
            seen = store["counter"]
            if store.compare_and_set("counter", seen, str(int(seen) + 1).encode()):
                break
        else:
            print("livelocked: the cache kept serving", seen)
            sys.exit(3)
    store.close()
    """
)


@MODES
def test_cas_counter_across_four_processes_with_their_own_caches(tmp_path: Path, write_behind: bool) -> None:
    path, rounds = tmp_path / "counter.db", 200
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER, str(path), str(rounds), "1" if write_behind else "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("counter.db.*"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "counter.db.go").touch()  # all four start counting at once
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], outcomes
    from nstore.stores.sqlite import SQLiteStore

    with SQLiteStore(path) as store:
        assert store["counter"] == str(4 * rounds).encode()


PARTIAL = textwrap.dedent(
    """
    import resource, signal, sys
    from nstore import MemoryStore
    from nstore.errors import StoreError
    from nstore.stores.file import FileStore
    from nstore.wrappers import CacheStore

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    store = CacheStore(FileStore(sys.argv[1]), MemoryStore[str, bytes](), write_behind=sys.argv[2] == "1")
    store.set_many({"a/k": b"old", "b/k": b"old"})
    store.flush()
    # Files over 1 MiB fail (EFBIG): the batch writes directory a/ and then stops at b/.
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    try:
        store.set_many([("a/k", b"new"), ("b/k", bytes(2 << 20))])
    except StoreError:
        pass
    else:
        sys.exit("the batch did not fail")
    print(store["a/k"].decode(), store.store["a/k"].decode(), store["b/k"].decode())
    store.flush()
    print(store["a/k"].decode(), store.get_many(["a/k"])["a/k"].decode())
    store.close()
    """
)


@MODES
def test_a_file_store_batch_failing_part_way_leaves_no_stale_value(
    tmp_path: Path, write_behind: bool
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PARTIAL, str(tmp_path / "root"), "1" if write_behind else "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["new new old", "new new"]
