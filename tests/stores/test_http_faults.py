"""HTTPStore and AsyncHTTPStore against servers that cut a response short, send interim answers,
close idle connections or refuse a body while it is sent: each ends in a clear error of nstore's
tree or in the right answer, never in a short value or another request's reply."""

from __future__ import annotations

import socket
import time

import pytest

from nstore import MemoryStore
from nstore.errors import StoreUnavailable, ValueTooLarge
from nstore.server import serve_in_thread
from tests.stores.rawhttp import Open, client, raw_server

__all__ = ["client"]  # the fixture, from rawhttp
MiB = 1024 * 1024


def test_a_body_cut_short_is_store_unavailable_never_a_short_value(client: Open) -> None:
    short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"
    with raw_server(short, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", close=True) as server:
        store = client(server.url, retries=0)
        with pytest.raises(StoreUnavailable, match="Could not GET"):
            store["k"]
        assert store["k"] == b"ok"  # on a new connection


@pytest.mark.parametrize("cut", [b"5\r\nab", b"2\r\nab\r\n", b"2\r\nab\r\n0\r\nTrailer: x"])
def test_a_chunked_body_cut_short_is_store_unavailable(client: Open, cut: bytes) -> None:
    short = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + cut
    with raw_server(short, close=True) as server, pytest.raises(StoreUnavailable):
        client(server.url, retries=0)["k"]


def test_interim_answers_are_skipped_for_the_final_one(client: Open) -> None:
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
    first = hints + b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nvalue-A"
    second = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nvalue-B"
    with raw_server(first, second) as server:
        store = client(server.url, retries=0)
        assert (store["A"], store["B"]) == (b"value-A", b"value-B")
        assert len(server.heads) == 2


def test_a_value_over_the_servers_limit_is_value_too_large_sent_once(client: Open) -> None:
    with serve_in_thread(MemoryStore[str, bytes](), max_body=1 * MiB) as server:
        store = client(server.url)
        for size in (2 * MiB, 16 * MiB):
            started = time.monotonic()
            with pytest.raises(ValueTooLarge, match="413"):
                store["big"] = b"x" * size
            assert time.monotonic() - started < 1.0  # not retried
        store["small"] = b"x"
        assert store["small"] == b"x"


def test_a_connection_the_server_closed_while_idle_is_not_reused(client: Open) -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend, keepalive_timeout=0.3) as server:
        store = client(server.url)
        store["warm"] = b"1"
        time.sleep(0.8)  # the server closes the idle connection
        assert store.set_if_absent("lock", b"me") is True
        assert backend["lock"] == b"me"
        time.sleep(0.8)
        assert store.compare_and_set("lock", b"me", b"you") is True
        assert backend["lock"] == b"you"


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\nab",  # a digit, but not an ASCII one
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    ],
)
def test_malformed_framing_is_store_unavailable(client: Open, answer: bytes) -> None:
    with raw_server(answer, close=True) as server, pytest.raises(StoreUnavailable, match="Expected"):
        client(server.url, retries=0)["k"]


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_an_ipv6_url_is_reached_with_its_host_in_brackets(client: Open) -> None:
    with serve_in_thread(MemoryStore[str, bytes](), host="::1") as server:
        store = client(server.url, retries=0)
        store["k"] = b"v"
        assert store["k"] == b"v"


def test_a_connection_the_server_reset_while_idle_is_not_reused(client: Open) -> None:
    stored = b"HTTP/1.1 204 No Content\r\n\r\n"
    with raw_server(stored, stored, reset=True) as server:
        store = client(server.url, retries=0)
        store["warm"] = b"1"
        time.sleep(0.3)  # the RST arrives while the connection is idle
        assert store.set_if_absent("lock", b"me") is True
        assert len(server.heads) == 2
