"""ExpiryTests: the per-key expiry cases (``supports_ttl``) of the conformance suite.

:class:`~tests.stores.base.StoreTests` includes them, so every backend, view and wrapper runs
them: a store that has no expiry must refuse a ttl with ``UnsupportedOperation`` and answer
``ttl(key)`` with None; a store that has it must make an expired key absent everywhere. Expiry
is waited for in real time with short ttls; nothing asserts how soon a key expires, only that a
key with a long ttl is there and a key past its ttl is not (load can only delay a test, never
fail it).
"""

from __future__ import annotations

import time

import pytest

from nstore import Store
from nstore.codecs import Prefix
from nstore.errors import ConfigurationError, MissingKey, UnsupportedOperation

#: A ttl no test outlives, and one every test waits out.
LONG = 600.0
SHORT = 0.3


def _wait_out(seconds: float = SHORT) -> None:
    time.sleep(seconds + 0.4)


class ExpiryTests:
    """Per-key expiry: ``set(..., ttl=)``, ``set_many(..., ttl=)``, ``ttl(key)``, ``touch``."""

    def test_ttl_of_a_key_without_expiry(self, store: Store[str, bytes]) -> None:
        store["plain"] = b"v"
        assert store.ttl("plain") is None
        with pytest.raises(MissingKey):
            store.ttl("absent")

    def test_without_ttl_support_a_ttl_is_refused(self, store: Store[str, bytes]) -> None:
        if store.supports_ttl:
            pytest.skip("the store has per-key expiry")
        with pytest.raises(UnsupportedOperation):
            store.set("k", b"v", ttl=5)
        with pytest.raises(UnsupportedOperation):
            store.set_many({"k": b"v"}, ttl=5)
        store.set("k", b"v")
        with pytest.raises(UnsupportedOperation):
            store.touch("k", ttl=5)
        assert store["k"] == b"v"

    def test_a_bad_ttl_is_refused(self, store: Store[str, bytes]) -> None:
        if not store.supports_ttl:
            pytest.skip("the store has no per-key expiry")
        for bad in (0, -1, float("nan"), float("inf"), 10**400, True, "5"):
            with pytest.raises(ConfigurationError):
                store.set("k", b"v", ttl=bad)  # type: ignore[arg-type]
        assert "k" not in store

    def test_ttl_counts_down(self, store: Store[str, bytes]) -> None:
        if not store.supports_ttl:
            pytest.skip("the store has no per-key expiry")
        store.set("k", b"v", ttl=LONG)
        left = store.ttl("k")
        assert left is not None
        assert LONG - 60 < left <= LONG
        assert store["k"] == b"v"
        store["k"] = b"w"  # a plain write replaces the value and its expiry
        assert store.ttl("k") is None

    def test_an_expired_key_is_absent_everywhere(self, store: Store[str, bytes]) -> None:
        if not store.supports_ttl:
            pytest.skip("the store has no per-key expiry")
        store.set("gone/a", b"1", ttl=SHORT)
        store.set_many({"gone/b": b"2", "gone/c": b"3"}, ttl=SHORT)
        store.set("kept", b"4", ttl=LONG)
        _wait_out()
        for key in ("gone/a", "gone/b", "gone/c"):
            assert key not in store
            with pytest.raises(MissingKey):
                store[key]
            with pytest.raises(MissingKey):
                store.ttl(key)
            with pytest.raises(MissingKey):
                store.touch(key, ttl=LONG)
            with pytest.raises(MissingKey):
                del store[key]
        assert store.get_many(["gone/a", "gone/b", "kept"]) == {"kept": b"4"}
        assert list(store.iter_keys()) == ["kept"]
        assert list(store.iter_keys("gone/")) == []
        assert store.keys_page("gone/").keys == []
        assert store.count_keys() == 1
        assert len(store) == 1
        if store.supports_atomic_writes:
            assert not store.compare_and_set("gone/a", b"1", b"x")
            assert store.set_if_absent("gone/a", b"new")
            assert store["gone/a"] == b"new"
            assert store.ttl("gone/a") is None

    def test_touch_sets_and_removes_an_expiry(self, store: Store[str, bytes]) -> None:
        if not store.supports_ttl:
            pytest.skip("the store has no per-key expiry")
        store["k"] = b"v"
        store.touch("k", ttl=SHORT)
        store.set("kept", b"w", ttl=SHORT)
        store.touch("kept", ttl=None)
        assert store.ttl("kept") is None
        _wait_out()
        assert "k" not in store
        assert store["kept"] == b"w"

    def test_a_typed_view_passes_ttl_down(self, store: Store[str, bytes]) -> None:
        view = store.with_keys(Prefix("v/"))
        assert view.supports_ttl == store.supports_ttl
        if not store.supports_ttl:
            with pytest.raises(UnsupportedOperation):
                view.set("k", b"v", ttl=5)
            return
        view.set("k", b"v", ttl=LONG)
        left = store.ttl("v/k")
        assert left is not None
        assert left > LONG - 60
        assert view.ttl("k") is not None
        view.touch("k", ttl=None)
        assert view.ttl("k") is None
        assert store.ttl("v/k") is None
        with pytest.raises(MissingKey):
            view.ttl("absent")
