"""keys_page against the sorted keys, for random key sets, prefixes, page sizes and cursors."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nstore import FileStore, MemoryStore, SQLiteStore, Store

SEGMENT = st.text(alphabet="ab-~\u00e9", min_size=1, max_size=3)
KEY = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)
_counter = itertools.count()


def _open(kind: str, tmp: Path) -> Store[str, bytes]:
    where = tmp / str(next(_counter))
    if kind == "file":
        return FileStore(where, durable=False)
    if kind == "sqlite":
        return SQLiteStore(where.with_suffix(".db"))
    return MemoryStore[str, bytes]()


@pytest.mark.parametrize("kind", ["file", "sqlite", "memory"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.sets(KEY, max_size=25),
    prefix=st.sampled_from([None, "", "a", "a/", "a/b", "b-", "\u00e9"]),
    limit=st.integers(1, 4),
    cursor=st.one_of(st.none(), KEY),
)
def test_pages_are_the_sorted_keys_after_the_cursor(
    tmp_path: Path, kind: str, keys: set[str], prefix: str | None, limit: int, cursor: str | None
) -> None:
    with _open(kind, tmp_path) as store:
        store.set_many(dict.fromkeys(keys, b"v"))
        expected = sorted(k for k in keys if k.startswith(prefix or "") and (cursor is None or k > cursor))
        listed: list[str] = []
        while True:
            page = store.keys_page(prefix, cursor=cursor, limit=limit)
            assert len(page.keys) <= limit
            listed += page.keys
            if page.cursor is None:
                break
            cursor = page.cursor
        assert listed == expected
