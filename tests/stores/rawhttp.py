"""For tests of the HTTP clients: a real HTTP server on 127.0.0.1 that answers each request with
exact bytes (a misbehaving server): the n-th request (over all connections) gets the n-th answer,
the last one again after that, and the heads of the requests are kept in order. And the ``client``
fixture, opening an HTTPStore or an AsyncHTTPStore (behind a blocking facade) in turn."""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from nstore import Store
from nstore.stores.ahttp import AsyncHTTPStore
from nstore.stores.http import HTTPStore
from tests.astores.facade import Blocking, LoopThread

__all__ = ["Open", "RawServer", "client", "raw_server"]

Open = Callable[..., Store[str, bytes]]


class RawServer:
    def __init__(self, answers: Sequence[bytes], *, close: bool, reset: bool = False) -> None:
        self.answers = list(answers)
        self.close = close or reset
        self.reset = reset
        self.heads: list[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buf = b""
        with conn:
            try:
                while True:
                    while b"\r\n\r\n" not in buf:
                        data = conn.recv(65536)
                        if not data:
                            return
                        buf += data
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    found = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                    want = int(found[1]) if found else 0
                    while len(buf) < want:
                        data = conn.recv(65536)
                        if not data:
                            return
                        buf += data
                    buf = buf[want:]
                    with self._lock:
                        self.heads.append(head)
                        answer = self.answers[min(len(self.heads), len(self.answers)) - 1]
                    conn.sendall(answer)
                    if self.reset:  # close with a RST, not a FIN
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    if self.close:
                        return
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


@contextmanager
def raw_server(*answers: bytes, close: bool = False, reset: bool = False) -> Iterator[RawServer]:
    """A :class:`RawServer` answering with ``answers``, closing each connection after its answer
    if ``close`` (with a RST if ``reset``)."""
    server = RawServer(answers, close=close, reset=reset)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest) -> Iterator[Open]:
    """Opens an HTTPStore, or an AsyncHTTPStore behind a blocking facade; closes them after."""
    opened: list[Store[str, bytes]] = []
    loop = LoopThread() if request.param == "async" else None

    def open_store(url: str, **options: Any) -> Store[str, bytes]:
        if loop is None:
            store: Store[str, bytes] = HTTPStore(url, **options)
        else:
            store = Blocking(AsyncHTTPStore(url, coalesce=False, **options), loop)
        opened.append(store)
        return store

    try:
        yield open_store
    finally:
        for store in opened:
            store.close()
        if loop is not None:
            loop.stop()
