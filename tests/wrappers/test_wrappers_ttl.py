"""Expiry through the logging and read-only wrappers, sync and async: the ttl is logged, and
read-only refuses the writes that expire keys but answers ttl()."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from nstore import AsyncMemoryStore, MemoryStore, Store
from nstore.errors import MissingKey, ReadOnlyError
from nstore.wrappers import AsyncLoggingStore, AsyncReadOnlyStore, LoggingStore, ReadOnlyStore
from tests.astores.facade import Blocking, LoopThread
from tests.wrappers.test_logging import _Records, access

__all__ = ["access"]  # the fixture, used by name

BOTH = pytest.mark.parametrize("api", ["sync", "async"])


def _logged(api: str, logger: logging.Logger, loop: LoopThread) -> Store[str, bytes]:
    if api == "sync":
        return LoggingStore(MemoryStore[str, bytes](), logger)
    return Blocking(AsyncLoggingStore(AsyncMemoryStore[str, bytes](), logger), loop)


@BOTH
def test_the_ttl_of_writes_and_reads_is_logged(
    api: str, access: tuple[logging.Logger, _Records], loop: LoopThread
) -> None:
    logger, handler = access
    store = _logged(api, logger, loop)
    assert store.supports_ttl
    store.set("a", b"1", ttl=30)
    store.set_many({"b": b"2"}, ttl=60)
    store.touch("a", ttl=90)
    left = store.ttl("a")
    assert left is not None
    store.touch("a", ttl=None)
    assert store.ttl("a") is None
    with pytest.raises(MissingKey):
        store.ttl("absent")
    fields = [(f["operation"], f["key"], f["ttl"], f["hit"]) for f in handler.fields()]
    assert fields == [
        ("set", "a", 30, None),
        ("set_many", None, 60, None),
        ("touch", "a", 90, True),
        ("ttl", "a", left, True),
        ("touch", "a", None, True),
        ("ttl", "a", None, True),
        ("ttl", "absent", None, False),
    ]
    messages = [r.getMessage().split(" in ")[0] for r in handler.records]
    assert messages[:3] == ["set 'a' 1 B ttl 30 s", "set_many 1 keys 1 B ttl 60 s", "touch 'a' hit ttl 90 s"]
    store.close()


@BOTH
def test_read_only_refuses_expiring_writes_and_answers_ttl(api: str, loop: LoopThread) -> None:
    below = AsyncMemoryStore[str, bytes]()
    memory = below.store
    assert isinstance(memory, MemoryStore)
    memory.set("a", b"1", ttl=600)
    memory["plain"] = b"2"
    store: Store[str, bytes] = (
        ReadOnlyStore(memory) if api == "sync" else Blocking(AsyncReadOnlyStore(below), loop)
    )
    assert store.supports_ttl
    left = store.ttl("a")
    assert left is not None
    assert left > 500
    assert store.ttl("plain") is None
    writes: list[Callable[[], None]] = [
        lambda: store.set("a", b"x", ttl=5),
        lambda: store.set_many({"a": b"x"}, ttl=5),
        lambda: store.touch("a", ttl=5),
        lambda: store.touch("plain", ttl=None),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError):
            write()
    assert memory.ttl("plain") is None
    assert memory["a"] == b"1"
    store.close()
