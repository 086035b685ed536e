"""The embedded server's event loop: pipelining, partial reads and writes, workers, deadlines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Unpack

import pytest

from nstore import FileStore, MemoryStore
from nstore.errors import ConfigurationError
from nstore.server import ServeOptions, ServerHandle, serve_in_thread
from nstore.stores.http import HTTPStore
from tests.server.conftest import Raw, read_response


def _connect(server: ServerHandle, timeout: float = 10, receive_buffer: int = 0) -> socket.socket:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.socket()
    sock.settimeout(timeout)
    if receive_buffer:  # set before connecting, so that the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((host, int(port)))
    return sock


def read_responses(sock: socket.socket, count: int) -> list[Raw]:
    """Read ``count`` responses (with Content-Length) off ``sock``, keeping what follows each."""
    data = bytearray()
    out: list[Raw] = []
    while len(out) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            lines = bytes(data[:end]).decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            if len(data) >= end + 4 + length:
                out.append(Raw(int(lines[0].split()[1]), headers, bytes(data[end + 4 : end + 4 + length])))
                del data[: end + 4 + length]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(out)} responses")
        data += chunk
    return out


def _get(key: str, *extra: bytes) -> bytes:
    return b"GET /v1/keys/" + key.encode() + b" HTTP/1.1\r\nHost: localhost\r\n" + b"".join(extra) + b"\r\n"


def _put(key: str, value: bytes) -> bytes:
    head = b"PUT /v1/keys/%s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
    return head % (key.encode(), len(value)) + value


def _chunked_put(key: str, pieces: list[bytes]) -> bytes:
    head = b"PUT /v1/keys/%s HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" % key.encode()
    return head + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_which_stores_are_served_on_the_loop(tmp_path: Path) -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as memory, serve_in_thread(FileStore(tmp_path)) as files:
        assert memory.server.workers == 0  # in memory: on the event loop
        assert files.server.workers == 32  # on disk: on worker threads
    with serve_in_thread(MemoryStore[str, bytes](), workers=4) as chosen:
        assert chosen.server.workers == 4


@pytest.mark.parametrize("workers", [0, 4])
def test_pipelined_requests_are_answered_in_order(workers: int) -> None:
    backend = MemoryStore[str, bytes]({"a": b"1"})
    with serve_in_thread(backend, workers=workers) as server, _connect(server) as sock:
        # Fast path, general path (an extra header), a body, chunked, and a miss, in one send.
        sock.sendall(
            _get("a")
            + _get("a", b"X-Trace: 1\r\n")
            + _put("b", b"22")
            + _chunked_put("c", [b"3", b"33"])
            + _get("c")
            + _get("missing")
            + b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        responses = read_responses(sock, 7)
        statuses = [r.status for r in responses]
        bodies = [r.body for r in responses]
        assert statuses == [200, 200, 204, 204, 200, 404, 200]
        assert bodies[:2] == [b"1", b"1"]
        assert bodies[4] == b"333"
        assert backend["b"] == b"22"


@pytest.mark.parametrize("workers", [0, 4])
@pytest.mark.parametrize("chunked", [False, True])
def test_a_request_that_follows_a_body_in_the_same_packet_is_served(workers: int, chunked: bool) -> None:
    with serve_in_thread(MemoryStore[str, bytes](), workers=workers) as server, _connect(server) as sock:
        put = _chunked_put("k", [b"x" * 50, b"y" * 50]) if chunked else _put("k", b"x" * 50 + b"y" * 50)
        cut = put.index(b"xxx") + 10
        sock.sendall(put[:cut])  # the head and part of the body
        time.sleep(0.2)
        sock.sendall(put[cut:] + _get("k"))  # the rest of the body, then the next request
        stored, read = read_responses(sock, 2)
        assert stored.status == 204
        assert read.body == b"x" * 50 + b"y" * 50


@pytest.mark.parametrize("workers", [0, 4])
def test_a_request_sent_a_byte_at_a_time_is_served(workers: int) -> None:
    with serve_in_thread(MemoryStore[str, bytes](), workers=workers) as server, _connect(server) as sock:
        for byte in _chunked_put("k", [b"ab", b"c" * 300]) + _get("k"):
            sock.send(bytes([byte]))
        put, get = read_responses(sock, 2)
        assert put.status == 204
        assert get.body == b"ab" + b"c" * 300


@pytest.mark.parametrize("workers", [0, 4])
def test_a_large_response_reaches_a_slow_reader_whole(workers: int) -> None:
    value = bytes(range(256)) * 40_000  # 10 MB: far more than the socket buffers hold
    backend = MemoryStore[str, bytes]({"big": value})
    with serve_in_thread(backend, workers=workers) as server, _connect(server, receive_buffer=4096) as sock:
        sock.sendall(_get("big") + _get("big"))
        time.sleep(0.3)  # the server's send buffer fills; it must wait for the client
        for response in read_responses(sock, 2):
            assert response.body == value
        with HTTPStore(server.url) as other:  # the loop went on serving others meanwhile
            assert other["big"] == value


class _Held(MemoryStore[str, bytes]):
    """An in-memory store that says it blocks, and whose reads of "held" wait for a release."""

    def __init__(self) -> None:
        super().__init__({"held": b"h", "free": b"f"})
        self.entered = threading.Event()
        self.release = threading.Event()

    @property
    def is_persistent(self) -> bool:
        return True

    def __getitem__(self, key: str, /) -> bytes:
        if key == "held":
            self.entered.set()
            assert self.release.wait(10)
        return super().__getitem__(key)


def test_a_blocked_store_call_holds_up_only_its_own_connection() -> None:
    store = _Held()
    with serve_in_thread(store) as server, _connect(server) as held, HTTPStore(server.url) as client:
        assert server.server.workers > 0
        held.sendall(_get("held"))
        assert store.entered.wait(5)
        for _ in range(10):
            assert client["free"] == b"f"  # answered while the other request is blocked
        store.release.set()
        response = read_response(held)
        assert (response.status, response.body) == (200, b"h")


def test_shutdown_finishes_a_request_in_progress() -> None:
    store = _Held()
    server = serve_in_thread(store)
    with _connect(server) as sock:
        sock.sendall(_get("held"))
        assert store.entered.wait(5)
        stopper = threading.Thread(target=server.shutdown)
        stopper.start()
        time.sleep(0.3)
        store.release.set()
        response = read_response(sock)
        stopper.join(10)
        assert not stopper.is_alive()
        assert (response.status, response.body) == (200, b"h")
        assert response.headers["connection"] == "close"


@contextmanager
def _short_deadlines(**deadlines: Unpack[ServeOptions]) -> Iterator[ServerHandle]:
    store = MemoryStore[str, bytes]({"k": b"v"})
    with serve_in_thread(store, "127.0.0.1", 0, **deadlines) as server:
        yield server


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_an_idle_keep_alive_connection_is_closed() -> None:
    with _short_deadlines(keepalive_timeout=0.5) as server, _connect(server) as sock:
        sock.sendall(_get("k"))
        assert read_response(sock).body == b"v"
        started = time.monotonic()
        assert _closed_within(sock, 5)
        assert time.monotonic() - started >= 0.4


def test_a_stalled_body_is_cut_off() -> None:
    with _short_deadlines(read_timeout=0.5) as server, _connect(server) as sock:
        sock.sendall(b"PUT /v1/keys/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc")
        assert _closed_within(sock, 5)


def test_expect_100_continue_is_answered_before_the_body() -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend, max_body=100) as server, _connect(server) as sock:
        head = b"PUT /v1/keys/k HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
        head += b"Content-Length: 5\r\n\r\n"
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        assert read_response(sock).status == 204
        assert backend["k"] == b"hello"
        sock.sendall(head.replace(b"Content-Length: 5", b"Content-Length: 500"))
        refused = read_response(sock)  # no 100 Continue: the body is refused unread
        assert refused.status == 413
        assert refused.headers["connection"] == "close"


def test_a_head_over_the_limit_is_431() -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server, _connect(server) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\n" + b"X-Filler: " + b"x" * 8000 + b"\r\n")
        for _ in range(9):
            sock.sendall(b"X-More: " + b"y" * 8000 + b"\r\n")
        response = read_response(sock)
        assert response.status == 431
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "options",
    [
        {"workers": -1},
        {"max_connections": 0},
        {"header_timeout": 0},
        {"read_timeout": -1.0},
        {"keepalive_timeout": "5"},
        {"workers": True},
    ],
)
def test_bad_server_options_are_refused(options: dict[str, Any]) -> None:
    # Untyped callers (the command line, a configuration file) are checked at run time.
    with pytest.raises(ConfigurationError):
        serve_in_thread(MemoryStore[str, bytes](), "127.0.0.1", 0, **options)


_LOW_DESCRIPTORS = """
import resource, sys
from nstore import MemoryStore
from nstore.server import serve_in_thread
server = serve_in_thread(MemoryStore[str, bytes]({"k": b"v"}))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
print(server.url, flush=True)
sys.stdin.read()
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
def test_running_out_of_descriptors_pauses_accepting_instead_of_spinning() -> None:
    pipe = subprocess.PIPE
    process = subprocess.Popen([sys.executable, "-c", _LOW_DESCRIPTORS], stdin=pipe, stdout=pipe, stderr=pipe)
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        host, port = process.stdout.readline().decode().strip().removeprefix("http://").rsplit(":", 1)
        clients = [socket.create_connection((host, int(port)), timeout=5) for _ in range(100)]
        time.sleep(0.5)  # the server has taken what it could; the rest wait in the backlog
        before = _cpu_seconds(process.pid)
        time.sleep(1.0)
        assert _cpu_seconds(process.pid) - before < 0.5  # paused, not spinning on accept
        for sock in clients:
            sock.close()
        with HTTPStore(f"http://{host}:{port}", retries=5) as client:
            assert client["k"] == b"v"  # accepting again once descriptors are free
    finally:
        _, err = process.communicate(b"", timeout=10)  # end of input: the server process exits
    assert b"Cannot accept connections" in err
