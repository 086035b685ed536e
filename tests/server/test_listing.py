"""The listing endpoint serves each page from the store's cursor: a page costs one page."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from nstore import Store
from nstore.server import serve_in_thread
from nstore.store import KeyPage
from nstore.stores.http import HTTPStore
from nstore.stores.sqlite import SQLiteStore
from nstore.wrappers import ForwardingStore


class _NoFullWalks(ForwardingStore[str, bytes]):
    """A real SQLiteStore behind a wrapper that refuses whole-prefix walks, and counts pages."""

    def __init__(self, store: Store[str, bytes]) -> None:
        super().__init__(store)
        self.pages = 0

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        raise AssertionError("the listing endpoint walked the whole prefix")

    def keys_page(
        self, prefix: str | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[str]:
        self.pages += 1
        return super().keys_page(prefix, cursor=cursor, limit=limit)


def test_each_page_is_served_from_the_cursor(tmp_path: Path) -> None:
    backend = _NoFullWalks(SQLiteStore(tmp_path / "db.sqlite"))
    keys = [f"k/{i:04d}" for i in range(250)]
    backend.set_many(dict.fromkeys(keys, b""))
    with serve_in_thread(backend) as server, HTTPStore(server.url, page_size=100) as store:
        assert list(store.iter_keys("k/")) == keys
        assert backend.pages == 3


def test_a_cursor_the_store_cannot_read_is_a_400(tmp_path: Path, redis_url: str) -> None:
    from nstore.stores.redis import RedisStore

    with RedisStore(redis_url) as backend, serve_in_thread(backend) as server:
        url = f"{server.url}/v1/keys?cursor={quote('not a cursor')}"
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url, timeout=10)
        assert caught.value.code == 400
        assert json.loads(caught.value.read())["type"] == "urn:nstore:problem:bad-cursor"
