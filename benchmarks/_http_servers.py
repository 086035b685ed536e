"""Server processes for bench_http: the nstore server and the stdlib baseline, each on a free port.

Run as ``python -m benchmarks._http_servers nstore|baseline|granian``; prints the URL, serves until
stdin closes. The baseline is ``http.server.ThreadingHTTPServer`` with HTTP/1.1 keep-alive and
TCP_NODELAY, answering every GET with the same 1 KiB and every PUT with 204.
"""

from __future__ import annotations

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VALUE = bytes(range(256)) * 4  # 1 KiB
KEY = "bench/value"


class _Baseline(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(VALUE)))
        self.end_headers()
        self.wfile.write(VALUE)

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(kind: str) -> None:
    if kind == "baseline":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Baseline)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
        sys.stdin.read()
        server.shutdown()
        return
    from nstore import MemoryStore
    from nstore.server import serve_in_thread

    store = MemoryStore[str, bytes]({KEY: VALUE})
    with serve_in_thread(store) as handle:
        print(handle.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1])
