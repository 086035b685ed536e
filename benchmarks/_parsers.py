"""Parse cost per request head for the embedded server's parser and the candidates.

Each candidate turns the same bytes into method, target, headers and the body's framing:
nstore's strict parser (``parse_head`` + ``framing``, regular expressions over bytes),
httptools (llhttp, C, with the Python callbacks a server needs to collect the headers), and
h11 (pure Python). A new parser object per request for h11 (its state machine must be reset),
one per connection for httptools (as a server would hold it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import h11
import httptools

from nstore.server._framing import framing, parse_head

__all__ = ["HEADS", "parse_costs"]

HEADS = {
    "wrk GET (1 header)": b"GET /v1/keys/bench/value HTTP/1.1\r\nHost: 127.0.0.1:8470\r\n\r\n",
    "client PUT (6 headers)": (
        b"PUT /v1/keys/bench/value HTTP/1.1\r\nHost: 127.0.0.1:8470\r\nUser-Agent: python-httpx/0.27\r\n"
        b"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
        b"Content-Length: 0\r\n\r\n"
    ),
}


def _nstore(data: bytes) -> Callable[[], object]:
    def parse() -> object:
        buf = bytearray(data)
        head = parse_head(buf)
        assert head is not None
        return head, framing(head[3], head[4])

    return parse


class _Collector:
    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.done = False

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        self.done = True


def _httptools(data: bytes) -> Callable[[], object]:
    collector = _Collector()
    parser = httptools.HttpRequestParser(collector)

    def parse() -> object:
        collector.headers = []
        parser.feed_data(data)
        return parser.get_method(), collector.url, collector.headers, parser.should_keep_alive()

    return parse


def _h11(data: bytes) -> Callable[[], object]:
    def parse() -> object:
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(data)
        return conn.next_event(), conn.next_event()

    return parse


CANDIDATES = {"nstore strict": _nstore, "httptools (llhttp)": _httptools, "h11": _h11}


def parse_costs(rounds: int, n: int) -> dict[tuple[str, str], list[float]]:
    """Microseconds per parse, one figure per round, candidates interleaved in each round."""
    out: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for head_name, data in HEADS.items():
            for name, make in CANDIDATES.items():
                parse = make(data)
                parse()
                start = time.perf_counter()
                for _ in range(n):
                    parse()
                out.setdefault((name, head_name), []).append((time.perf_counter() - start) / n * 1e6)
    return out
