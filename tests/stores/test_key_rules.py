"""The key rules every ``Store[str, bytes]`` backend shares, with the same errors on each.

A backend key is a ``str`` that is valid Unicode text (it encodes to UTF-8: no lone surrogate).
A key that is not raises :class:`~nstore.errors.InvalidKey` from every write, single or bulk; a
membership test says False, and a read raises InvalidKey or finds nothing; nothing is written. Real
backends: SQLite and files in tmp_path, a real redis-server, and an HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nstore import MemoryStore, Store
from nstore.errors import InvalidKey
from nstore.server import serve_in_thread
from nstore.stores.file import FileStore
from nstore.stores.http import HTTPStore
from nstore.stores.redis import RedisStore
from nstore.stores.sqlite import SQLiteStore

SURROGATES = ["\ud800", "\udc80", "a\udfffb", "\udcff/x"]
NOT_STR: list[Any] = [1, b"bytes", None, ("a",)]


@pytest.fixture(params=["sqlite", "file", "redis", "http"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store[str, bytes]]:
    if request.param == "sqlite":
        with SQLiteStore(tmp_path / "s.db") as sqlite:
            yield sqlite
    elif request.param == "file":
        with FileStore(tmp_path / "files") as files:
            yield files
    elif request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        with RedisStore(url, prefix=f"rules-{tmp_path.name}:") as redis:
            yield redis
            redis.delete_many(list(redis))
    else:
        with serve_in_thread(MemoryStore[str, bytes]()) as server, HTTPStore(server.url) as http:
            yield http


@pytest.mark.parametrize("key", SURROGATES, ids=ascii)
def test_a_lone_surrogate_is_an_invalid_key(store: Store[str, bytes], key: str) -> None:
    with pytest.raises(InvalidKey):
        store[key] = b"v"
    with pytest.raises(InvalidKey):
        store.set_many({"good": b"1", key: b"2"})
    with pytest.raises((InvalidKey, KeyError)):
        store[key]
    assert key not in store
    with contextlib.suppress(InvalidKey):  # a read may refuse the key as well as find nothing
        assert store.get_many([key]) == {}
    with contextlib.suppress(InvalidKey):
        assert list(store.keys(prefix=key)) == []
    assert list(store) in ([], ["good"])  # a bulk write refused as a whole, or before the bad key


@pytest.mark.parametrize("key", NOT_STR, ids=repr)
def test_a_key_that_is_not_a_str_is_an_invalid_key(store: Store[str, bytes], key: Any) -> None:
    with pytest.raises(InvalidKey):
        store[key] = b"v"
    with pytest.raises(InvalidKey):
        store.set_many({key: b"v"})
    with pytest.raises(InvalidKey):
        store[key]
    with pytest.raises(InvalidKey):
        del store[key]
    assert key not in store
    assert list(store) == []
