"""StoreTests: the conformance suite every backend and wrapper joins.

A test module subclasses :class:`StoreTests`, provides a ``store`` fixture that yields a fresh,
empty ``Store[str, bytes]``, and implements :meth:`StoreTests.raw_get` and
:meth:`StoreTests.raw_set`, which bypass the store's API so that the store is checked against
ground truth (the files, the database rows, the Redis keys). Tests that need a capability skip by
the store's capability properties, never by its class.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from nstore import Store
from nstore.codecs import Prefix, Utf8
from nstore.errors import ConfigurationError, InvalidKey, MissingKey, StoreClosed, UnsupportedOperation
from tests.stores.expiry import ExpiryTests
from tests.threads import run_threads

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.é", min_size=1, max_size=8).filter(
    lambda s: s not in {".", ".."} and not s.startswith(".")
)
# Keys one or two segments deep; a one-segment key ends in "~", which no directory segment has,
# so no generated key is both a file and a directory (that case has its own test).
keys = st.one_of(segment.map(lambda s: s + "~"), st.tuples(segment, segment).map("/".join))
values = st.binary(max_size=256)

HOSTILE_KEYS = [
    "",
    ".",
    "..",
    "../escape",
    "a/../../escape",
    "/absolute",
    "a//b",
    "trailing/",
    "back\\slash",
    "nul\x00byte",
    "new\nline",
    "tab\tkey",
    "x" * 300,
    "dir/" + "y" * 256,
    "./dot",
    "a/./b",
    "~home",
    "C:drive",
    "%2e%2e",
]


def _all_pages(
    store: Store[str, bytes], prefix: str | None, limit: int, cursor: str | None = None
) -> list[str]:
    """Every key ``keys_page`` lists from ``cursor``, page after page, checking each page's size."""
    keys: list[str] = []
    for _ in range(1000):
        page = store.keys_page(prefix, cursor=cursor, limit=limit)
        assert len(page.keys) <= limit
        keys += page.keys
        if page.cursor is None:
            return keys
        cursor = page.cursor
    raise AssertionError(f"no last page after 1000 pages of {limit} keys")


