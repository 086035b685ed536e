"""SQLiteStore joins the StoreTests suite at each durability level; its ground truth is the table,
read and written through a separate sqlite3 connection."""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nstore import Store
from nstore.errors import ConfigurationError, InvalidKey, InvalidValue, StoreClosed
from nstore.stores._sqlite_reads import successor as _successor
from nstore.stores.sqlite import Durability, SQLiteStore
from tests.stores.base import StoreTests


def _raw(store: Store[str, bytes]) -> sqlite3.Connection:
    assert isinstance(store, SQLiteStore)
    return sqlite3.connect(store._path, isolation_level=None)


class TestSQLiteStore(StoreTests):
    durability: Durability = "normal"

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store[str, bytes]]:
        with SQLiteStore(tmp_path / "store.db", durability=self.durability) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        conn = _raw(store)
        try:
            row = conn.execute("SELECT value FROM nstore WHERE key = ?", (key,)).fetchone()
        finally:
            conn.close()
        return None if row is None else bytes(row[0])

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        conn = _raw(store)
        try:
            conn.execute("INSERT OR REPLACE INTO nstore (key, value, version) VALUES (?, ?, 1)", (key, value))
        finally:
            conn.close()


class TestSQLiteStoreFull(TestSQLiteStore):
    durability: Durability = "full"


class TestSQLiteStoreOff(TestSQLiteStore):
    durability: Durability = "off"


