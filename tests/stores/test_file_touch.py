"""What a FileStore may touch under its root: only its own files, and only when it must."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from nstore.stores._filescan import SWEEP_AGE
from nstore.stores._paths import LOCK_NAME, TEMP_PREFIX
from nstore.stores.file import FileStore

FOREIGN_DIRS = [".git/refs/tags", "maildir/new", "album", "a\\/empty-album"]


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def _stale(path: Path) -> Path:
    path.write_bytes(b"torn")
    past = time.time() - 10 * SWEEP_AGE
    os.utime(path, (past, past))
    return path


def test_opening_leaves_foreign_empty_directories_and_stale_files_alone(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for name in FOREIGN_DIRS:
        (root / name).mkdir(parents=True)
    (root / "a\\" / "b").write_bytes(b"v")
    stale = _stale(root / "a\\" / (TEMP_PREFIX + "1.2.x"))
    before = _tree(root)
    for _ in range(2):
        with FileStore(root) as store:
            assert store["a/b"] == b"v"
    # Opening walks nothing: not even the stale temporary file of a crashed writer is touched.
    assert _tree(root) == before
    assert stale.exists()


def test_deletes_remove_only_the_directories_they_emptied(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a\\").mkdir(parents=True)
    (root / "x\\" / "y\\").mkdir(parents=True)  # empty, left by someone else
    with FileStore(root) as store:
        store["a/k"] = b"v"
        del store["a/k"]
        store.delete_many(["x/y/nothing", "x/nothing"])
        with pytest.raises(KeyError):
            del store["x/y/nothing"]
    assert _tree(root) == {LOCK_NAME, "x\\", "x\\/y\\"}


def test_listing_sweeps_stale_temp_files_of_the_directories_it_reads(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "new").mkdir(parents=True)
    with FileStore(root) as store:
        store.set_many({"a/b": b"1", "c/d": b"2"})
        in_a = _stale(root / "a\\" / (TEMP_PREFIX + "1.2.x"))
        in_c = _stale(root / "c\\" / (TEMP_PREFIX + "1.2.x"))
        fresh = root / "c\\" / (TEMP_PREFIX + "3.4.x")
        fresh.write_bytes(b"maybe a writer about to rename")
        foreign = _stale(root / "new" / (TEMP_PREFIX + "1.2.x"))
        assert list(store.keys(prefix="a/")) == ["a/b"]
        assert not in_a.exists()
        assert in_c.exists()  # its directory was not listed
        assert list(store) == ["a/b", "c/d"]
        assert not in_c.exists()
        assert fresh.exists()
        assert foreign.exists()  # not a directory of the store's


def test_sweep_removes_stale_temp_files_and_the_directories_it_emptied(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "album").mkdir(parents=True)
    (root / "p\\" / "q\\").mkdir(parents=True)
    stale = [_stale(root / (TEMP_PREFIX + "1")), _stale(root / "p\\" / "q\\" / (TEMP_PREFIX + "2"))]
    (root / "keep\\").mkdir()
    with FileStore(root) as store:
        store["k/v"] = b"1"
        live = _stale(root / "k\\" / (TEMP_PREFIX + "3"))
        import fcntl

        fd = os.open(live, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            assert store.sweep() == 2
        finally:
            os.close(fd)
        assert not any(path.exists() for path in stale)
        assert live.exists()
        assert store.sweep() == 1
    # p\ and q\ held only the crashed writer's file; keep\ and album were empty before.
    assert _tree(root) == {LOCK_NAME, "album", "keep\\", "k\\", "k\\/v"}


def _specials(root: Path) -> list[str]:
    import socket

    os.mkfifo(root / "fifo")
    (root / "d\\").mkdir()
    os.mkfifo(root / "d\\" / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "sock"))
    finally:
        sock.close()
    (root / "link").symlink_to(root / "elsewhere")
    return ["fifo", "d/fifo", "sock", "link"]


def test_special_files_are_never_values_and_never_removed(tmp_path: Path) -> None:
    from nstore.errors import InvalidKey

    root = tmp_path / "root"
    root.mkdir()
    keys = _specials(root)
    before = _tree(root)
    with FileStore(root) as store:
        for key in keys:
            assert key not in store
            with pytest.raises(InvalidKey, match="special file"):
                store[key]
            with pytest.raises(InvalidKey, match="special file"):
                del store[key]
            with pytest.raises(InvalidKey, match="special file"):
                store.delete_many([key])
            with pytest.raises(InvalidKey, match="special file"):
                store[key] = b"v"
            with pytest.raises(InvalidKey, match="special file"):
                store.set_many({key: b"v"})
            with pytest.raises(InvalidKey, match="special file"):
                store.set_if_absent(key, b"v")
            with pytest.raises(InvalidKey, match="special file"):
                store.compare_and_set(key, b"", b"v")
            with pytest.raises(InvalidKey, match="special file"):
                store.get_many([key])
        assert list(store) == []
    assert _tree(root) - {LOCK_NAME} == before


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_store_dropped_without_close_releases_its_descriptors(tmp_path: Path) -> None:
    import gc

    root = tmp_path / "root"
    with FileStore(root) as store:
        store["k"] = b"v"
    gc.collect()
    before = _open_fds()
    for i in range(100):
        dropped = FileStore(root)
        dropped[f"k{i}"] = b"v"  # takes the lock: a second descriptor
        assert dropped["k"] == b"v"
    del dropped
    gc.collect()
    assert _open_fds() <= before + 1


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("file:///srv/data", "FileStore('/srv/data')"),
        ("file:relative", "nstore.open"),
        ("memory://", "MemoryStore"),
    ],
)
def test_a_url_is_refused_with_what_to_write_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, hint: str
) -> None:
    from nstore.errors import ConfigurationError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=re.escape(hint)):
        FileStore(url)
    assert list(tmp_path.iterdir()) == []
    with FileStore("C:drive") as store:  # a relative path with a colon is still a path
        store["k"] = b"v"


def _snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(root)): (p.lstat().st_mode, p.lstat().st_mtime) for p in root.rglob("*")}


def test_read_only_changes_nothing_on_disk(tmp_path: Path) -> None:
    from nstore.errors import ConfigurationError, ReadOnlyError

    with pytest.raises(ConfigurationError, match="existing directory"):
        FileStore(tmp_path / "missing", read_only=True)
    assert not (tmp_path / "missing").exists()
    root = tmp_path / "root"
    with FileStore(root) as store:
        store.set_many({"a/b": b"1", "c": b"2"})
    (root / LOCK_NAME).unlink()
    stale = _stale(root / "a\\" / (TEMP_PREFIX + "1.2.x"))
    before = _snapshot(root)
    with FileStore(root, read_only=True) as store:
        assert store.read_only is True
        assert list(store) == ["a/b", "c"]
        assert store["a/b"] == b"1"
        assert store.get_many(["a/b", "c"]) == {"a/b": b"1", "c": b"2"}
        assert "c" in store
        for write in (
            lambda: store.__setitem__("n", b"v"),
            lambda: store.set_many({"n": b"v"}),
            lambda: store.__delitem__("c"),
            lambda: store.delete_many(["c"]),
            lambda: store.set_if_absent("n", b"v"),
            lambda: store.compare_and_set("c", b"2", b"3"),
            store.sweep,
        ):
            with pytest.raises(ReadOnlyError, match="read_only"):
                write()
        assert "read_only=True" in repr(store)
    assert _snapshot(root) == before
    assert stale.exists()