class StoreTests(ExpiryTests):
    """The suite; subclasses provide the ``store`` fixture and the raw accessors."""

    #: Values larger than this are not tried (a backend with a documented limit lowers it).
    max_value_size: ClassVar[int] = 4 * 1024 * 1024
    #: Whether keys_page lists in key order (Redis lists in SCAN order, and says so).
    pages_sorted: ClassVar[bool] = True

    @pytest.fixture
    def store(self) -> Iterator[Store[str, bytes]]:
        raise NotImplementedError("a StoreTests subclass provides the store fixture")

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        """The bytes stored at ``key``, read without the store's API; None if absent."""
        raise NotImplementedError

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        """Store ``value`` at ``key`` without the store's API."""
        raise NotImplementedError

    # -- mapping semantics -----------------------------------------------------------------------

    def test_set_then_get(self, store: Store[str, bytes]) -> None:
        store["k"] = b"v"
        assert store["k"] == b"v"
        assert self.raw_get(store, "k") == b"v"

    def test_get_reads_ground_truth(self, store: Store[str, bytes]) -> None:
        self.raw_set(store, "planted", b"\x00raw")
        assert store["planted"] == b"\x00raw"
        assert "planted" in store
        assert list(store) == ["planted"]

    def test_missing_key_is_key_error(self, store: Store[str, bytes]) -> None:
        with pytest.raises(KeyError) as info:
            store["absent"]
        assert isinstance(info.value, MissingKey)
        with pytest.raises(KeyError):
            del store["absent"]
        assert store.get("absent") is None
        assert store.get("absent", b"d") == b"d"
        assert "absent" not in store

    def test_overwrite(self, store: Store[str, bytes]) -> None:
        store["k"] = b"first"
        store["k"] = b"second, longer than the first"
        store["k"] = b"3"
        assert store["k"] == b"3"
        assert self.raw_get(store, "k") == b"3"
        assert len(store) == 1

    def test_delete(self, store: Store[str, bytes]) -> None:
        store["k"] = b"v"
        store["other"] = b"o"
        del store["k"]
        assert "k" not in store
        assert self.raw_get(store, "k") is None
        assert store["other"] == b"o"
        assert list(store) == ["other"]

    def test_len_iter_and_mapping_methods(self, store: Store[str, bytes]) -> None:
        data = {f"key{i}": bytes([i]) * i for i in range(20)}
        store.update(data)
        assert len(store) == 20
        assert sorted(store) == sorted(data)
        assert dict(store.items()) == data
        assert sorted(store.values()) == sorted(data.values())
        assert store.pop("key3") == data["key3"]
        assert store.setdefault("key4", b"ignored") == data["key4"]
        assert len(store) == 19

    def test_value_edge_cases(self, store: Store[str, bytes]) -> None:
        every_byte = bytes(range(256))
        big = bytes(range(256)) * (min(self.max_value_size, 1024 * 1024) // 256)
        store["empty"] = b""
        store["bytes"] = every_byte
        store["big"] = big
        assert store["empty"] == b""
        assert store["bytes"] == every_byte
        assert store["big"] == big
        assert self.raw_get(store, "big") == big

    def test_key_characters(self, store: Store[str, bytes]) -> None:
        names = ["a/b/c", "ключ", "with space", "x.y", "emoji-🙂", "a-b_c", "UPPER"]
        for i, name in enumerate(names):
            store[name] = bytes([i])
        for i, name in enumerate(names):
            assert store[name] == bytes([i])
            assert self.raw_get(store, name) == bytes([i])
        assert sorted(store) == sorted(names)

    # -- listing by prefix ---------------------------------------------------------------------

    def test_prefix_listing(self, store: Store[str, bytes]) -> None:
        for key in ["a", "a/b", "a/bc", "a/b/c", "ab", "b/a"]:
            store[key] = b"x"
        assert sorted(store.keys(prefix="a/b")) == ["a/b", "a/b/c", "a/bc"]
        assert sorted(store.keys(prefix="a/")) == ["a/b", "a/b/c", "a/bc"]
        assert sorted(store.keys(prefix="a")) == ["a", "a/b", "a/b/c", "a/bc", "ab"]
        assert sorted(store.keys(prefix="")) == sorted(store)
        assert list(store.keys(prefix="zzz")) == []
        assert len(store.keys(prefix="a/")) == 3
        assert "a/bc" in store.keys(prefix="a/")
        assert "b/a" not in store.keys(prefix="a/")

    # -- listing from a position -----------------------------------------------------------------

    def test_pages_list_every_key_once(self, store: Store[str, bytes]) -> None:
        names = ["a", "a/b", "a/bc", "a/b/c", "a/b/c/d", "ab", "b/a", "ключ", "with space", "x+y&z%"]
        store.set_many(dict.fromkeys(names, b"x"))
        for limit in (1, 2, 3, 1000):
            for prefix in (None, "", "a", "a/", "a/b", "a/b/", "zzz"):
                expected = sorted(k for k in names if k.startswith(prefix or ""))
                listed = _all_pages(store, prefix, limit)
                assert sorted(listed) == expected, (prefix, limit)  # neither skipped nor repeated
                if self.pages_sorted:
                    assert listed == expected, (prefix, limit)

    def test_pages_go_on_across_writes(self, store: Store[str, bytes]) -> None:
        keys = [f"k/{i:02d}" for i in range(20)]
        store.set_many(dict.fromkeys(keys, b"x"))
        first = store.keys_page("k/", limit=5)
        assert len(first.keys) <= 5
        assert first.cursor is not None
        del store[first.keys[0]]  # listed already
        store["k/00a"] = b"new"  # written meanwhile: may or may not be listed
        listed = first.keys + _all_pages(store, "k/", 5, first.cursor)
        assert sorted(set(listed) - {"k/00a"}) == keys
        assert len(listed) == len(set(listed))

    def test_a_page_limit_is_checked(self, store: Store[str, bytes]) -> None:
        for limit in (0, -1, 1.5, "3"):
            with pytest.raises(ConfigurationError, match="Expected a limit of at least 1"):
                store.keys_page(limit=limit)  # type: ignore[arg-type]  # the wrong type on purpose

    def test_a_prefix_view_pages_its_keys(self, store: Store[str, bytes]) -> None:
        store.set_many(dict.fromkeys(["users/a", "users/b/c", "users-not/x", "other"], b"x"))
        users = store.with_keys(Prefix("users/"))
        assert sorted(_all_pages(users, None, 1)) == ["a", "b/c"]
        assert _all_pages(users, "b", 2) == ["b/c"]

    def test_count_keys_counts_what_a_listing_lists(self, store: Store[str, bytes]) -> None:
        for key in ["a", "a/b", "a/bc", "a/b/c", "ab", "b/a", "\u00e9/1", "\U0001f600"]:
            store[key] = b"x"
        for prefix in [None, "", "a", "a/", "a/b", "b", "\u00e9", "\U0001f600", "zzz", "\U0010ffff"]:
            assert store.count_keys(prefix) == len(list(store.iter_keys(prefix))), prefix
            assert len(store.keys(prefix)) == store.count_keys(prefix), prefix
        del store["a/b"]
        assert store.count_keys("a/") == 2
        users = store.with_keys(Prefix("a/"))
        assert len(users) == users.count_keys() == 2
        assert users.count_keys("b") == 2

    def test_listing_is_lazy(self, store: Store[str, bytes]) -> None:
        store["k"] = b"v"
        iterator = store.iter_keys()
        assert iter(iterator) is iterator

    def test_prefix_view_lists_only_its_keys(self, store: Store[str, bytes]) -> None:
        users = store.with_keys(Prefix("users/"))
        store["other/1"] = b"o"
        store["users-not/1"] = b"o"
        users["ada"] = b"1"
        users["bob/x"] = b"2"
        assert store["users/ada"] == b"1"
        assert sorted(users) == ["ada", "bob/x"]
        assert sorted(users.keys(prefix="b")) == ["bob/x"]
        assert len(users) == 2
        assert users.get_many(["ada", "zed"]) == {"ada": b"1"}

    def test_typed_view_round_trip(self, store: Store[str, bytes]) -> None:
        texts = store.with_keys(Prefix("t/")).with_values(Utf8())
        texts["greeting"] = "héllo"
        assert texts["greeting"] == "héllo"
        assert self.raw_get(store, "t/greeting") == "héllo".encode()

    # -- bulk operations ------------------------------------------------------------------------

    def test_get_many_leaves_out_missing(self, store: Store[str, bytes]) -> None:
        store.update({"a": b"1", "b": b"2", "c/d": b"3"})
        assert store.get_many(["a", "c/d", "missing"]) == {"a": b"1", "c/d": b"3"}
        assert store.get_many([]) == {}

    def test_set_many(self, store: Store[str, bytes]) -> None:
        store.set_many({"a": b"1", "b/c": b"2"})
        store.set_many([("d", b"4"), ("a", b"5")])
        assert dict(store.items()) == {"a": b"5", "b/c": b"2", "d": b"4"}
        assert self.raw_get(store, "b/c") == b"2"

    def test_delete_many_ignores_missing(self, store: Store[str, bytes]) -> None:
        store.update({"a": b"1", "b/c": b"2", "d": b"3"})
        store.delete_many(["a", "b/c", "missing"])
        assert list(store) == ["d"]
        assert self.raw_get(store, "a") is None

    def test_bulk_many_keys(self, store: Store[str, bytes]) -> None:
        data = {f"bulk/{i:04d}": str(i).encode() for i in range(500)}
        store.set_many(data)
        assert store.get_many(data) == data
        store.delete_many(list(data)[:250])
        assert sorted(store) == sorted(data)[250:]

    # -- concurrency and iteration ----------------------------------------------------------------

    def test_iteration_during_writes(self, store: Store[str, bytes]) -> None:
        store.update({f"k{i:03d}": b"v" for i in range(50)})
        seen = []
        for i, key in enumerate(store.iter_keys()):
            seen.append(key)
            store[f"new{i:03d}"] = b"n"
            if f"k{i + 1:03d}" in store:
                del store[f"k{i + 1:03d}"]
        assert seen
        assert all(k in store for k in (f"new{i:03d}" for i in range(len(seen))))

    def test_threads_write_and_read(self, store: Store[str, bytes]) -> None:
        def work(n: int) -> None:
            for i in range(40):
                key = f"t{n}/{i}"
                store[key] = key.encode()
                assert store[key] == key.encode()

        assert run_threads(work, 4) == []
        assert len(store) == 160

    # -- conditional writes ---------------------------------------------------------------------

    def test_conditional_writes(self, store: Store[str, bytes]) -> None:
        if not store.supports_atomic_writes:
            with pytest.raises(UnsupportedOperation):
                store.set_if_absent("k", b"v")
            return
        assert store.set_if_absent("k", b"v") is True
        assert store.set_if_absent("k", b"w") is False
        assert store["k"] == b"v"
        assert store.compare_and_set("k", b"wrong", b"x") is False
        assert store.compare_and_set("k", b"v", b"x") is True
        assert store["k"] == b"x"
        assert store.compare_and_set("absent", b"v", b"x") is False
        assert "absent" not in store

    def test_compare_and_set_is_atomic_across_threads(self, store: Store[str, bytes]) -> None:
        store["counter"] = b"0"
        if not store.supports_atomic_writes:
            with pytest.raises(UnsupportedOperation):
                store.compare_and_set("counter", b"0", b"1")
            return

        def increment(_: int) -> None:
            for _ in range(25):
                while True:
                    current = store["counter"]
                    if store.compare_and_set("counter", current, str(int(current) + 1).encode()):
                        break

        assert run_threads(increment, 4) == []
        assert store["counter"] == b"100"

    # -- life cycle -----------------------------------------------------------------------------

    def test_capabilities_are_bools(self, store: Store[str, bytes]) -> None:
        for name in (
            "is_persistent",
            "is_remote",
            "supports_prefix_listing",
            "supports_atomic_writes",
            "supports_ttl",
        ):
            assert isinstance(getattr(store, name), bool), name

    def test_close_then_use_raises(self, store: Store[str, bytes]) -> None:
        store["k"] = b"v"
        with store as entered:
            assert entered is store
        store.close()  # idempotent
        with pytest.raises(StoreClosed):
            store["k"]
        with pytest.raises(StoreClosed):
            store["k"] = b"w"

    def test_a_page_after_close_raises(self, store: Store[str, bytes]) -> None:
        store["k"] = b"v"
        store.close()
        with pytest.raises(StoreClosed):
            store.keys_page(limit=10)

    # -- hostile keys ---------------------------------------------------------------------------

    @pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
    def test_hostile_key_is_refused_or_stored_safely(self, store: Store[str, bytes], key: str) -> None:
        store["sentinel"] = b"safe"
        try:
            store[key] = b"hostile"
        except InvalidKey:
            assert key not in store
            with pytest.raises((InvalidKey, KeyError)):
                store[key]
        else:
            assert store[key] == b"hostile"
            assert key in set(store)
            del store[key]
            assert key not in store
        assert store["sentinel"] == b"safe"
        assert list(store) == ["sentinel"]

    def test_key_both_file_and_directory(self, store: Store[str, bytes]) -> None:
        store["a"] = b"file"
        try:
            store["a/b"] = b"child"
        except InvalidKey:
            assert "a/b" not in store
        else:
            assert store["a/b"] == b"child"
            del store["a/b"]
        assert store["a"] == b"file"
        store["x/y"] = b"child"
        try:
            store["x"] = b"parent"
        except InvalidKey:
            assert "x" not in store
        else:
            assert store["x"] == b"parent"
        assert store["x/y"] == b"child"

    # -- a model of a dict ----------------------------------------------------------------------

    def test_behaves_like_a_dict(self, store: Store[str, bytes]) -> None:
        run_state_machine_as_test(
            lambda: _DictModel(store),  # type: ignore[arg-type]  # hypothesis accepts any factory
            settings=settings(
                max_examples=25,
                stateful_step_count=15,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


class _DictModel(RuleBasedStateMachine):
    """Drives a store and a dict with the same operations and compares them."""

    def __init__(self, store: Store[str, bytes]) -> None:
        super().__init__()
        self.store = store
        self.model: dict[str, bytes] = {}
        store.delete_many(list(store))

    @rule(key=keys, value=values)
    def set(self, key: str, value: bytes) -> None:
        self.store[key] = value
        self.model[key] = value

    @rule(key=keys)
    def delete(self, key: str) -> None:
        if key in self.model:
            del self.store[key]
            del self.model[key]
        else:
            with pytest.raises(KeyError):
                del self.store[key]

    @rule(key=keys)
    def get(self, key: str) -> None:
        assert self.store.get(key) == self.model.get(key)

    @rule(items=st.dictionaries(keys, values, max_size=5))
    def set_many(self, items: dict[str, bytes]) -> None:
        self.store.set_many(items)
        self.model.update(items)

    @rule(chosen=st.lists(keys, max_size=5))
    def delete_many(self, chosen: list[str]) -> None:
        self.store.delete_many(chosen)
        for key in chosen:
            self.model.pop(key, None)

    @rule(chosen=st.lists(keys, max_size=5))
    def get_many(self, chosen: list[str]) -> None:
        assert self.store.get_many(chosen) == {k: self.model[k] for k in chosen if k in self.model}

    @rule(prefix=st.sampled_from(["", "a", "a/", "b"]))
    def list_prefix(self, prefix: str) -> None:
        expected = sorted(k for k in self.model if k.startswith(prefix))
        assert sorted(self.store.keys(prefix=prefix)) == expected

    @invariant()
    def same_length(self) -> None:
        assert len(self.store) == len(self.model)
