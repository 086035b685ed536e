"""HTTPStore listing over a real server: every key once, whatever its characters, at any page size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nstore import MemoryStore
from nstore.errors import ConfigurationError
from nstore.server import ServerHandle, serve_in_thread
from nstore.stores.http import HTTPStore
from nstore.stores.sqlite import SQLiteStore

# The characters a query string gives a meaning to, and some that need percent-encoding.
_TRICKY = "+&%#=? /;~.aZ\u00e9\u4e2d\U0001f600"
KEYS = st.sets(st.text(alphabet=_TRICKY, min_size=1, max_size=6), min_size=0, max_size=30)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[MemoryStore[str, bytes], ServerHandle]]:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend) as server:
        yield backend, server


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=KEYS, page_size=st.integers(min_value=1, max_value=4))
def test_pages_list_every_key_once(
    served: tuple[MemoryStore[str, bytes], ServerHandle], keys: set[str], page_size: int
) -> None:
    backend, server = served
    backend.delete_many(list(backend))
    backend.set_many(dict.fromkeys(keys, b""))
    with HTTPStore(server.url, page_size=page_size) as store:
        listed = list(store.iter_keys())
        assert sorted(listed) == sorted(keys)  # neither skipped nor repeated
        for prefix in ("+", "%", "a", "\u00e9"):
            assert sorted(store.iter_keys(prefix)) == sorted(k for k in keys if k.startswith(prefix))


def test_a_copy_over_http_has_every_key(
    served: tuple[MemoryStore[str, bytes], ServerHandle], tmp_path: Path
) -> None:
    backend, server = served
    backend.delete_many(list(backend))
    keys = {f"{c}{i}" for c in "+&%# \u00e9" for i in range(40)}
    backend.set_many({key: key.encode() for key in keys})
    with HTTPStore(server.url, page_size=7) as store, SQLiteStore(tmp_path / "copy.db") as target:
        target.set_many((key, store[key]) for key in store.iter_keys())
        assert set(target) == keys


@pytest.mark.parametrize("tail", ["/v1/keys/", "/v1/keys", "/v1/", "/v1", "/", ""])
def test_a_base_url_ending_in_the_api_path_is_normalised(
    served: tuple[MemoryStore[str, bytes], ServerHandle], tail: str
) -> None:
    backend, server = served
    backend["a/b"] = b"there"
    with HTTPStore(server.url + tail) as store:
        assert store.url == server.url
        assert store["a/b"] == b"there"
        assert "a/b" in store
        assert "a/b" in list(store.iter_keys("a/"))


def test_a_base_url_with_a_query_or_fragment_is_refused() -> None:
    for url in ("http://127.0.0.1:1/?x=1", "http://127.0.0.1:1/#top"):
        with pytest.raises(ConfigurationError, match="without a query or fragment"):
            HTTPStore(url)


def test_page_size_is_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"Expected page_size from 1 to 1000\. Got 0"):
        HTTPStore("http://127.0.0.1:1", page_size=0)
