"""MemoryStore's per-key expiry, plain and bounded, on a clock the tests move by hand."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nstore import MemoryStore
from nstore.errors import ConfigurationError, MissingKey
from tests.threads import run_threads

VARIANTS: list[dict[str, Any]] = [{}, {"maxsize": 1000}, {"maxbytes": 1 << 20}]


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=VARIANTS, ids=["plain", "maxsize", "maxbytes"])
def bounds(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(request.param)


def test_expired_keys_are_absent_everywhere(bounds: dict[str, Any]) -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **bounds)
    store["p/plain"] = b"0"
    store.set("p/short", b"1", ttl=10)
    store.set_many({"p/many": b"2", "q/many": b"3"}, ttl=10)
    store.set("p/long", b"4", ttl=100)
    assert store.ttl("p/short") == 10
    assert sorted(store.keys("p/")) == ["p/long", "p/many", "p/plain", "p/short"]
    clock.now += 10
    assert "p/short" not in store
    with pytest.raises(MissingKey):
        store["p/many"]
    assert store.get("q/many") is None
    assert store.get_many(["p/short", "p/many", "p/long", "p/plain"]) == {"p/long": b"4", "p/plain": b"0"}
    assert list(store.keys("p/")) == ["p/long", "p/plain"]
    assert store.keys_page("p/", limit=1).keys == ["p/long"]
    assert store.keys_page("p/", cursor="p/long", limit=1).keys == ["p/plain"]
    assert store.count_keys("p/") == 2
    assert len(store) == 2
    assert sorted(store) == ["p/long", "p/plain"]
    assert store.ttl("p/long") == 90
    assert store.ttl("p/plain") is None
    assert not store.compare_and_set("p/short", b"1", b"x")
    assert store.set_if_absent("p/short", b"new")
    assert store.ttl("p/short") is None
    with pytest.raises(MissingKey):
        del store["p/many"]
    with pytest.raises(MissingKey):
        store.touch("q/many", ttl=5)


def test_purge_expired_drops_what_expired(bounds: dict[str, Any]) -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **bounds)
    for i in range(10):
        store.set(f"k{i}", b"v", ttl=1 + i)
    store["plain"] = b"v"
    clock.now += 5.5
    assert store.purge_expired() == 5
    assert store.purge_expired() == 0
    assert repr(store).endswith("<6 keys>)")  # the entries themselves are gone, not only hidden
    clock.now += 100
    assert store.purge_expired() == 5
    assert list(store) == ["plain"]


def test_a_plain_write_or_touch_removes_an_expiry(bounds: dict[str, Any]) -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **bounds)
    value = b"same object"
    store.set("a", value, ttl=5)
    store["a"] = value  # the very same object, written without a ttl
    store.set("b", b"1", ttl=5)
    store.touch("b", ttl=None)
    store["c"] = b"2"
    store.touch("c", ttl=5)
    store.set("d", b"3", ttl=5)
    store.touch("d", ttl=50)
    store.set("e", b"4", ttl=5)
    assert store.compare_and_set("e", b"4", b"5")
    clock.now += 10
    assert store.get_many(["a", "b", "c", "d", "e"]) == {"a": value, "b": b"1", "d": b"3", "e": b"5"}
    assert store.ttl("a") is None
    assert store.ttl("d") == 40


def test_rewriting_with_a_ttl_keeps_the_latest_deadline(bounds: dict[str, Any]) -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **bounds)
    for i in range(5000):  # stale deadlines pile up on the heap and are compacted away
        store.set("k", b"%d" % i, ttl=1 + i % 3)
    store.set("k", b"last", ttl=100)
    clock.now += 50
    assert store["k"] == b"last"
    assert store.purge_expired() == 0
    assert len(store._expiry._heap) < 200  # the heap is rebuilt, not grown without end


def test_the_bounded_store_wide_ttl_is_the_default() -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](ttl=10, maxsize=3, clock=clock)
    store["a"] = b"1"
    store.set("b", b"2", ttl=100)
    store.set_many({"c": b"3"})
    assert store.ttl("a") == 10
    assert store.ttl("b") == 100
    clock.now += 20
    assert list(store) == ["b"]
    store.set_many({"d": b"4", "e": b"5", "f": b"6"}, ttl=1)  # evicts b by recency
    assert "b" not in store
    with pytest.raises(MissingKey):
        store.ttl("b")
    clock.now += 1
    assert len(store) == 0


def test_eviction_forgets_the_deadline() -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](maxsize=2, clock=clock)
    value = b"v"
    store.set("a", value, ttl=5)
    store["b"] = b"2"
    store["c"] = b"3"  # evicts a, and its deadline
    store["a"] = value  # the same object again, without a ttl
    clock.now += 10
    assert store["a"] == value


@pytest.mark.parametrize(
    "bound", [{"maxsize": 2}, {"maxbytes": 10}, {"maxsize": 2, "ttl": 3600}], ids=["size", "bytes", "ttl"]
)
def test_an_expired_entry_goes_before_a_live_one_is_evicted(bound: dict[str, Any]) -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **bound)
    store["b"] = b"12345"  # never expires (or in an hour), and the least recently used
    store.set("a", b"12345", ttl=1)
    clock.now += 5  # "a" is absent now, though it still takes room until purged
    store["c"] = b"12345"
    assert sorted(store) == ["b", "c"]


def test_the_plain_reader_never_serves_an_expired_value() -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock)
    reader = store.reader()
    store["plain"] = b"1"
    store.set("timed", b"2", ttl=5)
    assert reader["plain"] == b"1"
    assert store["timed"] == b"2"
    clock.now += 5
    with pytest.raises(KeyError):
        reader["timed"]
    with pytest.raises(MissingKey):
        store["timed"]


def test_a_clock_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="clock"):
        MemoryStore(clock=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="clock"):
        MemoryStore(maxsize=5, clock="now")  # type: ignore[arg-type]


def test_expiry_writes_and_plain_writes_race_without_mixing(bounds: dict[str, Any]) -> None:
    """Threads write the same keys with and without a ttl; afterwards every key's value and its
    expiry come from one write, never the value of one and the expiry of another."""
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **bounds)
    plain, timed = b"plain", b"timed"
    stop = threading.Event()

    def work(n: int) -> None:
        for i in range(3000):
            key = f"k{i % 13}"
            if n % 2:
                store[key] = plain
            else:
                store.set(key, timed, ttl=5)
            if i % 17 == 0:
                store.delete_many([key])
            store.get(key)
            list(store.keys("k1"))
        stop.set()

    assert run_threads(work, 4) == []
    for key in list(store):
        left = store.ttl(key)
        assert (store[key], left is None) in {(plain, True), (timed, False)}
    clock.now += 5
    assert all(store[key] == plain for key in store)
    assert len(store) == len(list(store))


@settings(max_examples=150, deadline=None)
@given(
    variant=st.sampled_from(VARIANTS),
    ops=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "set",
                    "set_ttl",
                    "set_many_ttl",
                    "touch",
                    "untouch",
                    "del",
                    "tick",
                    "list",
                    "cas",
                    "add",
                    "purge",
                ]
            ),
            st.text(alphabet="ab/", max_size=3),
            st.integers(1, 4),
        ),
        max_size=50,
    ),
)
def test_same_answers_as_a_model(variant: dict[str, Any], ops: list[tuple[str, str, int]]) -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **variant)
    model: dict[str, tuple[bytes, float | None]] = {}  # key -> (value, deadline)

    def live() -> dict[str, bytes]:
        return {k: v for k, (v, when) in model.items() if when is None or when > clock.now}

    for op, key, n in ops:
        value = b"%d" % n
        if op == "set":
            store[key] = value
            model[key] = (value, None)
        elif op == "set_ttl":
            store.set(key, value, ttl=n)
            model[key] = (value, clock.now + n)
        elif op == "set_many_ttl":
            store.set_many({key: value, key + "a": value}, ttl=n)
            model[key] = model[key + "a"] = (value, clock.now + n)
        elif op in {"touch", "untouch"}:
            ttl = n if op == "touch" else None
            if key in live():
                store.touch(key, ttl=ttl)
                model[key] = (model[key][0], None if ttl is None else clock.now + ttl)
            else:
                with pytest.raises(MissingKey):
                    store.touch(key, ttl=ttl)
        elif op == "del":
            if key in live():
                del store[key]
            else:
                with pytest.raises(MissingKey):
                    del store[key]
            model.pop(key, None)
        elif op == "tick":
            clock.now += n / 2
        elif op == "cas":
            expected = live().get(key) == value
            assert store.compare_and_set(key, value, b"c") is expected
            if expected:
                model[key] = (b"c", None)
        elif op == "add":
            added = key not in live()
            assert store.set_if_absent(key, value) is added
            if added:
                model[key] = (value, None)
        elif op == "purge":
            store.purge_expired()
        else:
            listed = list(store.keys(key))  # sorted by the plain store, in recency order by the bounded
            assert (listed if not variant else sorted(listed)) == sorted(
                k for k in live() if k.startswith(key)
            )
        current = live()
        assert (key in store) is (key in current)
        assert store.get(key) == current.get(key)
        left = store.ttl(key) if key in current else None
        when = model[key][1] if key in current else None
        assert left == (None if when is None else when - clock.now)
        assert len(store) == len(current)
    assert dict(store.items()) == live()
    assert store.keys_page("").keys == sorted(live())
    paged, cursor = [], None
    for _ in range(100):
        page = store.keys_page("", cursor=cursor, limit=2)
        paged += page.keys
        if page.cursor is None:
            break
        cursor = page.cursor
    assert paged == sorted(live())
    assert len(store) == len(live())


def test_purging_follows_a_deadline_moved_either_way(bounds: dict[str, Any]) -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock, **bounds)
    store.set("later", b"1", ttl=10)
    store.set("later", b"1", ttl=100)  # keeps its heap entry, pushed again when that one is due
    store.set("sooner", b"2", ttl=100)
    store.set("sooner", b"2", ttl=5)
    store.set("moved", b"3", ttl=5)
    store.touch("moved", ttl=60)
    clock.now += 50
    assert store.purge_expired() == 1  # sooner
    assert sorted(store) == ["later", "moved"]
    clock.now += 20
    assert store.purge_expired() == 1  # moved
    clock.now += 40
    assert store.purge_expired() == 1  # later
    assert len(store) == 0


def test_plain_writes_over_expiring_keys_are_counted_and_listed_once() -> None:
    clock = Clock()
    store = MemoryStore[str, bytes](clock=clock)
    for i in range(20):
        store.set(f"k{i:02d}", b"timed", ttl=10)
    for i in range(0, 20, 2):
        store[f"k{i:02d}"] = b"plain"  # shadows the expiring entry
    del store["k04"]
    store.delete_many(["k05", "k06"])
    store.set("k08", b"timed again", ttl=10)
    for i in range(10, 20, 3):
        store[f"k{i:02d}"] = b"plain again"
    expected = sorted(f"k{i:02d}" for i in range(20) if i not in (4, 5, 6))
    assert len(store) == len(expected)
    assert store.count_keys("k1") == 10
    pages, cursor = [], None
    while True:
        page = store.keys_page("k", cursor=cursor, limit=3)
        pages += page.keys
        if page.cursor is None:
            break
        cursor = page.cursor
    assert pages == expected
    clock.now += 10  # the odd keys never rewritten expire; the plain ones stay
    kept = sorted(k for k in expected if (int(k[1:]) % 2 == 0 and k != "k08") or k in ("k13", "k19"))
    assert sorted(store) == kept
    assert len(store) == len(kept)
