"""FileStore listings on directories the process may not read: a StoreError, never a silent gap.

The checks run in a child process as an unprivileged user (it drops to ``nobody`` when the tests
run as root, whom no permission stops), on a root under a fresh directory it can reach.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    r"""
    import json, os, pwd, sys
    from nstore.errors import NStoreError, StoreError
    from nstore.stores.file import FileStore

    root = sys.argv[1]
    if os.geteuid() == 0:  # no permission stops root: drop to an unprivileged user
        nobody = pwd.getpwnam("nobody")
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    store = FileStore(root, durable=False)
    store.set_many({"a/1": b"x", "a/2": b"y", "b": b"z", "c/d/e": b"w"})
    results = {}

    def run(name, f):
        try:
            results[name] = ["ok", repr(f())]
        except StoreError as exc:
            results[name] = ["StoreError", str(exc)]
        except NStoreError as exc:
            results[name] = [type(exc).__name__, str(exc)]
        except Exception as exc:
            results[name] = ["raw " + type(exc).__name__, str(exc)]

    def lists(tag, prefix=None):
        run(f"keys {tag}", lambda: list(store.keys(prefix=prefix)))
        run(f"len {tag}", lambda: store.count_keys(prefix))
        run(f"page {tag}", lambda: store.keys_page(prefix, limit=10))
        run(f"cursor {tag}", lambda: store.keys_page(prefix, cursor=(prefix or "") + "0", limit=10))

    os.chmod(os.path.join(root, "a\\"), 0o000)  # a directory of keys it may not read
    lists("a/")
    run("sweep", store.sweep)
    run("keys b", lambda: list(store.keys(prefix="b")))  # reads only the root
    os.chmod(os.path.join(root, "a\\"), 0o700)
    os.chmod(os.path.join(root, "c\\", "d\\"), 0o300)  # may enter, may not read
    lists("c/d/", "c/")
    run("sweep c/d", store.sweep)
    os.chmod(os.path.join(root, "c\\", "d\\"), 0o700)
    os.chmod(root, 0o300)  # the root itself
    lists("root")
    run("sweep root", store.sweep)
    run("get b", lambda: store["b"])
    os.chmod(root, 0o700)
    run("all again", lambda: list(store.keys()))
    print(json.dumps(results))
    """
)


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A directory an unprivileged user can reach and write."""
    path = Path(tempfile.mkdtemp(prefix="nstore-perms-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _run_unprivileged(root: Path) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, list[str]] = json.loads(done.stdout)
    return results


def test_an_unreadable_directory_fails_the_listing_with_a_store_error(reachable: Path) -> None:
    root = reachable / "root"
    results = _run_unprivileged(root)
    failing = [
        *(f"{what} {tag}" for what in ("keys", "len", "page", "cursor") for tag in ("a/", "c/d/", "root")),
        "sweep",
        "sweep c/d",
        "sweep root",
    ]
    for name in failing:
        kind, message = results[name]
        assert kind == "StoreError", (name, kind, message)
        assert "Permission denied (EACCES)" in message, (name, message)
        assert str(reachable) not in message, (name, message)
        assert "\\" not in message, (name, message)  # names keys, not directories on disk
    assert "keys under 'a/'" in results["keys a/"][1]  # says which keys could not be listed
    assert "keys under 'c/d/'" in results["keys c/d/"][1]
    assert "store's root" in results["keys root"][1]
    assert results["keys b"] == ["ok", "['b']"]
    assert results["get b"] == ["ok", "b'z'"]
    assert results["all again"] == ["ok", repr(["a/1", "a/2", "b", "c/d/e"])]
