"""FileStore's constructor arguments and listing prefixes: bad ones are nstore errors, and a
relative root means the directory it meant when the store was made."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

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
