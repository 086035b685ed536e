"""Keys with a lone surrogate (not encodable as UTF-8) in every method of SQLiteStore: a read
finds nothing (no stored key has one), a write is refused with InvalidKey; never a raw
UnicodeEncodeError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nstore.errors import InvalidKey, MissingKey
from nstore.stores.sqlite import SQLiteStore

KEY = "bad\ud800"

READS: dict[str, Callable[[SQLiteStore], Any]] = {
    "getitem": lambda s: s[KEY],
    "get_with_version": lambda s: s.get_with_version(KEY),
    "ttl": lambda s: s.ttl(KEY),
    "touch": lambda s: s.touch(KEY, ttl=5),
    "delitem": lambda s: s.__delitem__(KEY),
}
WRITES: dict[str, Callable[[SQLiteStore], Any]] = {
    "setitem": lambda s: s.__setitem__(KEY, b"v"),
    "set ttl": lambda s: s.set(KEY, b"v", ttl=5),
    "set_many": lambda s: s.set_many({KEY: b"v"}),
    "set_if_absent": lambda s: s.set_if_absent(KEY, b"v"),
    "compare_and_set": lambda s: s.compare_and_set(KEY, b"a", b"v"),
    "compare_and_set_version": lambda s: s.compare_and_set_version(KEY, 5, b"v"),
    "delete_many": lambda s: s.delete_many([KEY]),
}


@pytest.fixture(params=[None, 100_000], ids=["unbounded", "bounded"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    with SQLiteStore(tmp_path / "d.db", max_bytes=request.param) as opened:
        opened["x"] = b"1"
        yield opened


@pytest.mark.parametrize("name", READS)
def test_a_read_of_a_surrogate_key_finds_nothing(store: SQLiteStore, name: str) -> None:
    with pytest.raises((MissingKey, InvalidKey)):
        READS[name](store)


@pytest.mark.parametrize("name", WRITES)
def test_a_write_of_a_surrogate_key_is_refused(store: SQLiteStore, name: str) -> None:
    with pytest.raises(InvalidKey):
        WRITES[name](store)
    assert list(store) == ["x"]


def test_get_with_version_of_a_surrogate_key_is_missing(store: SQLiteStore) -> None:
    with pytest.raises(MissingKey):
        store.get_with_version(KEY)
    assert KEY not in store
    assert store.get(KEY) is None
    with pytest.raises(InvalidKey):  # as the key rules of every store allow
        store.get_many([KEY])
    assert store.count_keys(KEY) == 0
    assert list(store.iter_keys(KEY)) == []
    assert store.keys_page(KEY).keys == []
    assert store.keys_page(cursor=KEY).keys == []
