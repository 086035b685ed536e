"""The async logging and read-only stores decide as the sync ones do: the same records, field for
field, for the same calls; the same refusals; cancellations logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from nstore import AsyncMemoryStore, AsyncStore, MemoryStore
from nstore.errors import ReadOnlyError
from nstore.wrappers import AsyncLoggingStore, AsyncReadOnlyStore, LoggingStore
from tests.astores.facade import Blocking, LoopThread
from tests.wrappers.test_logging import _Records, access

__all__ = ["access"]  # the fixture, used by name


def _calls(store: Any) -> None:
    """The same calls, through the sync API (a LoggingStore, or the facade over the async one)."""
    store.set_many({"b": b"1", "c": b"22"})
    store["a"] = b"12345"
    assert store.get_many(["a", "b", "nope"]) == {"a": b"12345", "b": b"1"}
    with pytest.raises(KeyError):
        store["zz"]
    assert store.set_if_absent("a", b"x") is False
    assert store.compare_and_set("a", b"12345", b"6") is True
    assert store["a"] == b"6"
    assert "a" in store
    assert sorted(store.iter_keys()) == ["a", "b", "c"]
    assert store.ttl("a") is None
    store.delete_many(["b", "c"])
    del store["a"]


def test_async_records_are_the_sync_records(
    access: tuple[logging.Logger, _Records], loop: LoopThread
) -> None:
    logger, handler = access
    _calls(LoggingStore(MemoryStore[str, bytes](), logger))
    sync = [{**f, "duration": None} for f in handler.fields()]
    messages = [r.getMessage().split(" in ")[0] for r in handler.records]
    handler.records.clear()
    _calls(Blocking(AsyncLoggingStore(AsyncMemoryStore[str, bytes](), logger), loop))
    assert [{**f, "duration": None} for f in handler.fields()] == sync
    assert [r.getMessage().split(" in ")[0] for r in handler.records] == messages
    # A record's location is the coroutine that awaited the call: here, the facade's.
    assert {r.filename for r in handler.records if r.__dict__["operation"] != "list"} == {"facade.py"}


def test_a_cancelled_call_is_logged_as_such(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access

    class _Stuck(AsyncMemoryStore[str, bytes]):
        async def get(self, key: str, /) -> bytes:
            await asyncio.Event().wait()
            raise AssertionError("never set")

    async def main() -> None:
        task = asyncio.create_task(AsyncLoggingStore(_Stuck(), logger).get("a"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert [(f["operation"], f["error"]) for f in handler.fields()] == [("get", "CancelledError")]


def test_quiet_async_logging_store_logs_nothing(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access
    logger.setLevel(logging.INFO)

    async def main() -> bytes:
        store = AsyncLoggingStore(AsyncMemoryStore[str, bytes](), logger)
        await store.set("a", b"1", ttl=None)
        keys = [k async for k in store.iter_keys()]
        assert keys == ["a"]
        logger.setLevel(logging.DEBUG)  # takes effect on the next call
        return await store.get("a")

    assert asyncio.run(main()) == b"1"
    assert [f["operation"] for f in handler.fields()] == ["get"]
    assert store_logger_default() is logging.getLogger("nstore.access")


def store_logger_default() -> logging.Logger:
    return AsyncLoggingStore(AsyncMemoryStore[str, bytes]()).logger


WRITES: list[tuple[str, Callable[[AsyncStore[str, bytes]], Awaitable[Any]]]] = [
    ("set", lambda s: s.set("a", b"x")),
    ("set with ttl", lambda s: s.set("a", b"x", ttl=5)),
    ("delete", lambda s: s.delete("a")),
    ("set_many", lambda s: s.set_many({"a": b"x"})),
    ("delete_many", lambda s: s.delete_many(["a"])),
    ("touch", lambda s: s.touch("a", ttl=5)),
    ("set_if_absent", lambda s: s.set_if_absent("new", b"x")),
    ("compare_and_set", lambda s: s.compare_and_set("a", b"1", b"x")),
]


@pytest.mark.parametrize(("name", "write"), WRITES, ids=[n for n, _ in WRITES])
def test_every_async_write_is_refused(
    name: str, write: Callable[[AsyncStore[str, bytes]], Awaitable[Any]]
) -> None:
    async def main() -> None:
        below = AsyncMemoryStore[str, bytes]({"a": b"1"})
        store = AsyncReadOnlyStore(below)
        with pytest.raises(ReadOnlyError, match="read-only") as info:
            await write(store)
        assert isinstance(info.value, PermissionError)
        assert await below.get_many(["a", "new"]) == {"a": b"1"}
        assert await store.get("a") == b"1"
        assert await store.ttl("a") is None  # forwarded
        assert store.supports_atomic_writes is False
        await store.aclose()

    asyncio.run(main())
