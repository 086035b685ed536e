"""A SQLiteStore opened with a relative path stays on that file after ``os.chdir``: the path is
made absolute once, at construction, for every thread's connection, the checkpoint thread's and
pickled copies."""

from __future__ import annotations

import os
import pickle
import threading
import time
from pathlib import Path

import pytest

from nstore.errors import ConfigurationError
from nstore.stores.sqlite import SQLiteStore


def test_a_relative_path_is_the_file_of_the_directory_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    store = SQLiteStore("data.db")
    store["k"] = b"before"
    monkeypatch.chdir(tmp_path / "b")
    seen: list[bytes | None] = []

    def work() -> None:  # this thread's first use comes after the chdir
        seen.append(store.get("k"))
        store["k2"] = b"from a thread"

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [b"before"]
    assert store["k2"] == b"from a thread"
    for i in range(200):  # wakes the checkpoint thread, which connects now
        store[f"n{i}"] = b"v" * 1000
    time.sleep(0.3)
    copy = pickle.loads(pickle.dumps(store))
    assert copy["k2"] == b"from a thread"
    copy.close()
    store.close()
    assert os.listdir(tmp_path / "b") == []
    assert os.path.join(tmp_path, "a", "data.db") in repr(store)


def test_a_path_that_is_no_file_name_text_is_refused(tmp_path: Path) -> None:
    for path in (str(tmp_path / "a\0b.db"), os.fsencode(tmp_path / "a.db")):
        with pytest.raises(ConfigurationError, match="Expected a file path"):
            SQLiteStore(path)  # type: ignore[arg-type]  # bytes on purpose
