"""The async typed view: flattening, one call below for bulk calls, errors naming keys, offloading."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from nstore import AsyncMemoryStore, AsyncView, aopen
from nstore.aview import OFFLOAD_SIZE
from nstore.codecs import Codec, Hex, Pickle, Prefix, Utf8, Zstd
from nstore.errors import ConfigurationError, DecodeError, MissingKey, UnsafeCodecError
from nstore.stores._adapter import AsyncAdapter
from nstore.stores.aredis import AsyncRedisStore


class CountingStore(AsyncMemoryStore[str, bytes]):
    """A real AsyncMemoryStore that records the bulk calls made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, object]] = []

    async def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        keys = list(keys)
        self.calls.append(("get_many", keys))
        return await super().get_many(keys)

    def iter_keys(self, prefix: str | None = None) -> AsyncIterator[str]:
        self.calls.append(("iter_keys", prefix))
        return super().iter_keys(prefix)


def test_views_flatten_and_bulk_calls_make_one_call_below() -> None:
    async def main() -> None:
        store = CountingStore()
        view = store.with_keys(Prefix("a/")).with_keys(Prefix("b/")).with_values(Utf8())
        assert isinstance(view, AsyncView)
        assert view.store is store
        await view.set_many({"x": "1", "y": "2"})
        assert await store.get("a/b/x") == b"1"
        assert await view.get_many(["x", "y", "z"]) == {"x": "1", "y": "2"}
        assert store.calls == [("get_many", ["a/b/x", "a/b/y", "a/b/z"])]
        await store.set("a/c", b"other")
        assert [k async for k in view.iter_keys()] == ["x", "y"]
        assert store.calls[-1] == ("iter_keys", "a/b/")
        assert view.supports_prefix_listing is False  # the memory store lists by scanning
        assert await view.contains("x")
        assert not await view.contains("z")

    asyncio.run(main())


def test_errors_name_the_key() -> None:
    async def main() -> None:
        store = AsyncMemoryStore[str, bytes]()
        view = store.with_keys(Hex()).with_values(Zstd())
        await store.set(b"bad".hex(), b"not zstd")
        with pytest.raises(DecodeError) as info:
            await view.get(b"bad")
        assert info.value.key == b"bad"
        with pytest.raises(DecodeError) as bulk:
            await view.get_many([b"bad"])
        assert bulk.value.key == b"bad"
        with pytest.raises(MissingKey) as missing:
            await view.get(b"absent")
        assert missing.value.key == b"absent"
        with pytest.raises(KeyError):
            await view.delete(b"absent")
        assert not await view.contains(1)  # type: ignore[arg-type]  # a key the chain cannot encode

    asyncio.run(main())


def test_unsafe_codec_refused_on_a_remote_store() -> None:
    store = AsyncRedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(UnsafeCodecError, match="AsyncRedisStore"):
        store.with_values(Pickle())
    with pytest.raises(UnsafeCodecError):
        store.with_keys(Prefix("p/")).with_values(Pickle())
    assert store.with_values(Pickle(), trusted=True).is_remote
    asyncio.run(store.aclose())


class ThreadNoting(Codec[bytes, bytes]):
    """A real codec (identity) that notes the thread each call ran on."""

    name = "thread-noting"

    def __init__(self) -> None:
        self.threads: list[str] = []

    def encode(self, value: bytes, /) -> bytes:
        self.threads.append(threading.current_thread().name)
        return value

    def decode(self, data: bytes, /) -> bytes:
        self.threads.append(threading.current_thread().name)
        return data


def test_large_values_are_coded_in_a_thread_small_ones_on_the_loop() -> None:
    codec = ThreadNoting()
    loop_thread = threading.current_thread().name

    async def main() -> None:
        view = AsyncMemoryStore[str, bytes]().with_values(codec)
        await view.set("small", b"s" * OFFLOAD_SIZE)
        assert await view.get("small") == b"s" * OFFLOAD_SIZE
        assert codec.threads == [loop_thread, loop_thread]
        big = b"b" * (OFFLOAD_SIZE + 1)
        await view.set("big", big)
        assert await view.get("big") == big
        assert await view.get_many(["big", "small"]) == {"big": big, "small": b"s" * OFFLOAD_SIZE}
        await view.set_many({"big2": big})
        assert all(name != loop_thread for name in codec.threads[2:]), codec.threads

    asyncio.run(main())


# -- aopen and construction errors ---------------------------------------------------------------


def test_aopen_picks_the_native_store_or_the_adapter(tmp_path: Path) -> None:
    async def main() -> None:
        memory = aopen("memory://?maxsize=2")
        assert isinstance(memory, AsyncMemoryStore)
        await memory.set_many({"a": b"1", "b": b"2", "c": b"3"})
        assert [k async for k in memory.iter_keys()] == ["b", "c"]
        sqlite = aopen(tmp_path / "x.db")
        assert isinstance(sqlite, AsyncAdapter)
        assert sqlite.is_persistent
        await sqlite.aclose()
        redis = aopen("redis://127.0.0.1:1/0?prefix=app:&timeout=0.5")
        assert isinstance(redis, AsyncRedisStore)
        await redis.aclose()
        cluster = aopen("redis+cluster://127.0.0.1:1,127.0.0.1:2")
        assert isinstance(cluster, AsyncRedisStore)
        await cluster.aclose()

    asyncio.run(main())


def test_aopen_refuses_what_open_refuses() -> None:
    with pytest.raises(ConfigurationError, match="Unknown option 'bogus'"):
        aopen("memory://?bogus=1")
    with pytest.raises(ConfigurationError, match="Unknown store URL scheme"):
        aopen("gopher://example")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_connections": 0}, "max_connections"), ({"max_connections": True}, "max_connections")],
)
def test_async_redis_options_are_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AsyncRedisStore("redis://127.0.0.1:1/0", **kwargs)  # type: ignore[arg-type]  # bad on purpose


def test_async_redis_refuses_decoding_clients() -> None:
    import redis.asyncio

    client = redis.asyncio.Redis(port=1, decode_responses=True)
    with pytest.raises(ConfigurationError, match="decode_responses=False"):
        AsyncRedisStore(client)
    asyncio.run(client.aclose())
    with pytest.raises(ConfigurationError, match="Expected a redis"):
        AsyncRedisStore(42)  # type: ignore[arg-type]  # bad on purpose
