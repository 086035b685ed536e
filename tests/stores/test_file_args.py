"""FileStore's constructor arguments and listing prefixes: bad ones are nstore errors, and a
relative root means the directory it meant when the store was made."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nstore.errors import ConfigurationError, InvalidKey
from nstore.stores.file import FileStore


def test_a_relative_root_is_made_absolute_and_pickles_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    with FileStore("data") as store:
        store["k"] = b"v"
        assert store.root == tmp_path / "a" / "data"
        assert store.root.is_absolute()
        monkeypatch.chdir(tmp_path / "b")
        with pickle.loads(pickle.dumps(store)) as copy:
            assert copy.root == tmp_path / "a" / "data"
            assert copy["k"] == b"v"
        assert str(tmp_path / "a" / "data") in repr(store)
    assert os.listdir(tmp_path / "b") == []  # nothing was created in the new working directory


class _BytesPath:
    def __fspath__(self) -> bytes:
        return b"/tmp/x"


@pytest.mark.parametrize(
    ("root", "says"),
    [
        (None, "Got NoneType instead"),
        (123, "Got int instead"),
        (b"/tmp/bytes-root", "Got bytes instead; decode it with os.fsdecode"),
        (_BytesPath(), "Got bytes instead; decode it with os.fsdecode"),
        ("", "pass '.' for the current directory"),
        ("a\x00b", "NUL"),
        ("lone\ud800", "cannot be encoded"),
    ],
    ids=["None", "int", "bytes", "bytes-pathlike", "empty", "nul", "surrogate"],
)
def test_a_bad_root_is_a_configuration_error_that_touches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: object, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="Expected") as info:
        FileStore(root)  # type: ignore[arg-type]  # the wrong root on purpose
    assert says in str(info.value)
    assert os.listdir(tmp_path) == []


def test_the_current_directory_is_spelled_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with FileStore(".") as store:
        assert store.root == tmp_path


@pytest.mark.parametrize("prefix", [b"a", 1, ("a",), b""], ids=repr)
def test_a_prefix_that_is_not_a_str_is_an_invalid_key(tmp_path: Path, prefix: Any) -> None:
    with FileStore(tmp_path / "root") as store:
        store.set_many({"a/b": b"1", "ab": b"2"})
        calls: dict[str, Callable[[], object]] = {
            "keys": lambda: list(store.keys(prefix=prefix)),
            "iter_keys": lambda: list(store.iter_keys(prefix)),
            "count_keys": lambda: store.count_keys(prefix),
            "keys_page": lambda: store.keys_page(prefix),
        }
        for name, call in calls.items():
            with pytest.raises(InvalidKey, match="Expected a str prefix") as info:
                call()
            assert type(prefix).__name__ in str(info.value), name
        assert list(store.keys(prefix=None)) == ["a/b", "ab"]
        assert list(store.keys(prefix="")) == ["a/b", "ab"]
