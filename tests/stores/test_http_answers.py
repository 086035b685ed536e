"""What HTTPStore and AsyncHTTPStore make of answers that are well framed but not what nstore's
server sends (a proxy's HTML page, a document of another shape), of a read-only store's 403, and
of tokens beyond ASCII: errors of nstore's tree, each saying what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nstore import MemoryStore, Store
from nstore.errors import (
    AuthError,
    ConfigurationError,
    ReadOnlyError,
    StoreError,
    StoreUnavailable,
    UnsupportedOperation,
)
from nstore.server import serve_in_thread
from nstore.wrappers import ReadOnlyStore
from tests.stores.rawhttp import Open, client, raw_server

__all__ = ["client"]  # the fixture, from rawhttp


def _ok(body: bytes, kind: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (kind, len(body), body)


OPERATIONS: dict[str, Callable[[Store[str, bytes]], Any]] = {
    "ttl": lambda store: store.ttl("k"),
    "keys": lambda store: list(store.keys()),
    "keys_page": lambda store: store.keys_page(),
    "get_many": lambda store: store.get_many(["a", "b"]),
    "set_many": lambda store: store.set_many({"a": b"1"}),
    "delete_many": lambda store: store.delete_many(["a"]),
}
ANSWERS = {
    "html": _ok(b"<html>oops</html>", b"text/html"),
    "json of another shape": _ok(b'{"keys": 5, "values": [1], "ttl": "soon"}', b"application/json"),
    "msgpack of another shape": _ok(b"\x81\xa6values\x91\x01", b"application/msgpack"),
}


@pytest.mark.parametrize("answer", ANSWERS.values(), ids=ANSWERS.keys())
@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_an_answer_nstore_cannot_read_is_a_store_error(
    client: Open, operation: Callable[[Store[str, bytes]], Any], answer: bytes
) -> None:
    with raw_server(answer) as server:
        store = client(server.url, retries=0)
        with pytest.raises(StoreError, match=r"Expected a .* Check that the URL names an nstore") as info:
            operation(store)
        assert not isinstance(info.value, StoreUnavailable)  # the server answered


WRITES: dict[str, Callable[[Store[str, bytes]], Any]] = {
    "set": lambda store: store.__setitem__("k", b"w"),
    "delete": lambda store: store.__delitem__("k"),
    "set_if_absent": lambda store: store.set_if_absent("new", b"w"),
    "compare_and_set": lambda store: store.compare_and_set("k", b"v", b"w"),
    "set_many": lambda store: store.set_many({"k": b"w"}),
    "delete_many": lambda store: store.delete_many(["k"]),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_to_a_read_only_store_is_read_only_error(
    client: Open, write: Callable[[Store[str, bytes]], Any]
) -> None:
    with serve_in_thread(ReadOnlyStore(MemoryStore[str, bytes]({"k": b"v"}))) as server:
        store = client(server.url)
        with pytest.raises(ReadOnlyError, match="read-only") as info:
            write(store)
        assert not isinstance(info.value, AuthError)
        assert store["k"] == b"v"


@pytest.mark.parametrize("token", ["s3cret-pässwörd-0123", "s3cret-€uro-0123456789", "ascii-0123456789"])
def test_a_token_beyond_ascii_is_sent_as_the_server_reads_it(client: Open, token: str) -> None:
    with serve_in_thread(MemoryStore[str, bytes](), tokens=[token]) as server:
        store = client(server.url, token=token)
        store["k"] = b"v"
        assert store["k"] == b"v"
        with pytest.raises(AuthError):
            client(server.url, token=token.replace("0", "1"))["k"]


@pytest.mark.parametrize("token", ["one\r\nX-Injected: 1", "with a space-0123456789", "tab\there-0123456789"])
def test_a_token_no_header_can_carry_is_refused_without_showing_it(client: Open, token: str) -> None:
    with pytest.raises(ConfigurationError, match="token") as info:
        client("http://127.0.0.1:1/", token=token)
    assert token not in str(info.value)
    assert "Injected" not in str(info.value)


class _NoAtomicWrites(MemoryStore[str, bytes]):
    """A real store without atomic conditional writes (the server answers 501 unsupported)."""

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        return Store.set_if_absent(self, key, value)


def test_an_operation_the_store_behind_cannot_do_is_unsupported(client: Open) -> None:
    with serve_in_thread(_NoAtomicWrites()) as server:
        store = client(server.url)
        with pytest.raises(UnsupportedOperation, match="cannot do") as info:
            store.set_if_absent("k", b"v")
        assert not isinstance(info.value, StoreUnavailable)
        store["k"] = b"v"
