"""Gets started in one loop tick go as one batch, and each caller still gets its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from nstore import MemoryStore
from nstore.errors import InvalidKey, MissingKey, StoreUnavailable
from nstore.server import serve_in_thread
from nstore.stores.ahttp import AsyncHTTPStore


class CountingStore(MemoryStore[str, bytes]):
    """A MemoryStore that counts the reads the server makes of it."""

    def __init__(self, data: dict[str, bytes]) -> None:
        super().__init__(data)
        self.gets = 0
        self.batches: list[int] = []

    def __getitem__(self, key: str, /) -> bytes:
        self.gets += 1
        return super().__getitem__(key)

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        keys = list(keys)
        self.batches.append(len(keys))
        return super().get_many(keys)


def test_gathered_gets_are_one_batch_each_with_its_own_answer() -> None:
    backend = CountingStore({f"k{i}": str(i).encode() for i in range(100)})

    async def main(url: str) -> None:
        async with AsyncHTTPStore(url) as store:
            keys = [f"k{i}" for i in range(100)] + ["k1", "absent"]
            answers = await asyncio.gather(*(store.get(k) for k in keys), return_exceptions=True)
            assert answers[:100] == [str(i).encode() for i in range(100)]
            assert answers[100] == b"1"
            assert isinstance(answers[101], MissingKey)
            assert answers[101].args == ("absent",)
            assert backend.batches == [101]
            assert backend.gets == 0
            assert await store.get("k5") == b"5"  # alone in its tick: a plain GET
            assert backend.gets == 1

    with serve_in_thread(backend) as server:
        asyncio.run(main(server.url))


def test_a_key_the_server_refuses_fails_only_its_caller() -> None:
    backend = MemoryStore[str, bytes]({"a": b"1", "b": b"2"})

    async def main(url: str) -> None:
        async with AsyncHTTPStore(url) as store:
            answers = await asyncio.gather(
                store.get("a"), store.get("x" * 600), store.get("b"), return_exceptions=True
            )
            assert answers[0] == b"1"
            assert answers[2] == b"2"
            assert isinstance(answers[1], InvalidKey)
            with pytest.raises(InvalidKey):
                await store.get(7)  # type: ignore[arg-type]  # refused before it joins a batch

    with serve_in_thread(backend, max_key_length=512) as server:
        asyncio.run(main(server.url))


def test_cancelled_callers_leave_the_others_their_answers() -> None:
    backend = MemoryStore[str, bytes]({f"k{i}": bytes([i]) * 100_000 for i in range(20)})

    async def main(url: str) -> None:
        async with AsyncHTTPStore(url) as store:
            for _ in range(5):
                tasks = [asyncio.ensure_future(store.get(f"k{i}")) for i in range(20)]
                await asyncio.sleep(0)  # every get has joined the batch
                for task in tasks[::2]:
                    task.cancel()
                answers = await asyncio.gather(*tasks, return_exceptions=True)
                for i, answer in enumerate(answers):
                    if i % 2:
                        assert answer == bytes([i]) * 100_000
                    else:
                        assert isinstance(answer, asyncio.CancelledError)
            assert await store.get_many(["k1", "k2"]) == {"k1": backend["k1"], "k2": backend["k2"]}

    with serve_in_thread(backend) as server:
        asyncio.run(main(server.url))


def test_an_unreachable_server_fails_every_caller() -> None:
    async def main() -> None:
        async with AsyncHTTPStore("http://127.0.0.1:1", retries=0, connect_timeout=0.5) as store:
            answers = await asyncio.gather(*(store.get(f"k{i}") for i in range(5)), return_exceptions=True)
            assert all(isinstance(answer, StoreUnavailable) for answer in answers)

    asyncio.run(main())


def test_without_coalescing_each_get_is_its_own_request() -> None:
    backend = CountingStore({"a": b"1", "b": b"2"})

    async def main(url: str) -> None:
        async with AsyncHTTPStore(url, coalesce=False) as store:
            assert list(await asyncio.gather(store.get("a"), store.get("b"))) == [b"1", b"2"]
        assert backend.gets == 2
        assert backend.batches == []

    with serve_in_thread(backend) as server:
        asyncio.run(main(server.url))


def test_a_first_get_cancelled_while_collecting_leaves_the_others_answered() -> None:
    backend = MemoryStore[str, bytes]({"a": b"1", "b": b"2", "c": b"3"})

    async def main(url: str) -> None:
        async with AsyncHTTPStore(url) as store:
            first = asyncio.ensure_future(store.get("a"))
            others = [asyncio.ensure_future(store.get(k)) for k in ("b", "c")]
            await asyncio.sleep(0)  # the first collects, the others join
            first.cancel()
            assert await asyncio.gather(*others) == [b"2", b"3"]
            with pytest.raises(asyncio.CancelledError):
                await first

    with serve_in_thread(backend) as server:
        asyncio.run(main(server.url))
