"""AsyncNamespaces' own promises: concurrent deploys racing to record a manifest, migrations that
list in pages and keep large batches off the event loop, checks before any write, and one store
shared by both APIs. The namespace suite itself runs for both APIs (tests/namespaces_apis.py)."""

from __future__ import annotations

import asyncio
import inspect
import random
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
import pytest

from nstore import AsyncAdapter, AsyncMemoryStore, AsyncNamespaces, AsyncStore, Namespaces, RedisStore
from nstore._target import Target
from nstore.codecs import Msgspec, Pickle, Utf8, Zlib
from nstore.errors import UnsafeCodecError
from nstore.stores.aredis import AsyncRedisStore
from nstore.stores.sqlite import SQLiteStore
from tests.namespaces_apis import BlockingNamespaces

V1 = msgspec.defstruct("User", [("name", str)], module=__name__)
# Two releases that each add a field: both read V1's values and each other's (backward).
WITH_EMAIL = msgspec.defstruct("User", [("name", str), ("email", str | None, None)], module=__name__)
WITH_PHONE = msgspec.defstruct("User", [("name", str), ("phone", str | None, None)], module=__name__)
RELEASES: list[type[msgspec.Struct]] = [V1, WITH_EMAIL, WITH_PHONE]

Backing = Callable[[], AsyncStore[str, bytes]]


@pytest.fixture(params=["asqlite", "aredis"])
def backing(request: pytest.FixtureRequest, tmp_path: Path) -> Backing:
    """A maker of async stores, each with its own connection, that all reach the same data."""
    if request.param == "aredis":
        url: str = request.getfixturevalue("redis_url")
        return lambda: AsyncRedisStore(url, timeout=5)
    return lambda: AsyncAdapter(SQLiteStore(tmp_path / "shared.db"))


def test_the_facade_runs_every_method_of_the_async_api() -> None:
    public = {n for n, v in vars(Namespaces).items() if callable(v) and not n.startswith("_")}
    assert public == {n for n, v in vars(AsyncNamespaces).items() if callable(v) and not n.startswith("_")}
    assert public <= set(vars(BlockingNamespaces))  # none falls back to the sync code
    assert all(inspect.iscoroutinefunction(getattr(AsyncNamespaces, n)) for n in public)


def test_deploys_racing_to_record_their_schemas_all_land(backing: Backing) -> None:
    """Tasks of three releases, each with its own client, open one namespace at once, many times."""

    async def deploy(number: int, round_: int) -> None:
        release = RELEASES[number]
        async with backing() as store:
            users = await AsyncNamespaces(store).namespace("users", Msgspec(release))
            await users.set(f"release{number}-{round_}", release("x"))

    async def main() -> None:
        await asyncio.gather(*(deploy(number, i) for i in range(20) for number in range(3)))
        async with backing() as store:
            db = AsyncNamespaces(store)
            manifest = await db.manifest("users")
            users = await db.namespace("users", Msgspec(WITH_EMAIL))
            assert len([k async for k in users.iter_keys()]) == 60
        # Each schema recorded once, none lost to another deploy's write of the manifest.
        assert len(manifest.fingerprint_list) == 3
        assert set(manifest.fingerprint_list) == {Target.of(Msgspec(r)).fingerprint for r in RELEASES}

    asyncio.run(main())


class _Listing(AsyncMemoryStore[str, bytes]):
    """An AsyncMemoryStore that counts the listings it starts and the ones closed early or done."""

    def __init__(self) -> None:
        super().__init__()
        self.started = self.finished = 0

    async def iter_keys(self, prefix: str | None = None) -> AsyncIterator[str]:
        self.started += 1
        try:
            async for key in super().iter_keys(prefix):
                yield key
        finally:
            self.finished += 1


def test_a_migration_lists_in_pages_and_closes_every_listing() -> None:
    async def main() -> None:
        store = _Listing()
        db = AsyncNamespaces(store)
        notes = await db.namespace("notes", Utf8())
        await notes.set_many({f"n{i:05d}": f"note {i}" for i in range(2500)})
        migrated = await db.migrate("notes", Utf8() | Zlib(), batch_size=300)
        assert await migrated.get("n02499") == "note 2499"
        assert [k async for k in store.iter_keys("notes/0/")] == []  # the old generation, 1,000 at a time
        assert store.started == store.finished  # a listing stopped after a page is closed at once

    asyncio.run(main())


def _threads_of(values: dict[str, bytes], batch_size: int) -> set[str]:
    """Where a migration's transform ran ("loop" or "thread") for ``values`` of a Zlib namespace."""
    where: set[str] = set()
    loop_thread: list[threading.Thread] = []

    def tag(value: bytes) -> bytes:
        where.add("loop" if threading.current_thread() in loop_thread else "thread")
        return value

    async def main() -> None:
        loop_thread.append(threading.current_thread())
        db = AsyncNamespaces(AsyncMemoryStore[str, bytes]())
        await (await db.namespace("blobs", Zlib())).set_many(values)
        await db.migrate("blobs", Zlib(level=1), old_chain=Zlib(), transform=tag, batch_size=batch_size)

    asyncio.run(main())
    return where


def test_a_batch_of_large_values_is_converted_in_a_thread() -> None:
    small = {f"s{i}": b"s" * 100 for i in range(50)}
    assert _threads_of(small, 500) == {"loop"}  # a few bytes stored: on the loop, no thread hop
    noise = random.Random(15)
    large = {f"l{i}": noise.randbytes(100_000) for i in range(10)}  # 100 KB stored each
    assert _threads_of(large, 2) == {"thread"}


class Session(msgspec.Struct):
    token: str


def test_an_unsafe_chain_on_a_remote_store_writes_nothing(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisStore(redis_url, timeout=5) as store:
            with pytest.raises(UnsafeCodecError):
                await AsyncNamespaces(store).namespace("sessions", Pickle(Session))
            assert [k async for k in store.iter_keys()] == []
            sessions = await AsyncNamespaces(store).namespace("sessions", Pickle(Session), trusted=True)
            await sessions.set("s1", Session("t0k"))
            assert await sessions.get("s1") == Session("t0k")

    asyncio.run(main())
    with RedisStore(redis_url) as sync:
        with pytest.raises(UnsafeCodecError):
            Namespaces(sync).migrate("sessions", Pickle(Session) | Zlib())
        assert Namespaces(sync).manifest("sessions").migration is None
        assert Namespaces(sync).manifest("sessions").generation == 0


def test_both_apis_share_one_store(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with SQLiteStore(path) as store:
        Namespaces(store).namespace("users", Msgspec(V1)).update({"ada": V1("Ada")})

    async def main() -> None:
        async with AsyncAdapter(SQLiteStore(path)) as store:
            db = AsyncNamespaces(store)
            users = await db.namespace("users", Msgspec(WITH_EMAIL))  # a new release, on the async API
            await users.set("bob", WITH_EMAIL("Bob", "bob@mail.example"))
            await db.migrate("users", Msgspec(WITH_EMAIL, format="json"), old_chain=Msgspec(WITH_EMAIL))

    asyncio.run(main())
    with SQLiteStore(path) as store:
        users = Namespaces(store).namespace("users", Msgspec(WITH_EMAIL, format="json"))
        assert dict(users.items()) == {
            "ada": WITH_EMAIL("Ada", None),
            "bob": WITH_EMAIL("Bob", "bob@mail.example"),
        }
