"""FileStore name lengths: the key rule and the names on disk agree, so a valid key is storable."""

from __future__ import annotations

from pathlib import Path

import pytest

from nstore.errors import InvalidKey
from nstore.stores.file import FileStore


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


@pytest.mark.parametrize("name", ["x" * 255, "é" * 127 + "x", "x" * 300], ids=lambda n: f"{len(n.encode())}B")
def test_a_directory_name_with_no_room_for_the_suffix_is_refused_before_anything_is_touched(
    tmp_path: Path, name: str
) -> None:
    with FileStore(tmp_path / "root") as store:
        before = _tree(tmp_path)
        for key in (name + "/y", "a/" + name + "/y"):
            with pytest.raises(InvalidKey, match="254") as info:
                store[key] = b"v"
            assert "Expected a key" in str(info.value)
            assert str(tmp_path) not in str(info.value)
            with pytest.raises(InvalidKey):
                store.set_many({"fine": b"1", key: b"2"})
            with pytest.raises(InvalidKey):
                store[key]
            assert key not in store
            assert list(store.keys(prefix=name + "/")) == []
        assert _tree(tmp_path) == before


@pytest.mark.parametrize("name", ["x" * 254, "é" * 127], ids=lambda n: f"{len(n.encode())}B")
def test_the_longest_directory_name_and_the_longest_file_name_are_stored(tmp_path: Path, name: str) -> None:
    with FileStore(tmp_path / "root") as store:
        key = name + "/" + "f" * 255
        store[key] = b"v"
        assert store[key] == b"v"
        assert list(store.keys(prefix=name + "/")) == [key]
        assert list(store) == [key]
        del store[key]
        assert list(store) == []
