"""FileStore values that are not bytes: InvalidValue (a StoreError and a TypeError), as on every
bytes store, from each write, including the expected value of a compare-and-set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nstore import Store
from nstore.errors import InvalidValue
from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore


def _writes(store: Store[str, bytes], value: Any) -> list[Callable[[], object]]:
    return [
        lambda: store.__setitem__("k", value),
        lambda: store.set_many({"k": value}),
        lambda: store.set_if_absent("new", value),
        lambda: store.compare_and_set("k", b"v", value),
        lambda: store.compare_and_set("k", value, b"w"),
        lambda: store.compare_and_set("absent", value, b"w"),
    ]


@pytest.mark.parametrize("value", ["text", 1, None], ids=repr)
def test_a_value_that_is_not_bytes_is_an_invalid_value_as_on_sqlite(tmp_path: Path, value: Any) -> None:
    with FileStore(tmp_path / "files") as files, SQLiteStore(tmp_path / "s.db") as sqlite:
        for store in (files, sqlite):
            store["k"] = b"v"
            for write in _writes(store, value):
                with pytest.raises(InvalidValue, match="Expected bytes"):
                    write()
            assert store["k"] == b"v"
            assert "new" not in store
            assert "absent" not in store
