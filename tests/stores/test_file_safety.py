"""FileStore on a hostile root: refused keys, planted links, stale files, layout and errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nstore.errors import InvalidKey, InvalidValue, MissingKey, StoreClosed
from nstore.stores._filescan import SWEEP_AGE
from nstore.stores._paths import LOCK_NAME, RESERVED_PREFIX, TEMP_PREFIX
from nstore.stores.file import FileStore
from tests.stores.base import HOSTILE_KEYS

REFUSED = [
    "",
    ".",
    "..",
    "../escape",
    "a/../../escape",
    "/absolute",
    "/etc/passwd",
    "a//b",
    "trailing/",
    "back\\slash",
    "..\\escape",
    "nul\x00byte",
    "new\nline",
    "esc\x1b[0m",
    "c1\x85",
    "x" * 256,
    "dir/" + "é" * 128,
    "./dot",
    "a/./b",
    "lone\ud800surrogate",
    RESERVED_PREFIX + "tmp.1",
    "a/" + TEMP_PREFIX + "x",
    LOCK_NAME,
]
STORED = ["~home", "C:drive", "%2e%2e", "...", ".hidden", "a/.hidden", "x" * 255, "é" * 127]


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def _age(path: Path) -> None:
    """Make a file look left alone for longer than a sweep waits."""
    past = time.time() - 10 * SWEEP_AGE
    os.utime(path, (past, past))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.mark.parametrize("key", REFUSED, ids=repr)
def test_refused_keys_touch_nothing(tmp_path: Path, root: Path, key: str) -> None:
    with FileStore(root) as store:
        before = _tree(tmp_path)
        for write in (store.__setitem__, store.set_if_absent):
            with pytest.raises(InvalidKey) as info:
                write(key, b"v")
            assert "Expected a key" in str(info.value)
            assert str(root) not in str(info.value)
        with pytest.raises(InvalidKey):
            store.compare_and_set(key, b"v", b"w")
        with pytest.raises(InvalidKey):
            store[key]
        with pytest.raises(InvalidKey):
            del store[key]
        with pytest.raises(InvalidKey):
            store.set_many({"fine": b"1", key: b"2"})
        assert key not in store
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("key", [*STORED, *(k for k in HOSTILE_KEYS if k in {"~home", "C:drive", "%2e%2e"})])
def test_odd_but_safe_keys_are_stored_under_the_root(tmp_path: Path, root: Path, key: str) -> None:
    with FileStore(root) as store:
        store[key] = b"v"
        assert store[key] == b"v"
        assert list(store) == [key]
        del store[key]
        assert list(store) == []
    assert _tree(tmp_path) == {"root", "root/" + LOCK_NAME}


def test_non_str_keys_and_non_bytes_values(root: Path) -> None:
    with FileStore(root) as store:
        with pytest.raises(InvalidKey, match="Expected a str key"):
            store[1] = b"v"  # type: ignore[index]  # the wrong key type on purpose
        with pytest.raises(InvalidValue, match="Expected bytes"):
            store["k"] = "text"  # type: ignore[assignment]  # the wrong value type on purpose
        store["k"] = bytearray(b"ba")  # type: ignore[assignment]  # bytes-like values are taken
        assert store["k"] == b"ba"
        assert 1 not in store  # type: ignore[comparison-overlap]  # a wrong key type on purpose


def test_key_is_both_a_value_and_a_directory(root: Path) -> None:
    with FileStore(root) as store:
        store["a"] = b"parent"
        store["a/b"] = b"child"
        store["a/b/c"] = b"grandchild"
        assert list(store) == ["a", "a/b", "a/b/c"]
        del store["a/b"]
        assert store["a/b/c"] == b"grandchild"
        assert list(store.keys(prefix="a/")) == ["a/b/c"]
        assert (root / "a").read_bytes() == b"parent"
        assert (root / "a\\" / "b\\" / "c").read_bytes() == b"grandchild"


def test_listing_is_sorted_and_reads_only_the_prefix_directory(root: Path) -> None:
    keys = ["b", "a/z", "a-b", "a", "a/b/c", "a/b", "ab", "a.b", "é", "a/b-c"]
    with FileStore(root) as store:
        for key in keys:
            store[key] = b"x"
        assert list(store) == sorted(keys)
        # An unreadable sibling directory does not matter to a listing below "a/".
        (root / "zz\\").mkdir(mode=0)
        try:
            assert list(store.keys(prefix="a/b")) == ["a/b", "a/b-c", "a/b/c"]
        finally:
            (root / "zz\\").chmod(0o755)
        assert list(store.keys(prefix="../")) == []
        assert list(store.keys(prefix="a//")) == []
        assert list(store.keys(prefix="nothing/")) == []


def test_empty_directories_are_removed(root: Path) -> None:
    with FileStore(root) as store:
        store.set_many({"a/b/c/d": b"1", "a/b/x": b"2", "a/y": b"3"})
        del store["a/b/c/d"]
        assert _tree(root) == {LOCK_NAME, "a\\", "a\\/b\\", "a\\/b\\/x", "a\\/y"}
        store.delete_many(["a/b/x", "a/y"])
        assert _tree(root) == {LOCK_NAME}


def test_planted_directory_link_is_refused(tmp_path: Path, root: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    with FileStore(root) as store:
        (root / "evil\\").symlink_to(outside, target_is_directory=True)
        with pytest.raises(InvalidKey, match="symbolic link"):
            store["evil/secret"]
        with pytest.raises(InvalidKey, match="symbolic link"):
            store["evil/new"] = b"planted"
        with pytest.raises(InvalidKey, match="symbolic link"):
            store.set_many({"evil/new": b"planted"})
        with pytest.raises(InvalidKey, match="symbolic link"):
            del store["evil/secret"]
        with pytest.raises(InvalidKey, match="symbolic link"):
            store.get_many(["evil/secret"])
        with pytest.raises(InvalidKey, match="symbolic link"):
            store.delete_many(["evil/secret"])
        assert "evil/secret" not in store
        assert list(store) == []
        assert list(store.keys(prefix="evil/")) == []
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"secret"


def test_planted_file_link_is_never_followed(tmp_path: Path, root: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    with FileStore(root) as store:
        (root / "link").symlink_to(target)
        with pytest.raises(InvalidKey, match="symbolic link"):
            store["link"]
        assert "link" not in store
        assert list(store) == []
        with pytest.raises(InvalidKey, match="symbolic link"):
            store.compare_and_set("link", b"secret", b"x")
        # A write neither follows the link nor replaces it: a store removes only its own values.
        with pytest.raises(InvalidKey, match="symbolic link"):
            store["link"] = b"value"
        with pytest.raises(InvalidKey, match="symbolic link"):
            del store["link"]
        assert (root / "link").is_symlink()
    assert target.read_bytes() == b"secret"


def test_planted_fifo_and_directories_are_not_values(root: Path) -> None:
    with FileStore(root) as store:
        os.mkfifo(root / "fifo")
        with pytest.raises(InvalidKey):
            store["fifo"]  # must not hang
        (root / "dir").mkdir()
        with pytest.raises(MissingKey):
            store["dir"]
        with pytest.raises(InvalidKey, match="directory"):
            store["dir"] = b"v"
        with pytest.raises(InvalidKey, match="directory"):
            store.set_if_absent("dir", b"v")
        with pytest.raises(MissingKey):
            del store["dir"]
        assert list(store) == []
        assert sorted(p.name for p in root.iterdir() if p.name != LOCK_NAME) == ["dir", "fifo"]


def test_temp_files_are_not_listed_and_stale_ones_are_swept(root: Path) -> None:
    with FileStore(root) as store:
        store["a/b"] = b"v"
        stale = [root / (TEMP_PREFIX + "stale"), root / "a\\" / (TEMP_PREFIX + "stale")]
        for path in stale:
            path.write_bytes(b"torn")
        (root / "empty\\").mkdir()
        assert list(store) == ["a/b"]
        assert len(store) == 1
    with FileStore(root):
        assert all(path.exists() for path in stale)  # too recent: maybe a writer about to rename
    for path in stale:
        _age(path)
    with FileStore(root) as store:
        assert all(path.exists() for path in stale)  # opening touches nothing
        assert list(store) == ["a/b"]  # a listing sweeps what it meets
        # The empty directory was not emptied by this store: it stays.
        assert _tree(root) == {LOCK_NAME, "a\\", "a\\/b", "empty\\"}


def test_a_live_writers_temp_file_is_not_swept(root: Path) -> None:
    import fcntl

    root.mkdir()
    live = root / (TEMP_PREFIX + "live")
    fd = os.open(live, os.O_WRONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _age(live)
        with FileStore(root) as store:
            assert live.exists()
            assert list(store) == []
    finally:
        os.close(fd)
    with FileStore(root) as store:
        assert live.exists()
        assert store.sweep() == 1
        assert not live.exists()


def test_closed_store_refuses_everything(root: Path) -> None:
    store = FileStore(root)
    store.close()
    store.close()
    for call in (
        lambda: store["k"],
        lambda: store.__setitem__("k", b"v"),
        lambda: store.__delitem__("k"),
        lambda: "k" in store,
        lambda: list(store),
        lambda: store.get_many(["k"]),
        lambda: store.set_many({"k": b"v"}),
        lambda: store.delete_many(["k"]),
        lambda: store.set_if_absent("k", b"v"),
        lambda: store.compare_and_set("k", b"v", b"w"),
    ):
        with pytest.raises(StoreClosed):
            call()
    assert "closed" in repr(store)


def test_root_that_is_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    from nstore.errors import ConfigurationError

    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ConfigurationError, match="Expected a directory"):
        FileStore(tmp_path / "file")


def test_capabilities(root: Path) -> None:
    with FileStore(root, durable=False) as store:
        assert store.is_persistent is True
        assert store.supports_prefix_listing is True
        assert store.supports_atomic_writes is True
        assert store.is_remote is False
        assert store.durable is False


def test_set_many_last_pair_of_a_key_wins(root: Path) -> None:
    pairs = [(f"d/k{i % 5}", str(i).encode()) for i in range(20)] + [("a", b"1"), ("a", b"2")]
    with FileStore(root) as store:  # durable: the batch is written on threads
        store.set_many(pairs)
        assert store.get_many([f"d/k{i}" for i in range(5)]) == {
            f"d/k{i}": str(15 + i).encode() for i in range(5)
        }
        assert store["a"] == b"2"
        assert not list(root.rglob(TEMP_PREFIX + "*"))
