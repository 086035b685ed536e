"""A write-behind CacheStore inherited across os.fork(): its worker thread stayed in the parent, so
the child gets a StoreError at every use (never a hang), and the parent's store goes on working.

The fork happens in a child Python process of the test, never in the test process itself."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import weakref

import pytest

from nstore import MemoryStore
from nstore.wrappers import CacheStore

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

FORKED = textwrap.dedent(
    """
    import os, signal, sys, time
    from nstore import MemoryStore
    from nstore.errors import StoreError
    from nstore.wrappers import CacheStore, ForwardingStore

    class Slow(ForwardingStore):
        def set_many(self, items, /, *, ttl=None):
            time.sleep(0.05)
            super().set_many(items, ttl=ttl)

    primary, cache = MemoryStore(), MemoryStore()
    store = CacheStore(primary, Slow(cache), write_behind=True, queue_size=2)
    store["a"] = b"1"
    store.flush()
    for i in range(3):
        store[f"q{i}"] = b"queued"  # still queued, or being written, at the fork
    pid = os.fork()
    if pid == 0:
        signal.alarm(10)  # a hang kills the child
        steps = [
            ("get", lambda: store["a"]),
            ("set", lambda: store.__setitem__("b", b"2")),
            ("get_many", lambda: store.get_many(["a"])),
            ("in", lambda: "a" in store),
            ("len", lambda: len(store)),
            ("flush", store.flush),
            *[("set", lambda: store.__setitem__("c", b"3"))] * 5,
        ]
        for name, step in steps:
            try:
                step()
                print(name, "returned")
            except StoreError as exc:
                print(name, "StoreError", "after fork" in str(exc) and "Create the CacheStore" in str(exc))
        print("wrote", primary.get("b"), primary.get("c"))
        store.close()  # closes the caches and the primary; the parent's worker is not touched
        print("closed")
        sys.stdout.flush()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
    store["p"] = b"parent"
    store.flush()
    print("parent", cache.get("q2"), cache.get("p"), store["p"])
    store.close()
    """
)


def test_a_forked_child_gets_a_store_error_at_every_use_and_the_parent_goes_on() -> None:
    out = subprocess.run([sys.executable, "-c", FORKED], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    names = ["get", "set", "get_many", "in", "len", "flush", *["set"] * 5]
    assert lines[: len(names)] == [f"{name} StoreError True" for name in names], out.stdout
    parent = "parent b'queued' b'parent' b'parent'"  # the parent's queued writes, and a new one
    assert lines[len(names) :] == ["wrote None None", "closed", "child 0", parent]


def test_the_fork_hook_does_not_keep_a_store_alive() -> None:
    store = CacheStore(MemoryStore[str, bytes](), MemoryStore[str, bytes](), write_behind=True)
    store["k"] = b"v"
    gone = weakref.ref(store)
    del store
    gc.collect()
    assert gone() is None