# -- parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["", "1abc", "a-b", 'x"; DROP TABLE t; --', "sqlite_master", "t" * 64, "ü"])
def test_bad_table_name(tmp_path: Path, table: str) -> None:
    with pytest.raises(ConfigurationError, match=r"(?i)table"):
        SQLiteStore(tmp_path / "s.db", table=table)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"durability": "safe"}, "durability"),
        ({"durability": "FULL"}, "durability"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": "5"}, "timeout"),
    ],
)
def test_bad_parameters(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        SQLiteStore(tmp_path / "s.db", **kwargs)


@pytest.mark.parametrize("path", [":memory:", "", "file:x?mode=memory"])
def test_in_memory_paths_are_refused(path: str) -> None:
    with pytest.raises(ConfigurationError, match="MemoryStore"):
        SQLiteStore(path)


def test_missing_directory_and_directory_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        SQLiteStore(tmp_path / "no" / "s.db")
    with pytest.raises(ConfigurationError, match="directory"):
        SQLiteStore(tmp_path)


@pytest.mark.parametrize(("durability", "synchronous"), [("off", 0), ("normal", 1), ("full", 2)])
def test_durability_sets_wal_and_synchronous_on_every_connection(
    tmp_path: Path, durability: Durability, synchronous: int
) -> None:
    with SQLiteStore(tmp_path / "s.db", durability=durability) as store:
        assert store.durability == durability
        cur = store._open()
        assert cur.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        seen: list[int] = []
        thread = threading.Thread(
            target=lambda: seen.append(store._open().execute("PRAGMA synchronous").fetchone()[0])
        )
        thread.start()
        thread.join()
        assert seen == [synchronous]
        assert cur.execute("PRAGMA synchronous").fetchone() == (synchronous,)
        assert repr(store).endswith(f"durability={durability!r})")


def test_pickles_by_parameters(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db", table="t", durability="full", timeout=3) as store:
        store["k"] = b"v"
        with pickle.loads(pickle.dumps(store)) as copy:
            assert copy is not store
            assert repr(copy) == repr(store)
            assert copy["k"] == b"v"


def test_capabilities(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store.is_persistent
        assert not store.is_remote
        assert store.supports_prefix_listing
        assert store.supports_atomic_writes


def test_reopen_keeps_data_and_tables_are_separate(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as a, SQLiteStore(tmp_path / "s.db", table="other") as b:
        a["k"] = b"a"
        b["k"] = b"b"
    with SQLiteStore(tmp_path / "s.db") as a, SQLiteStore(tmp_path / "s.db", table="other") as b:
        assert (a["k"], b["k"]) == (b"a", b"b")


def test_keys_and_values_are_type_checked(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        loose: Any = store
        for bad_key in (1, b"k", None):
            with pytest.raises(InvalidKey, match="str key"):
                loose[bad_key] = b"v"
            with pytest.raises(InvalidKey):
                loose[bad_key]
            assert bad_key not in loose
        with pytest.raises(InvalidValue, match="Expected bytes"):
            loose["k"] = "text"
        with pytest.raises(InvalidKey, match="UTF-8"):
            store["\ud800"] = b"v"
        with pytest.raises(KeyError):
            store["\ud800"]
        assert "\ud800" not in store
        assert list(store.iter_keys("\ud800")) == []
        loose["ba"] = bytearray(b"xy")  # bytes-like values are accepted
        loose.set_many({"mv": memoryview(b"z")})
        assert store.get_many(["ba", "mv"]) == {"ba": b"xy", "mv": b"z"}
        with pytest.raises(InvalidKey):
            store.set_many([(1, b"v")])  # type: ignore[list-item]  # the wrong key type on purpose
        assert len(store) == 2


def test_large_values(tmp_path: Path) -> None:
    big = os.urandom(1024) * (8 * 1024)  # 8 MiB
    with SQLiteStore(tmp_path / "s.db") as store:
        store["big"] = big
        store.set_many({"big2": big[::-1]})
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store["big"] == big
        assert store.get_many(["big", "big2"]) == {"big": big, "big2": big[::-1]}


# -- listing ---------------------------------------------------------------------------------------


def test_prefix_listing_uses_an_index_search_not_a_scan(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        cur = store._open()
        for sql, params in [(store._sql_keys, ("a/", "a0", 0.0)), (store._sql_keys_open, ("a/", 0.0))]:
            plan = " ".join(row[-1] for row in cur.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert plan.startswith("SEARCH nstore USING COVERING INDEX"), plan
            assert "SCAN" not in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        plan = " ".join(row[-1] for row in cur.execute("EXPLAIN QUERY PLAN " + store._sql_get, ("k",)))
        assert plan.startswith("SEARCH nstore USING INDEX"), plan


def test_listing_is_lazy_paged_and_in_key_order(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        data = {f"p/{i:05d}": b"v" for i in range(1300)}
        store.set_many(data)
        store.set_many({"o/1": b"v", "q": b"v", "p": b"v", "p0": b"v"})
        iterator = store.iter_keys("p/")
        first = [next(iterator) for _ in range(3)]
        store["p/99999"] = b"new, beyond the first page: seen"
        rest = list(iterator)
        assert first + rest == sorted(first + rest)
        assert set(first + rest) == set(data) | {"p/99999"}
        assert list(store) == sorted(store)
        assert list(store.keys(prefix="p")) == ["p", *sorted([*data, "p/99999"]), "p0"]


@pytest.mark.parametrize(
    ("prefix", "inside", "outside"),
    [
        ("a\U0010ffff", ["a\U0010ffff", "a\U0010ffffz", "a\U0010ffff\U0010ffff"], ["a", "b", "a\uffff"]),
        ("\U0010ffff", ["\U0010ffff", "\U0010ffff\x00"], ["\uffff", "z"]),
        ("a\ud7ff", ["a\ud7ff", "a\ud7ffb"], ["a\ue000", "a\ufffd"]),
        ("k\x00", ["k\x00", "k\x00\x00", "k\x00z"], ["k", "k\x01"]),
        ("é", ["é", "éa"], ["e", "f", "ê"]),
    ],
)
def test_prefix_upper_bounds(tmp_path: Path, prefix: str, inside: list[str], outside: list[str]) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.set_many(dict.fromkeys(inside + outside, b"v"))
        assert list(store.keys(prefix=prefix)) == sorted(inside)
        assert _successor(prefix) is None or all(_successor(prefix) > k for k in inside)  # type: ignore[operator]  # checked not None


# -- bulk operations, transactions, conditional writes --------------------------------------------


def test_bulk_operations_chunk_large_key_lists(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        data = {f"k{i}": str(i).encode() for i in range(2600)}
        store.set_many(iter(data.items()))
        asked = [*data, *data, "missing"]
        assert store.get_many(asked) == data
        store.delete_many(k for k in data if k.endswith("7"))
        assert len(store) == 2600 - 260
        store.set_many([])
        store.delete_many([])


class _Key(str):
    """A str subclass: refused as a key like any other non-str."""


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({_Key("sub"): b"v"}, InvalidKey),
        ({"\ud800": b"v"}, InvalidKey),
        ({"fine": "text"}, InvalidValue),
        ({"fine": None}, InvalidValue),
    ],
)
def test_set_many_of_a_dict_checks_every_pair_and_stores_none_on_error(
    tmp_path: Path, bad: dict[Any, Any], error: type[Exception]
) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store["old"] = b"kept"
        batch: dict[Any, Any] = {f"k{i:04d}": b"v" for i in range(1000)}
        batch["old"] = b"overwritten?"
        batch.update(bad)  # the bad pair last: the good ones before it must not be stored either
        with pytest.raises(error):
            store.set_many(batch)
        assert dict(store.items()) == {"old": b"kept"}


def test_set_many_of_a_dict_stores_bytes_like_values_and_versions_keys(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.set_many({"a": b"1", "b": b"2"})
        version_a = store.get_with_version("a")[1]
        loose: Any = store  # bytes-like values on purpose
        loose.set_many({"a": b"3", "c": bytearray(b"4"), "d": memoryview(b"5")})
        assert store.get_many(["a", "b", "c", "d"]) == {"a": b"3", "b": b"2", "c": b"4", "d": b"5"}
        assert all(type(v) is bytes for v in store.get_many(["c", "d"]).values())
        assert store.get_with_version("a")[1] == version_a + 1
        store.delete_many(["a"])
        store.set_many({"a": b"again"})
        # Re-created: a fresh random version, not one a reader may have seen before.
        assert store.get_with_version("a")[1] not in (version_a, version_a + 1)


def test_transaction_commits_and_rolls_back(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        with store.transaction():
            store["a"] = b"1"
            store.set_many({"b": b"2"})
            assert store.get_many(["a", "b"]) == {"a": b"1", "b": b"2"}
        with pytest.raises(RuntimeError, match="boom"):
            _change_then_fail(store, RuntimeError("boom"))
        assert dict(store.items()) == {"a": b"1", "b": b"2"}


def _change_then_fail(store: SQLiteStore, error: Exception) -> None:
    with store.transaction():
        store["a"] = b"changed"
        del store["b"]
        store["inner"] = b"3"
        raise error


def test_nested_transactions_are_savepoints(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.set_many({"a": b"1", "b": b"2"})
        with store.transaction():
            store["outer"] = b"1"
            with pytest.raises(ValueError, match="inner"):
                _change_then_fail(store, ValueError("inner"))
            with store.transaction():
                store["inner2"] = b"3"
        assert dict(store.items()) == {"a": b"1", "b": b"2", "inner2": b"3", "outer": b"1"}


def test_transaction_is_invisible_to_other_threads_until_commit(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db", timeout=5) as store:
        seen: list[object] = []

        def look() -> None:
            seen.append(store.get("t"))

        with store.transaction():
            store["t"] = b"pending"
            thread = threading.Thread(target=look)
            thread.start()
            thread.join()
        look()
        assert seen == [None, b"pending"]


def test_conditional_writes_and_versions(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store.compare_and_set_version("k", 0, b"first")
        assert not store.compare_and_set_version("k", 0, b"again")
        value, version = store.get_with_version("k")
        assert (value, version > 0) == (b"first", True)
        assert store.compare_and_set_version("k", version, b"second")
        assert not store.compare_and_set_version("k", version, b"stale")
        value2, version2 = store.get_with_version("k")
        assert (value2, version2) == (b"second", version + 1)
        store["k"] = b"plain set"
        assert store.get_with_version("k")[1] == version + 2
        del store["k"]
        store["k"] = b"re-created"
        assert store.get_with_version("k")[1] not in (version, version + 1, version + 2, version + 3)
        with pytest.raises(KeyError):
            store.get_with_version("absent")
        assert not store.compare_and_set_version("absent", 5, b"v")
        with pytest.raises(ConfigurationError, match="version"):
            store.compare_and_set_version("k", -1, b"v")


# -- life cycle --------------------------------------------------------------------------------------


def test_close_closes_every_thread_and_all_operations_raise(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store["k"] = b"v"
    thread = threading.Thread(target=lambda: store.get("k"))
    thread.start()
    thread.join()
    store.close()
    store.close()
    assert "<closed>" in repr(store)
    for operation in (
        lambda: store["k"],
        lambda: store.__setitem__("k", b"v"),
        lambda: store.__delitem__("k"),
        lambda: "k" in store,
        lambda: len(store),
        lambda: store.iter_keys(),
        lambda: store.get_many(["k"]),
        lambda: store.set_many({"k": b"v"}),
        lambda: store.delete_many(["k"]),
        lambda: store.set_if_absent("k", b"v"),
        lambda: store.transaction().__enter__(),
    ):
        with pytest.raises(StoreClosed):
            operation()
