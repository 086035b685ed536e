"""FileStore keys of many levels: listings, pages and sweeps work at any depth a write takes.

A walk goes down and back up the tree with one directory descriptor of its own, so neither
Python's recursion limit nor the limit on open files bounds the depth of a listing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nstore.errors import StoreError
from nstore.stores._filescan import SWEEP_AGE
from nstore.stores._paths import LOCK_NAME, TEMP_PREFIX
from nstore.stores.file import FileStore

DEPTH = 1200  # past Python's default recursion limit of 1000


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """The store's root, removed whatever the test left: shutil.rmtree (as pytest cleans up with)
    recurses, and fails on a tree this deep."""
    path = tmp_path / "root"
    try:
        yield path
    finally:
        subprocess.run(["rm", "-rf", str(path)], check=True)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _deep_keys(depth: int, every: int = 1) -> list[str]:
    """A chain ``a/a/.../a`` with a value and a sibling directory every ``every`` levels."""
    keys = ["a/" * (depth - 1) + "a"]
    for level in range(0, depth, every):
        base = "a/" * level
        keys += [base + "b/c", base + "z"]
    return sorted(keys)


def test_a_deep_tree_is_listed_counted_paged_and_swept(root: Path) -> None:
    keys = _deep_keys(DEPTH, every=50)  # each write of a deep key opens all its directories
    with FileStore(root, durable=False) as store:
        store.set_many({key: key.encode() for key in keys})
        assert list(store.keys()) == keys
        assert len(store) == len(keys)
        assert store.count_keys("a/a/") == sum(1 for k in keys if k.startswith("a/a/"))
        assert list(store.keys(prefix="a/" * 50 + "b")) == ["a/" * 50 + "b/c"]
        paged: list[str] = []
        cursor = None
        while True:
            page = store.keys_page(cursor=cursor, limit=997)
            paged += page.keys
            if page.cursor is None:
                break
            cursor = page.cursor
        assert paged == keys
        deepest = "a/" * (DEPTH - 50) + "b/c"
        assert store.keys_page(cursor=deepest, limit=3).keys == [k for k in keys if k > deepest][:3]
        # a crashed writer's file at the bottom: the sweep removes it, and nothing else
        stale = root.joinpath(*["a\\"] * (DEPTH - 50), "b\\", TEMP_PREFIX + "1.1.x")
        stale.write_bytes(b"torn")
        past = time.time() - 10 * SWEEP_AGE
        os.utime(stale, (past, past))
        assert store.sweep() == 1
        assert not stale.exists()
        assert list(store.keys()) == keys
        store.delete_many(keys)
        assert list(store.keys()) == []
        assert sorted(os.listdir(root)) == [LOCK_NAME]


def test_a_sweep_removes_the_deep_directories_it_emptied(root: Path) -> None:
    with FileStore(root, durable=False) as store:
        store["keep/" + "d/" * DEPTH + "v"] = b"v"
        bottom = root.joinpath("keep\\", *["d\\"] * DEPTH)
        stale = bottom / "e\\" / (TEMP_PREFIX + "1.1.x")
        stale.parent.mkdir()
        stale.write_bytes(b"torn")
        past = time.time() - 10 * SWEEP_AGE
        os.utime(stale, (past, past))
        assert store.sweep() == 1
        assert not stale.parent.exists()  # emptied by the sweep
        assert list(store.keys()) == ["keep/" + "d/" * DEPTH + "v"]


def test_a_listing_holds_one_directory_open_at_any_depth(root: Path) -> None:
    with FileStore(root, durable=False) as store:
        store.set_many(dict.fromkeys(_deep_keys(300), b"v"))
        before = _open_fds()
        walk = store.iter_keys()
        most = 0
        for _ in walk:
            most = max(most, _open_fds() - before)
        assert most <= 1
        assert _open_fds() == before


CHILD = textwrap.dedent(
    r"""
    import json, os, resource, sys
    from nstore.errors import NStoreError
    from nstore.stores.file import FileStore

    resource.setrlimit(resource.RLIMIT_NOFILE, (300, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    store = FileStore(sys.argv[1], durable=False)
    keys = sorted("a/" * level + name for level in range(200) for name in ("b/c", "z"))
    store.set_many(dict.fromkeys(keys, b"v"))
    results = {"listed": list(store.keys()) == keys, "count": len(store), "swept": store.sweep()}
    held = []
    try:
        while True:
            held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        pass
    os.close(held.pop())  # one descriptor free: the listing's own, not the one scandir needs
    for name, call in [("list", lambda: list(store.keys())), ("sweep", store.sweep)]:
        try:
            results[name] = ["ok", len(call())]
        except NStoreError as exc:
            results[name] = [type(exc).__name__, str(exc)]
        except Exception as exc:
            results[name] = ["raw " + type(exc).__name__, str(exc)]
    print(json.dumps(results))
    """
)


def test_a_low_limit_on_open_files_lists_deep_trees_or_raises_a_store_error(root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["listed"] is True  # 200 levels under a limit of 300 open files
    assert results["count"] == 400
    assert results["swept"] == 0
    for name in ("list", "sweep"):
        kind, message = results[name]
        assert kind == StoreError.__name__, (name, kind, message)
        assert "(EMFILE)" in message, message
        assert "ulimit -n" in message, message


def test_a_directory_moved_out_during_a_listing_does_not_lead_the_walk_out(tmp_path: Path) -> None:
    with FileStore(tmp_path / "root", durable=False) as store:
        store.set_many({"p/q/1": b"v", "p/r/1": b"v"})
        (tmp_path / "r\\").mkdir()
        (tmp_path / "r\\" / "secret").write_bytes(b"outside the root")
        walk = store.iter_keys()
        assert next(walk) == "p/q/1"  # the walk is in p/q/ now
        (tmp_path / "root" / "p\\" / "q\\").rename(tmp_path / "q\\")  # its '..' is outside now
        assert list(walk) == ["p/r/1"]


def test_directories_moved_away_during_a_listing_are_left_out_not_looked_for_elsewhere(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    with FileStore(root, durable=False) as store:
        store.set_many({"p/q/r/s/1": b"v", "p/q/r/z/1": b"v", "p/q/y/1": b"v"})
        store["y/planted"] = b"v"  # where p/q/y/ would be if the walk lost its place
        walk = store.iter_keys()
        assert next(walk) == "p/q/r/s/1"  # the walk is in p/q/r/s/ now
        (root / "p\\" / "q\\" / "r\\" / "s\\").rename(tmp_path / "s\\")  # its '..' is elsewhere now
        (root / "p\\").rename(root / "P\\")  # and the way down again is gone
        assert list(walk) == ["y/planted"]
