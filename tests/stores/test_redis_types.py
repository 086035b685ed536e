"""Redis keys RedisStore cannot read (hashes, lists, keys that are not UTF-8) are not its keys.

Another client may keep other types in the same database. Listings, pages and counts leave them
out, a read finds nothing there (MissingKey), and ``in`` says False, on one server and on a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nstore.errors import MissingKey
from nstore.stores.redis import RedisStore
from tests.stores.test_redis_features import url  # noqa: F401  # the fixture: standalone, then cluster


@pytest.fixture
def store(url: str) -> Iterator[RedisStore]:  # noqa: F811  # url: the fixture imported above
    with RedisStore(url) as store:
        client = store.client
        client.hset(b"t/hash", b"f", b"v")
        client.rpush(b"t/list", b"x")
        client.sadd(b"t/set", b"x")
        client.set(b"t/\xff", b"not UTF-8")
        store.set_many({f"t/s{i:03d}": b"v" for i in range(300)})
        yield store


STRINGS = sorted(f"t/s{i:03d}" for i in range(300))


def test_listings_and_counts_leave_out_keys_of_other_types(store: RedisStore) -> None:
    assert sorted(store) == STRINGS
    assert sorted(store.iter_keys("t/")) == STRINGS
    page = store.keys_page("t/", limit=7)
    listed = page.keys
    while page.cursor is not None:
        page = store.keys_page("t/", cursor=page.cursor, limit=7)
        listed += page.keys
    assert sorted(listed) == STRINGS
    assert len(store) == 300  # as many as the listing gives
    assert store.count_keys() == store.count_keys("t/") == 300


def test_a_key_of_another_type_is_missing(store: RedisStore) -> None:
    for key in ["t/hash", "t/list", "t/set"]:
        with pytest.raises(MissingKey):
            store[key]
        assert store.get(key) is None
        assert key not in store
    assert store.get_many(["t/hash", "t/s001"]) == {"t/s001": b"v"}
    assert store.client.hget(b"t/hash", b"f") == b"v"  # left alone
