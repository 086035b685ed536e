"""LoggingStore joins StoreTests (logging enabled and disabled) and logs one record per operation."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Generator, Iterator

import pytest

from nstore import MemoryStore, Store
from nstore.errors import ConfigurationError, DecodeError
from nstore.wrappers import LoggingStore
from nstore.wrappers._logging import FIELDS
from tests.stores.base import StoreTests


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def fields(self) -> list[dict[str, object]]:
        return [{f: getattr(r, f) for f in FIELDS} for r in self.records]


@pytest.fixture
def access() -> Iterator[tuple[logging.Logger, _Records]]:
    logger = logging.getLogger("tests.access")
    handler = _Records()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def _inner(store: Store[str, bytes]) -> MemoryStore[str, bytes]:
    assert isinstance(store, LoggingStore)
    inner = store.store
    assert isinstance(inner, MemoryStore)
    return inner


class TestLoggingStoreEnabled(StoreTests):
    @pytest.fixture
    def store(self, access: tuple[logging.Logger, _Records]) -> Iterator[Store[str, bytes]]:
        with LoggingStore(MemoryStore[str, bytes](), access[0]) as store:
            yield store

    def raw_get(self, store: Store[str, bytes], key: str) -> bytes | None:
        return _inner(store)._data.get(key)

    def raw_set(self, store: Store[str, bytes], key: str, value: bytes) -> None:
        _inner(store)._data[key] = value


class TestLoggingStoreDisabled(TestLoggingStoreEnabled):
    @pytest.fixture
    def store(self, access: tuple[logging.Logger, _Records]) -> Iterator[Store[str, bytes]]:
        access[0].setLevel(logging.WARNING)
        with LoggingStore(MemoryStore[str, bytes](), access[0]) as store:
            yield store
        assert access[1].records == []


def test_one_record_per_operation_with_fields(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access
    store = LoggingStore(MemoryStore[str, bytes](), logger)
    store["a"] = b"12345"
    assert store["a"] == b"12345"
    with pytest.raises(KeyError):
        store["zz"]
    assert "a" in store
    store.set_many({"b": b"1", "c": b"22"})
    assert store.get_many(["a", "b", "nope"]) == {"a": b"12345", "b": b"1"}
    assert sorted(store.iter_keys()) == ["a", "b", "c"]
    store.delete_many(["b", "c"])
    del store["a"]
    assert len(store) == 0
    ops = [f["operation"] for f in handler.fields()]
    assert ops == [
        *("set", "get", "get", "contains", "set_many", "get_many", "list", "delete_many", "delete", "len")
    ]
    by_op = {f["operation"]: f for f in handler.fields()}
    assert by_op["set"] | {"duration": 0} == {
        "operation": "set",
        "key": "a",
        "count": None,
        "size": 5,
        "hit": None,
        "ttl": None,
        "duration": 0,
        "error": None,
    }
    get_hit, get_miss = (f for f in handler.fields() if f["operation"] == "get")
    assert (get_hit["hit"], get_hit["size"], get_miss["hit"], get_miss["key"]) == (True, 5, False, "zz")
    assert by_op["set_many"]["count"] == 2
    assert by_op["set_many"]["size"] == 3
    assert by_op["get_many"]["count"] == 3
    assert by_op["get_many"]["hit"] is False
    assert by_op["list"]["count"] == 3
    assert by_op["len"]["count"] == 0
    assert all(isinstance(f["duration"], float) and f["duration"] >= 0 for f in handler.fields())
    # The record's location is the caller's line, not the wrapper's.
    assert {r.filename for r in handler.records if r.__dict__["operation"] != "list"} == {"test_logging.py"}


def test_values_are_never_logged(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access
    store = LoggingStore(MemoryStore[str, bytes](), logger)
    secret = b"s3cr3t-value"
    store["k"] = secret
    store.get_many(["k"])
    store.set_if_absent("k", secret)
    store.compare_and_set("k", secret, secret + b"!")
    text = " ".join(r.getMessage() + repr(r.__dict__) for r in handler.records)
    assert "s3cr3t" not in text
    assert [f["hit"] for f in handler.fields()][2:] == [False, True]


def test_level_changes_take_effect_on_the_next_call(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access
    store = LoggingStore(MemoryStore[str, bytes](), logger, level=logging.INFO)
    store["a"] = b"1"
    logger.setLevel(logging.WARNING)
    store["b"] = b"2"
    store["b"]
    logging.disable(logging.CRITICAL)
    try:
        logger.setLevel(logging.DEBUG)
        store["c"] = b"3"
    finally:
        logging.disable(logging.NOTSET)
    store["d"] = b"4"
    assert [f["key"] for f in handler.fields()] == ["a", "d"]
    assert {r.levelno for r in handler.records} == {logging.INFO}


def test_errors_are_logged_and_raised(access: tuple[logging.Logger, _Records]) -> None:
    from nstore.codecs import Utf8

    logger, handler = access
    inner = MemoryStore[str, bytes]({"bad": b"\xff"})
    store = LoggingStore(inner.with_values(Utf8()), logger)
    with pytest.raises(DecodeError):
        store["bad"]
    assert handler.fields()[0]["error"] == "DecodeError"
    assert "failed: DecodeError" in handler.records[0].getMessage()


def test_listing_closed_early_is_logged_once(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access
    store = LoggingStore(MemoryStore[str, bytes]({"a": b"", "b": b"", "c": b""}), logger)
    keys = store.iter_keys()
    assert isinstance(keys, Generator)
    next(keys)
    keys.close()
    assert [(f["operation"], f["count"]) for f in handler.fields()] == [("list", 1)]


def test_default_logger_and_generic_types() -> None:
    store = LoggingStore(MemoryStore[int, list[str]]())
    store[1] = ["x"]
    assert store[1] == ["x"]
    assert store.logger is logging.getLogger("nstore.access")
    assert repr(store).startswith("LoggingStore(MemoryStore(")


def test_quiet_while_disabled_and_awake_after_any_level_change(
    access: tuple[logging.Logger, _Records],
) -> None:
    logger, handler = access
    logger.setLevel(logging.INFO)
    store = LoggingStore(MemoryStore[str, bytes](), logger)
    store["a"] = b"1"  # DEBUG is disabled
    assert type(store) is LoggingStore  # one class, whatever the level
    assert repr(store).startswith("LoggingStore(")
    assert store["a"] == b"1"
    assert store.get_many(["a"]) == {"a": b"1"}
    logging.getLogger("tests.unrelated").setLevel(logging.ERROR)
    store["b"] = b"2"
    assert handler.fields() == []
    logger.setLevel(logging.DEBUG)
    assert store["b"] == b"2"
    assert [f["key"] for f in handler.fields()] == ["b"]
    logging.getLogger("tests.unrelated").setLevel(logging.NOTSET)


def test_a_level_set_on_a_parent_or_by_disable_takes_effect_on_the_next_call(
    access: tuple[logging.Logger, _Records],
) -> None:
    logger, handler = access
    child = logger.getChild("child")  # no level of its own: the parent's decides
    child.addHandler(handler)
    child.propagate = False
    store = LoggingStore(MemoryStore[str, bytes]({"a": b"1"}), child)
    logger.setLevel(logging.INFO)
    store["a"]
    assert handler.fields() == []
    logger.setLevel(logging.DEBUG)
    store["a"]
    assert [f["operation"] for f in handler.fields()] == ["get"]
    logging.disable(logging.DEBUG)
    try:
        store["a"]
        assert len(handler.fields()) == 1
    finally:
        logging.disable(logging.NOTSET)
    store["a"]
    assert len(handler.fields()) == 2
    child.removeHandler(handler)


def test_level_by_name_and_bad_levels(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access
    logger.setLevel(logging.INFO)
    store = LoggingStore(MemoryStore[str, bytes](), logger, level="INFO")
    store["a"] = b"1"
    assert [r.levelno for r in handler.records] == [logging.INFO]
    LoggingStore(MemoryStore[str, bytes](), logger, level="warning")["b"] = b"2"
    assert [r.levelno for r in handler.records] == [logging.INFO, logging.WARNING]
    for bad in ("LOUD", -1, True, 1.5, None):
        with pytest.raises(ConfigurationError, match="Expected a logging level for level"):
            LoggingStore(MemoryStore[str, bytes](), logger, level=bad)  # type: ignore[arg-type]  # wrong on purpose


def test_level_toggling_under_threads(access: tuple[logging.Logger, _Records]) -> None:
    logger, handler = access
    store = LoggingStore(MemoryStore[str, bytes](), logger)
    errors: list[BaseException] = []
    stop = threading.Event()

    def work(n: int) -> None:
        try:
            i = 0
            while not stop.is_set():
                store[f"{n}/{i % 50}"] = b"x"
                assert store[f"{n}/{i % 50}"] == b"x"
                i += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for round_ in range(200):
        logger.setLevel(logging.DEBUG if round_ % 2 else logging.INFO)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    logger.setLevel(logging.DEBUG)
    handler.records.clear()
    store["last"] = b"1"
    assert [f["key"] for f in handler.fields()] == ["last"]


def test_every_record_names_the_users_line(access: tuple[logging.Logger, _Records]) -> None:
    # inherited Store methods, abc mixins and listings included
    logger, handler = access
    store = LoggingStore(MemoryStore[str, bytes]({"a": b"1"}), logger)
    lines = []
    store.get("a")
    lines.append(sys._getframe().f_lineno - 1)
    store.setdefault("a", b"2")
    lines.append(sys._getframe().f_lineno - 1)
    list(store.keys("a"))
    lines.append(sys._getframe().f_lineno - 1)
    store["a"] = b"3"
    lines.append(sys._getframe().f_lineno - 1)
    located = [(r.filename, r.lineno) for r in handler.records]
    assert {name for name, _ in located} == {"test_logging.py"}
    assert sorted({line for _, line in located}) == lines


def test_a_page_of_keys_is_logged_and_repeated_keys_are_all_found(
    access: tuple[logging.Logger, _Records],
) -> None:
    logger, handler = access
    store = LoggingStore(MemoryStore[str, bytes]({"a": b"1", "ab": b"2", "b": b"3"}), logger)
    page = store.keys_page("a", limit=10)
    assert page.keys == ["a", "ab"]
    store.get_many(["a", "a"])
    page_record, many_record = handler.fields()
    assert (page_record["operation"], page_record["key"], page_record["count"]) == ("list", "a", 2)
    assert (many_record["operation"], many_record["count"], many_record["hit"]) == ("get_many", 2, True)


@pytest.mark.parametrize("logger", ["app.access", 42])
def test_a_logger_that_is_not_one_is_refused(logger: object) -> None:
    with pytest.raises(ConfigurationError, match=r"Expected a logging\.Logger for logger"):
        LoggingStore(MemoryStore[str, bytes](), logger)  # type: ignore[arg-type]  # wrong on purpose
