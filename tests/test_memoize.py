"""memoize over sync stores: keys, statistics, options checked when decorating, errors, clearing."""

from __future__ import annotations

import dataclasses
import enum
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nstore import FileStore, Memoized, MemoryStore, ReadOnlyStore, SQLiteStore, Store, memoize
from nstore.codecs import Msgspec, Prefix
from nstore.errors import ConfigurationError, KeyEncodingError, UnsupportedOperation

ROOT = Path(__file__).resolve().parent.parent


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


def counted(store: Store[str, int]) -> tuple[Memoized[..., str, int], list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    @memoize(store)
    def add(a: int, b: int = 0) -> int:
        calls.append((a, b))
        return a + b

    return add, calls


def test_a_second_call_is_a_hit_and_computes_nothing() -> None:
    add, calls = counted(MemoryStore[str, int]())
    assert add(2, 3) == 5
    assert add(2, 3) == 5
    assert add(2, b=4) == 6
    assert calls == [(2, 3), (2, 4)]
    info = add.cache_info()
    assert (info.hits, info.misses, info.computations, info.waits, info.errors) == (1, 2, 2, 0, 0)


def test_results_live_in_the_store_under_the_functions_name(tmp_path: Path) -> None:
    db = SQLiteStore(tmp_path / "cache.db")
    store = db.with_values(Msgspec(int))
    add, _ = counted(store)
    add(1, 2)
    (key,) = list(db.keys())
    assert key == add.cache_key(1, 2)
    # a function defined inside another: its qualname and a digest of its code
    assert re.match(r"tests\.test_memoize\.counted\.<locals>\.add@[0-9a-f]{12}/", key)
    # another memoized function over the same store, another process even, finds it there
    again, calls_again = counted(store)
    assert again(1, 2) == 3
    assert calls_again == []
    db.close()


def test_two_lambdas_over_one_store_do_not_share_keys() -> None:
    store = MemoryStore[str, int]()
    double = memoize(store)(lambda x: 2 * x)
    triple = memoize(store)(lambda x: 3 * x)
    assert (double(5), triple(5)) == (10, 15)
    assert double.cache_key(5) != triple.cache_key(5)
    named = memoize(store, name="app.triple")(lambda x: 3 * x)
    assert named.cache_key(5).startswith("app.triple/")


def test_a_lambdas_name_is_the_same_in_another_process() -> None:
    code = (
        "from nstore import MemoryStore, memoize\n"
        "f = memoize(MemoryStore())(lambda x, y=frozenset({'a', 'b', 'c'}): (x, 2.5, 'k'))\n"
        "print(f.cache_key(1))"
    )
    command = [sys.executable, "-c", code]
    runs = [subprocess.run(command, capture_output=True, text=True, check=True) for _ in "ab"]
    keys = {run.stdout.strip() for run in runs}  # each with its own hash seed: a frozenset's order differs
    assert len(keys) == 1
    assert re.match(r"__main__\.<lambda>@[0-9a-f]{12}/", keys.pop())


def test_the_default_key_is_the_same_in_another_process() -> None:
    code = (
        "from nstore._memoize._keys import default_key\n"
        "print(default_key('app.f')(('ada', 3, 1.5, None, b'x', (1, [2]), {'b': 1, 'a': 2}), {'flag': True}))"
    )
    from nstore._memoize._keys import default_key

    here = default_key("app.f")(("ada", 3, 1.5, None, b"x", (1, [2]), {"a": 2, "b": 1}), {"flag": True})
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here
    # the encoding is part of the format: keys stored by an earlier run must still be found
    assert here == "app.f/62f70bf805b52ba192cf841af25a0e6b"


def test_keys_tell_apart_what_the_function_may_tell_apart() -> None:
    add, _ = counted(MemoryStore[str, int]())
    key = add.cache_key
    distinct = {key(1, 1), key(1, True), key(1, 1.0), key(1, b=1), key(True, 1)}
    assert len(distinct) == 5
    assert key(a=1, b=2) == key(b=2, a=1)  # keyword order does not matter


def test_keys_of_two_functions_differ() -> None:
    store = MemoryStore[str, int]()

    @memoize(store)
    def f(x: int) -> int:
        return x

    @memoize(store, name="g")
    def g(x: int) -> int:
        return -x

    assert f(1) == 1
    assert g(1) == -1
    assert g.cache_key(1).startswith("g/")


def test_structured_arguments_make_keys() -> None:
    store = MemoryStore[str, str]()

    @memoize(store)
    def describe(point: Point, color: Color, tags: frozenset[str]) -> str:
        return f"{point} {color} {sorted(tags)}"

    first = describe(Point(1, 2), Color.RED, frozenset({"a", "b"}))
    assert describe(Point(1, 2), Color.RED, frozenset({"b", "a"})) == first
    assert describe.cache_info().hits == 1


def test_an_argument_it_cannot_encode_is_refused_clearly() -> None:
    store = MemoryStore[str, int]()

    @memoize(store)
    def size(thing: object) -> int:
        return 1

    with pytest.raises(KeyEncodingError, match=r"cannot make a key for a call of .*size.*pass key="):
        size(object())
    with pytest.raises(KeyEncodingError):
        size(2**70)
    assert len(store) == 0


def test_key_builds_the_key_and_any_key_type_works() -> None:
    store = MemoryStore[tuple[str, int], str]()

    class User:
        def __init__(self, name: str) -> None:
            self.name = name

    @memoize(store, key=lambda user, n: (user.name, n))
    def greet(user: User, n: int) -> str:
        return f"hello {user.name} x{n}"

    assert greet(User("ada"), 2) == "hello ada x2"
    assert greet(User("ada"), 2) == "hello ada x2"
    assert store[("ada", 2)] == "hello ada x2"
    assert greet.cache_info().hits == 1
    with pytest.raises(UnsupportedOperation, match=r"key=.*invalidate"):
        greet.cache_clear()
    greet.invalidate(User("ada"), 2)
    assert len(store) == 0


def test_cache_clear_deletes_only_this_functions_values_and_resets_counts(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "cache").with_values(Msgspec(int))
    add, calls = counted(store)
    for a in range(5):
        add(a, 1)
    add(0, 1)
    store["add/unrelated"] = 7
    store[add.cache_key(9, 9) + "x"] = 8  # not a key this function makes
    add.cache_clear()
    assert sorted(store.keys()) == sorted(["add/unrelated", add.cache_key(9, 9) + "x"])
    assert add.cache_info().hits == 0
    add(0, 1)
    assert len(calls) == 6


def test_invalidate_forgets_one_call() -> None:
    add, calls = counted(MemoryStore[str, int]())
    add(1, 1)
    add(2, 2)
    add.invalidate(1, 1)
    add.invalidate(5, 5)  # never stored: nothing to do
    add(1, 1)
    add(2, 2)
    assert calls == [(1, 1), (2, 2), (1, 1)]


def test_exceptions_are_not_cached_by_default() -> None:
    attempts: list[int] = []

    @memoize(MemoryStore[str, int]())
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            raise RuntimeError("first time")
        return x

    with pytest.raises(RuntimeError, match="first time"):
        flaky(1)
    assert flaky(1) == 1
    assert attempts == [1, 1]
    assert flaky.cache_info().errors == 1


def test_cached_exceptions_are_raised_again_until_cleared() -> None:
    attempts: list[int] = []

    @memoize(MemoryStore[str, int](), cache_errors=(LookupError,))
    def lookup(x: int) -> int:
        attempts.append(x)
        if x < 0:
            raise KeyError(x)
        if x == 0:
            raise ValueError("zero")
        return x

    for _ in range(3):
        with pytest.raises(KeyError):
            lookup(-1)
    assert attempts == [-1]
    for _ in range(2):
        with pytest.raises(ValueError, match="zero"):
            lookup(0)
    assert attempts == [-1, 0, 0]  # not a LookupError: not cached
    lookup.invalidate(-1)
    with pytest.raises(KeyError):
        lookup(-1)
    assert attempts == [-1, 0, 0, -1]
    lookup.cache_clear()
    with pytest.raises(KeyError):
        lookup(-1)
    assert attempts == [-1, 0, 0, -1, -1]


def test_the_wrapped_function_is_described() -> None:
    add, _ = counted(MemoryStore[str, int]())
    assert add.__name__ == "add"
    assert add.__wrapped__.__name__ == "add"
    assert add.__module__ == __name__
    import inspect

    assert list(inspect.signature(add).parameters) == ["a", "b"]


def test_options_are_checked_when_decorating(tmp_path: Path) -> None:
    store = MemoryStore[str, int]()
    with pytest.raises(UnsupportedOperation, match="supports_ttl is False"):
        memoize(FileStore(tmp_path / "files"), ttl=60)
    for ttl in (0, -1, float("inf"), True, "60"):
        with pytest.raises(ConfigurationError, match="seconds for ttl"):
            memoize(store, ttl=ttl)  # type: ignore[arg-type]  # the bad values under test
    with pytest.raises(ConfigurationError, match="callable for key="):
        memoize(store, key="k")  # type: ignore[call-overload]  # a bad value under test
    with pytest.raises(ConfigurationError, match="non-empty str for name="):
        memoize(store, name="")
    with pytest.raises(ConfigurationError, match="seconds for lease_timeout"):
        memoize(store, leases=MemoryStore[str, bytes](), lease_timeout=0)
    with pytest.raises(ConfigurationError, match="seconds for lease_poll"):
        memoize(store, lease_poll=float("nan"))
    with pytest.raises(UnsupportedOperation, match=r"no atomic writes.*cannot hold leases"):
        memoize(store, leases=ReadOnlyStore(MemoryStore[str, bytes]()))
    with pytest.raises(ConfigurationError, match="Expected a Store for leases"):
        memoize(store, leases={})  # type: ignore[call-overload]  # a bad value under test
    with pytest.raises(ConfigurationError, match="cache_errors"):
        memoize(store, cache_errors=(BaseException,))  # type: ignore[arg-type]  # a bad value under test
    with pytest.raises(ConfigurationError, match="no option 'tll'"):
        memoize(store, tll=60)  # type: ignore[call-overload]  # a misspelt option under test
    with pytest.raises(ConfigurationError, match="Expected a Store for store"):
        memoize({})  # type: ignore[call-overload]  # a bad value under test


def test_an_async_function_needs_an_async_store() -> None:
    async def fetch(x: int) -> int:
        return x

    with pytest.raises(
        ConfigurationError, match=r"async function: memoize it over an AsyncStore.*AsyncAdapter"
    ):
        memoize(MemoryStore[str, int]())(fetch)  # type: ignore[arg-type]  # the mistake under test


def test_a_view_with_a_prefix_namespaces_the_keys() -> None:
    backend = MemoryStore[str, int]()
    add, _ = counted(backend.with_keys(Prefix("cache/")))
    add(1, 1)
    assert next(iter(backend.keys())).startswith("cache/tests.test_memoize.")
    add.cache_clear()
    assert len(backend) == 0


class Clock:
    """A clock the test moves by hand (MemoryStore's clock=)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ttl_goes_through_the_stores_set_and_a_value_expires() -> None:
    clock = Clock()
    store = MemoryStore[str, int](clock=clock)
    add, calls = counted_with_ttl(store, 60)
    assert add(1, 2) == 3
    assert store.ttl(add.cache_key(1, 2)) == 60
    clock.now += 59
    assert add(1, 2) == 3
    clock.now += 2  # past the ttl: absent, computed again
    assert add(1, 2) == 3
    assert calls == [(1, 2), (1, 2)]
    assert store.ttl(add.cache_key(1, 2)) == 60


def test_a_ttl_reaches_the_store_through_a_view() -> None:
    clock = Clock()
    backend = MemoryStore[str, bytes](clock=clock)
    store = backend.with_keys(Prefix("memo/")).with_values(Msgspec(int))
    add, _ = counted_with_ttl(store, 5)
    add(1, 1)
    (key,) = list(backend.keys())
    assert backend.ttl(key) == 5


def test_cached_errors_expire_after_error_ttl() -> None:
    attempts: list[int] = []

    @memoize(MemoryStore[str, int](), ttl=3600, cache_errors=True, error_ttl=0.05)
    def failing(x: int) -> int:
        attempts.append(x)
        raise RuntimeError(x)

    for _ in range(2):
        with pytest.raises(RuntimeError):
            failing(1)
    assert attempts == [1]
    deadline = time.monotonic() + 10
    while len(attempts) == 1 and time.monotonic() < deadline:  # real time: error_ttl is 50 ms
        time.sleep(0.02)
        with pytest.raises(RuntimeError):
            failing(1)
    assert attempts == [1, 1]


def counted_with_ttl(
    store: Store[str, int], ttl: float
) -> tuple[Memoized[..., str, int], list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    @memoize(store, ttl=ttl)
    def add(a: int, b: int = 0) -> int:
        calls.append((a, b))
        return a + b

    return add, calls


@dataclasses.dataclass(frozen=True)
class Tariff:
    """A frozen dataclass: memoized methods key it by value, with the default key."""

    rate: int


_TARIFFS = MemoryStore[str, int]()
_PRICE_CALLS: list[int] = []


class PricedTariff(Tariff):
    @memoize(_TARIFFS)
    def price(self, units: int) -> int:
        _PRICE_CALLS.append(units)
        return self.rate * units


class Meter:
    def __init__(self, serial: str) -> None:
        self.serial = serial

    @memoize(MemoryStore[str, str](), key=lambda self, day: f"{self.serial}/{day}")
    def reading(self, day: str) -> str:
        return f"{self.serial} on {day}"


def test_a_memoized_method_is_bound_to_its_instance() -> None:
    assert PricedTariff(3).price(2) == 6
    assert PricedTariff(3).price(2) == 6  # another instance, equal by value: the same key
    assert PricedTariff(4).price(2) == 8
    assert _PRICE_CALLS == [2, 2]
    assert PricedTariff.price.cache_info().hits == 1
    assert PricedTariff.price.cache_key(PricedTariff(3), 2) in _TARIFFS
    meter = Meter("M-1")
    assert meter.reading("mon") == "M-1 on mon"
    assert Meter.reading.cache_key(meter, "mon") == "M-1/mon"
    with pytest.raises(KeyEncodingError, match="pass key="):
        memoize(MemoryStore[str, int]())(lambda self: 1)(Meter("M-2"))


def test_a_value_expires_in_sqlite_and_is_computed_again(tmp_path: Path) -> None:
    clock = Clock()
    db = SQLiteStore(tmp_path / "cache.db", clock=clock)
    add, calls = counted_with_ttl(db.with_values(Msgspec(int)), 30)
    assert add(2, 2) == 4
    assert db.ttl(add.cache_key(2, 2)) == 30
    clock.now += 29
    assert add(2, 2) == 4
    clock.now += 2
    assert add(2, 2) == 4
    assert calls == [(2, 2), (2, 2)]
    db.close()


def test_a_value_with_a_ttl_in_a_plain_memory_store_is_a_hit() -> None:
    # the plain MemoryStore's reader holds only the entries that never expire
    calls: list[int] = []

    @memoize(MemoryStore[str, int](), ttl=60)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    assert [double(1) for _ in range(5)] == [2] * 5
    info = double.cache_info()
    assert (info.hits, info.misses, info.computations, info.waits) == (4, 1, 1, 0)
    assert calls == [1]
