"""A quiet LoggingStore reads through the wrapped store's reader, with the store's own errors."""

from __future__ import annotations

import logging

import pytest

from nstore import MemoryStore
from nstore.errors import MissingKey, StoreClosed
from nstore.wrappers import LoggingStore
from tests.wrappers.test_logging import _Records, access

__all__ = ["access"]  # the fixture, used by name


def test_quiet_reads_of_a_memory_store_hit_miss_and_see_close(
    access: tuple[logging.Logger, _Records],
) -> None:
    logger, records = access
    logger.setLevel(logging.WARNING)
    inner = MemoryStore[str, bytes]({"a": b"1"})
    store = LoggingStore(inner, logger)
    assert store["a"] == b"1"
    assert store["a"] == b"1"  # through the MemoryStore's reader
    with pytest.raises(MissingKey) as caught:
        store["b"]
    assert caught.value.args == ("b",)
    inner["b"] = b"2"
    assert store["b"] == b"2"
    logger.setLevel(logging.DEBUG)
    assert store["a"] == b"1"
    assert [r.getMessage().split(" in ")[0] for r in records.records] == ["get 'a' hit 1 B"]
    logger.setLevel(logging.WARNING)
    store["a"]
    inner.close()
    with pytest.raises(StoreClosed):
        store["a"]


class _OwnRead(MemoryStore[str, bytes]):
    """A MemoryStore with its own read, which a quiet LoggingStore must call."""

    def __getitem__(self, key: str, /) -> bytes:
        return super().__getitem__(key) + b"!"


def test_quiet_reads_of_a_subclass_with_its_own_read_go_through_it(
    access: tuple[logging.Logger, _Records],
) -> None:
    logger, records = access
    logger.setLevel(logging.WARNING)
    store = LoggingStore(_OwnRead({"a": b"1"}), logger)
    assert store["a"] == b"1!"
    assert store["a"] == b"1!"
    assert records.records == []
