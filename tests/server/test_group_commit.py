"""SQLite served from the event loop: reads on the loop, concurrent PUTs committed together."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from nstore import FileStore, MemoryStore, SQLiteStore
from nstore.server import make_app, serve_in_thread
from nstore.server._runner import PAUSE, SLOW, STRIKES, _Budget
from nstore.stores.http import HTTPStore
from tests.server.conftest import read_response


def _put(url: str, key: str, value: bytes) -> int:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"PUT /v1/keys/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(value)}\r\n\r\n"
        sock.sendall(head.encode() + value)
        return read_response(sock).status


def test_each_put_is_committed_before_it_is_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    with SQLiteStore(path) as store, SQLiteStore(path) as other, serve_in_thread(store) as server:
        statuses: dict[str, int] = {}
        seen: dict[str, bytes | None] = {}

        def client(n: int) -> None:
            for i in range(20):
                key = f"c{n}/{i}"
                statuses[key] = _put(server.url, key, key.encode())
                seen[key] = other.get(key)  # another connection: only committed data is visible

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(statuses.values()) == {204}
        assert all(seen[key] == key.encode() for key in statuses)
        assert len(other) == 160


def test_a_failing_batch_is_retried_put_by_put(tmp_path: Path) -> None:
    app = make_app(FileStore(tmp_path))
    responses = app.fast_put_many([("a", b"1"), ("x/../y", b"2"), ("b", b"3")])
    assert [status for status, _, _ in responses] == ["204 No Content", "400 Bad Request", "204 No Content"]
    assert (app.store["a"], app.store["b"]) == (b"1", b"3")


def test_puts_and_gets_over_sockets_with_a_bad_one_among_them(tmp_path: Path) -> None:
    with FileStore(tmp_path) as store, serve_in_thread(store) as server:
        results: dict[str, int] = {}

        def client(key: str) -> None:
            results[key] = _put(server.url, key, b"v")

        keys = [f"k{i}" for i in range(12)] + ["bad/../key"]
        threads = [threading.Thread(target=client, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.pop("bad/../key") == 400
        assert set(results.values()) == {204}
        assert all(store[key] == b"v" for key in results)


def test_slow_calls_move_work_off_the_loop_for_a_while() -> None:
    budget = _Budget()
    assert budget.allows()
    for _ in range(STRIKES - 1):
        budget.took(-1.0)  # a call that took far more than SLOW
    assert budget.allows()  # a few slow calls may be the machine, not the store
    budget.took(-1.0)
    assert not budget.allows()
    assert SLOW < PAUSE


def test_puts_to_a_remote_store_are_committed_together_by_the_writer_thread() -> None:
    # A remote store never runs on the loop: its plain PUTs go to the writer thread, which
    # sends all those queued meanwhile as one set_many (one batch request here).
    backend = MemoryStore[str, bytes]()
    with (
        serve_in_thread(backend) as inner,
        HTTPStore(inner.url) as remote,
        serve_in_thread(remote) as outer,
    ):
        results: dict[str, int] = {}

        def client(key: str) -> None:
            results[key] = _put(outer.url, key, key.encode())

        keys = [f"r{i}" for i in range(16)]
        threads = [threading.Thread(target=client, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(results.values()) == {204}
        assert {key: backend[key] for key in keys} == {key: key.encode() for key in keys}
