"""compare_and_set through typed views, sync and async: it compares values, not their encodings.

Equal values may encode differently (a set decoded and encoded again iterates in another order;
a dict in another insertion order), so a view that compared encodings would fail forever on the
value it had just read. The view reads the stored bytes, decodes and compares them by ``==``, and
hands those very bytes to the store's own compare_and_set, so a write between the two still
makes it fail.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nstore import AsyncAdapter, AsyncMemoryStore, AsyncStore, MemoryStore, Store
from nstore.codecs import Codec, Msgspec, Pickle, Prefix, Pydantic, Utf8
from nstore.errors import DecodeError
from nstore.stores.sqlite import SQLiteStore
from tests.threads import run_threads

CODECS: list[Callable[[], Codec[Any, bytes]]] = [
    lambda: Msgspec(set[str]),
    lambda: Msgspec(frozenset[int]),
    lambda: Pydantic(set[str]),
    lambda: Pickle(set),
]
_TRIES = 10_000  # a CAS loop that needs more attempts than this never ends


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store[str, bytes]]:
    store: Store[str, bytes] = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    yield store
    store.close()


@pytest.fixture(params=["amemory", "asqlite"])
def abackend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncStore[str, bytes]:
    if request.param == "amemory":
        return AsyncMemoryStore[str, bytes]()
    return AsyncAdapter(SQLiteStore(tmp_path / "s.db"))


def _sets(codec: Codec[Any, bytes], count: int) -> Iterator[Any]:
    """Random sets of a few to sixty items, of str or of int as ``codec`` holds."""
    ints = "int" in repr(codec)
    for trial in range(count):
        rnd = random.Random(trial)
        items = [rnd.randrange(10**6) for _ in range(rnd.randrange(1, 60))]
        yield frozenset(items) if ints else {f"item-{i}" for i in items}


class WriterBetween(MemoryStore[str, bytes]):
    """A real MemoryStore where another writer replaces a key right after the next read of it."""

    def __init__(self) -> None:
        super().__init__()
        self.next_writes: dict[str, bytes] = {}  # key: what the other writer writes after a read

    def __getitem__(self, key: str, /) -> bytes:
        raw = super().__getitem__(key)
        if key in self.next_writes:
            super().__setitem__(key, self.next_writes.pop(key))
        return raw


# -- sync ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", CODECS)
def test_cas_with_the_value_just_read_succeeds(
    backend: Store[str, bytes], make: Callable[[], Codec[Any, bytes]]
) -> None:
    codec = make()
    view = backend.with_values(codec)
    for value in _sets(codec, 60):
        view["k"] = value
        current = view["k"]
        assert view.compare_and_set("k", current, current) is True
        assert view["k"] == value
        assert view.compare_and_set("k", value, current) is True


def test_cas_compares_dicts_by_value_not_order(backend: Store[str, bytes]) -> None:
    view = backend.with_keys(Prefix("p/")).with_values(Msgspec(dict[str, int]))
    view["k"] = {"a": 1, "b": 2}
    assert view.compare_and_set("k", {"b": 2, "a": 1}, {"a": 9}) is True
    assert view["k"] == {"a": 9}
    assert view.compare_and_set("k", {"a": 1, "b": 2}, {"a": 0}) is False  # another value
    assert view["k"] == {"a": 9}
    assert view.compare_and_set("missing", {"a": 9}, {"a": 0}) is False  # absent
    assert "missing" not in view


def test_cas_on_a_value_unequal_to_itself_compares_its_bytes(backend: Store[str, bytes]) -> None:
    view = backend.with_values(Msgspec(float))
    view["k"] = math.nan
    assert view.compare_and_set("k", view["k"], 1.0) is True  # NaN != NaN, but the same bytes
    assert view["k"] == 1.0


def test_cas_names_the_key_of_a_stored_value_that_does_not_decode(backend: Store[str, bytes]) -> None:
    backend["k"] = b"\xff not utf-8"
    with pytest.raises(DecodeError, match="'k'"):
        backend.with_values(Utf8()).compare_and_set("k", "x", "y")
    assert backend["k"] == b"\xff not utf-8"


def test_cas_fails_when_the_stored_bytes_change_after_its_read() -> None:
    codec = Msgspec(set[str])
    store = WriterBetween()
    view = store.with_values(codec)
    store["k"] = codec.encode({"a", "b"})
    store.next_writes["k"] = codec.encode({"other writer"})
    assert view.compare_and_set("k", {"b", "a"}, {"mine"}) is False
    assert view["k"] == {"other writer"}  # its write is kept, not overwritten


@pytest.mark.parametrize("make", CODECS[:2])
def test_two_threads_cas_loops_on_a_set_lose_no_update(
    backend: Store[str, bytes], make: Callable[[], Codec[Any, bytes]]
) -> None:
    codec = make()
    view = backend.with_values(codec)
    ints = "int" in repr(codec)
    view["k"] = frozenset() if ints else set()
    per_thread = 150

    def add(n: int) -> None:
        for i in range(per_thread):
            item = n * per_thread + i if ints else f"t{n}-{i}"
            for _ in range(_TRIES):
                current = view["k"]
                if view.compare_and_set("k", current, current | {item}):
                    break
            else:
                raise AssertionError(f"Expected a CAS loop to end. Got {_TRIES} failures adding {item!r}.")

    assert run_threads(add, 2) == []
    assert len(view["k"]) == 2 * per_thread


# -- async -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", CODECS)
def test_async_cas_with_the_value_just_read_succeeds(
    abackend: AsyncStore[str, bytes], make: Callable[[], Codec[Any, bytes]]
) -> None:
    async def main() -> None:
        codec = make()
        view = abackend.with_values(codec)
        for value in _sets(codec, 60):
            await view.set("k", value)
            current = await view.get("k")
            assert await view.compare_and_set("k", current, current) is True
            assert await view.get("k") == value
        dicts = abackend.with_keys(Prefix("d/")).with_values(Msgspec(dict[str, int]))
        await dicts.set("k", {"a": 1, "b": 2})
        assert await dicts.compare_and_set("k", {"b": 2, "a": 1}, {"a": 9}) is True
        assert await dicts.compare_and_set("k", {"b": 2, "a": 1}, {"a": 0}) is False
        assert await dicts.compare_and_set("missing", {"a": 9}, {"a": 0}) is False
        assert await dicts.get("k") == {"a": 9}
        await abackend.set("bad", b"\xff not utf-8")
        with pytest.raises(DecodeError, match="'bad'"):
            await abackend.with_values(Utf8()).compare_and_set("bad", "x", "y")
        await abackend.aclose()

    asyncio.run(main())


def test_async_cas_fails_when_the_stored_bytes_change_after_its_read() -> None:
    codec = Msgspec(set[str])
    store = WriterBetween()
    store["k"] = codec.encode({"a", "b"})
    store.next_writes["k"] = codec.encode({"other writer"})

    async def main() -> None:
        view = AsyncAdapter(store).with_values(codec)
        assert await view.compare_and_set("k", {"b", "a"}, {"mine"}) is False
        assert await view.get("k") == {"other writer"}
        await view.aclose()

    asyncio.run(main())


def test_async_cas_loops_on_a_set_lose_no_update(abackend: AsyncStore[str, bytes]) -> None:
    per_task = 100

    async def add(view: AsyncStore[str, set[str]], n: int) -> None:
        for i in range(per_task):
            for _ in range(_TRIES):
                current = await view.get("k")
                if await view.compare_and_set("k", current, current | {f"t{n}-{i}"}):
                    break
            else:
                raise AssertionError(f"Expected a CAS loop to end. Got {_TRIES} failures.")

    async def main() -> None:
        view = abackend.with_values(Msgspec(set[str]))
        await view.set("k", set())
        await asyncio.gather(add(view, 0), add(view, 1))
        assert len(await view.get("k")) == 2 * per_task
        await abackend.aclose()

    asyncio.run(main())
