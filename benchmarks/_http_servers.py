"""Server processes for bench_http, each on the port it is given.

Run as ``python -m benchmarks._http_servers KIND PORT``; serves until killed. KIND is baseline,
builtin, workers (the builtin server running requests on worker threads, as it does for a store
that can block), granian (over the same app, a reference: nstore does not offer it), sqlite and
sqlite-granian (``nstore serve``'s default store, a SQLiteStore with durability "normal" in a
fresh temporary file, behind each server), or (when installed) cheroot or waitress.
The baseline is ``http.server.ThreadingHTTPServer`` with HTTP/1.1 keep-alive and TCP_NODELAY
over a dict: GET answers the value stored at the path, PUT stores the body there (204). The
others serve a store holding that 1 KiB at ``bench/value`` through nstore's app.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nstore.server import NStoreApp

VALUE = bytes(range(256)) * 4  # 1 KiB
KEY = "bench/value"
_DICT: dict[str, bytes] = {}


class _Baseline(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        value = _DICT.get(self.path, VALUE)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(value)))
        self.end_headers()
        self.wfile.write(value)

    def do_PUT(self) -> None:
        _DICT[self.path] = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # load generators reset connections at the end of a run


def main(kind: str, port: int) -> None:
    if kind == "baseline":
        _QuietServer(("127.0.0.1", port), _Baseline).serve_forever()
        return
    from nstore import MemoryStore, SQLiteStore
    from nstore.server import make_app, serve
    from nstore.store import Store

    store: Store[str, bytes]
    if kind.startswith("sqlite"):
        directory = tempfile.mkdtemp(prefix="nstore-bench-")
        store = SQLiteStore(os.path.join(directory, "bench.db"), durability="normal")
        store[KEY] = VALUE
        kind = kind.removeprefix("sqlite").removeprefix("-") or "builtin"
    else:
        store = MemoryStore[str, bytes]({KEY: VALUE})
    if kind == "cheroot":  # measured as candidates for the embedded server; not dependencies
        cheroot = importlib.import_module("cheroot.wsgi")
        cheroot.Server(("127.0.0.1", port), make_app(store), numthreads=16).safe_start()
    elif kind == "waitress":
        waitress = importlib.import_module("waitress")
        waitress.serve(make_app(store), host="127.0.0.1", port=port, threads=16, _quiet=True)
    elif kind == "workers":
        serve(store, port=port, workers=32)
    elif kind == "granian":
        _serve_granian(make_app(store), port)
    else:
        serve(store, port=port)


def _serve_granian(app: NStoreApp, port: int) -> None:
    """granian over the same app, as a reference figure (nstore no longer offers it as a server)."""
    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "nstore.server:make_app",  # never imported: the loader below hands granian the app
        address="127.0.0.1",
        port=port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=8,
        websockets=False,
        log_access=False,
    )
    server.serve(target_loader=lambda *args, **kwargs: app, wrap_loader=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
