"""Raw byte requests over a real socket to the real server: malformed framing is refused.

Each case is sent as it is on a fresh connection, the client half-closes, and every response is
read until the server closes. A refused case gets one 4xx/5xx response (or none, for a body
that never ends) and a closed connection, and nothing it smuggles is ever run or stored. Every
case is also given to h11: whatever h11 refuses (or finds incomplete), the server must refuse.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import h11
import pytest

from nstore import MemoryStore
from nstore.server import ServerHandle, serve_in_thread

HOST = b"Host: 127.0.0.1\r\n"
SMUGGLED = b"PUT /v1/keys/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx"


def put(headers: bytes, body: bytes, *, key: bytes = b"k", version: bytes = b"HTTP/1.1") -> bytes:
    return b"PUT /v1/keys/" + key + b" " + version + b"\r\n" + HOST + headers + b"\r\n" + body


def chunked(body: bytes, *, version: bytes = b"HTTP/1.1") -> bytes:
    return put(b"Transfer-Encoding: chunked\r\n", body, version=version)


def get(line: bytes, *headers: bytes) -> bytes:
    return line + b"\r\n" + b"".join(headers) + b"\r\n"


OK = get(b"GET /v1/health HTTP/1.1", HOST)

ACCEPTED = {
    "plain GET": OK,
    "HTTP/1.0 with Host": get(b"GET /v1/health HTTP/1.0", HOST),
    "chunked with extensions and trailers": chunked(b'3;a=b;c="d e";f\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n'),
    "obs-text and inner tab in a value": get(b"GET /v1/health HTTP/1.1", HOST, b"X: caf\xe9 \t ok\r\n"),
    "empty value": get(b"GET /v1/health HTTP/1.1", HOST, b"X:\r\n"),
    "port in Host": get(b"GET /v1/health HTTP/1.1", b"Host: localhost:8470\r\n"),
}

REFUSED = {
    # Chunked bodies
    "bare LF after a chunk size": chunked(b"1\nx\r\n0\r\n\r\n"),
    "bare LF after chunk data": chunked(b"1\r\nx\n0\r\n\r\n" + SMUGGLED),
    "bare LF after the last chunk": chunked(b"1\r\nx\r\n0\n\r\n" + SMUGGLED),
    "bare LF ending the trailers": chunked(b"1\r\nx\r\n0\r\n\n" + SMUGGLED),
    "CR CR LF after a chunk size": chunked(b"1\r\r\nx\r\n0\r\n\r\n"),
    "leading space in a chunk size": chunked(b" 1\r\nx\r\n0\r\n\r\n"),
    "space after a chunk size": chunked(b"1 \r\nx\r\n0\r\n\r\n"),
    "tab before an extension": chunked(b"1\t;a=b\r\nx\r\n0\r\n\r\n"),
    "request in a chunk extension": chunked(b"2;a=\n" + SMUGGLED + b"\r\n0\r\n\r\n"),
    "bare CR in an extension": chunked(b"1;a\rb\r\nx\r\n0\r\n\r\n"),
    "malformed trailer": chunked(b"1\r\nx\r\n0\r\nX y\r\n\r\n"),
    "body without its final CRLF": chunked(b"1\r\nx\r\n0\r\n"),
    "flood of 1-byte chunks": chunked(b"1\r\nx\r\n" * 5000 + b"0\r\n\r\n"),
    # Header fields
    "bare CR in a value": get(b"GET /v1/health HTTP/1.1", HOST, b"X: a\rb\r\n"),
    "length hidden behind a bare CR": put(b"X: y\rContent-Length: 67\r\n", SMUGGLED),
    "NUL in a value": get(b"GET /v1/health HTTP/1.1", HOST, b"X: a\x00b\r\n"),
    "control character in a value": get(b"GET /v1/health HTTP/1.1", HOST, b"X: a\x01b\r\n"),
    "DEL in a value": get(b"GET /v1/health HTTP/1.1", HOST, b"X: a\x7fb\r\n"),
    "space in a name": get(b"GET /v1/health HTTP/1.1", HOST, b"X Y: v\r\n"),
    "DEL in a name": get(b"GET /v1/health HTTP/1.1", HOST, b"X\x7f: v\r\n"),
    "NUL in a name": get(b"GET /v1/health HTTP/1.1", HOST, b"X\x00: v\r\n"),
    "space before the colon": get(b"GET /v1/health HTTP/1.1", HOST, b"X : v\r\n"),
    "tab before the colon": get(b"GET /v1/health HTTP/1.1", HOST, b"X\t: v\r\n"),
    "folded line": get(b"GET /v1/health HTTP/1.1", HOST, b"X: a\r\n b\r\n"),
    "bare LF line ends": b"GET /v1/health HTTP/1.1\nHost: 127.0.0.1\n\n",
    # Framing headers
    "chunked with NEL": put(b"Transfer-Encoding: chunked\x85\r\n", b"1\r\nx\r\n0\r\n\r\n"),
    "chunked with NBSP": put(b"Transfer-Encoding: chunked\xa0\r\n", b"1\r\nx\r\n0\r\n\r\n"),
    "chunked after FS": put(b"Transfer-Encoding: \x1cchunked\r\n", b"1\r\nx\r\n0\r\n\r\n"),
    "length padded with VT": put(b"Content-Length: \x0b1\r\n", b"x"),
    "length padded with FF": put(b"Content-Length: 1\x0c\r\n", b"x"),
    "two Transfer-Encoding lines": put(
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"1\r\nx\r\n0\r\n\r\n"
    ),
    "Transfer-Encoding in HTTP/1.0": chunked(b"1\r\nx\r\n0\r\n\r\n" + SMUGGLED, version=b"HTTP/1.0"),
    "length and chunked": put(b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", b"1\r\nx\r\n0\r\n\r\n"),
    "gzip coding": put(b"Transfer-Encoding: gzip, chunked\r\n", b"1\r\nx\r\n0\r\n\r\n"),
    "Content-Length of 5,000 digits": put(b"Content-Length: " + b"9" * 5000 + b"\r\n", b"x"),
    "signed Content-Length": put(b"Content-Length: +1\r\n", b"x"),
    "two Content-Length lines": put(b"Content-Length: 1\r\nContent-Length: 1\r\n", b"x"),
    # Request line
    "double space": get(b"GET  /v1/health HTTP/1.1", HOST),
    "tab separator": get(b"GET\t/v1/health HTTP/1.1", HOST),
    "VT separator": get(b"GET /v1/health\x0bHTTP/1.1", HOST),
    "version HTTP/1.1x": get(b"GET /v1/health HTTP/1.1x", HOST),
    "version HTTP/1.": get(b"GET /v1/health HTTP/1.", HOST),
    "version HTTP/1.10": get(b"GET /v1/health HTTP/1.10", HOST),
    "version HTTP/2.0": get(b"GET /v1/health HTTP/2.0", HOST),
    "lower-case version": get(b"GET /v1/health http/1.1", HOST),
    "control byte in the target": get(b"GET /v1/keys/a\x01b HTTP/1.1", HOST),
    "non-ASCII target": get(b"GET /v1/keys/caf\xc3\xa9 HTTP/1.1", HOST),
    "control byte in the method": get(b"G\x01T /v1/health HTTP/1.1", HOST),
    "non-ASCII method": get(b"G\xc3\x89T /v1/health HTTP/1.1", HOST),
    "raw fragment": put(b"Content-Length: 1\r\n", b"x", key=b"k#frag"),
    "empty line before a request": b"\r\n" + OK,
    "flood of empty lines": b"\r\n" * 100_000 + OK,
    "TLS ClientHello": bytes.fromhex("16030100a5010000a10303") + bytes(32),
    "SSH banner": b"SSH-2.0-OpenSSH_9.6\r\n",
    # Host
    "two Host headers": get(b"GET /v1/health HTTP/1.1", HOST, b"Host: evil.example\r\n"),
    "userinfo in Host": get(b"GET /v1/health HTTP/1.1", b"Host: localhost:80@evil.example\r\n"),
    "no Host in HTTP/1.1": get(b"GET /v1/health HTTP/1.1"),
}


def h11_verdict(data: bytes, *, closed: bool = True) -> str:
    """``"refused"``, ``"incomplete"`` or ``"accepted"``: what h11 makes of the first request
    (sent, then the connection half-closed when ``closed``)."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    if closed:
        conn.receive_data(b"")
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return "incomplete"
            if isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                return "accepted"
    except h11.RemoteProtocolError:
        return "refused"


def exchange(url: str, data: bytes) -> tuple[list[int], float]:
    """Send ``data``, half-close, read to the end: the statuses answered, and seconds taken."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server refused and closed before all was sent
            pass
        received = bytearray()
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return _statuses(bytes(received)), time.monotonic() - started


def _statuses(data: bytes) -> list[int]:
    statuses = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data
        lines = head.split(b"\r\n")
        statuses.append(int(lines[0].split()[1]))
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        data = rest[length:]
    return statuses


@pytest.fixture(scope="module")
def backend() -> MemoryStore[str, bytes]:
    return MemoryStore[str, bytes]()


@pytest.fixture(autouse=True)
def _empty(backend: MemoryStore[str, bytes]) -> None:
    backend.clear()


@pytest.fixture(scope="module")
def strict_server(backend: MemoryStore[str, bytes]) -> Iterator[ServerHandle]:
    with serve_in_thread(backend, max_body=1024 * 1024) as handle:
        yield handle


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_well_formed_requests_are_served(strict_server: ServerHandle, name: str) -> None:
    data = ACCEPTED[name]
    # The cross-check: h11 accepts each of these (and REFUSED holds every case it refuses; some
    # there h11 accepts, where the server is stricter, as llhttp is).
    assert h11_verdict(data) == "accepted", name
    statuses, _ = exchange(strict_server.url, data)
    assert statuses, name
    assert all(200 <= status < 300 for status in statuses), (name, statuses)


@pytest.mark.parametrize("name", list(REFUSED))
def test_malformed_requests_are_refused_and_closed(
    strict_server: ServerHandle, backend: MemoryStore[str, bytes], name: str
) -> None:
    data = REFUSED[name]
    statuses, seconds = exchange(strict_server.url, data)
    # One refusal at most, then the connection is closed: nothing after it is run.
    assert len(statuses) <= 1, (name, statuses)
    assert all(status >= 400 for status in statuses), (name, statuses)
    # No answer only to a request that never ended: the server closes when the client does.
    assert statuses or h11_verdict(data, closed=False) == "incomplete", name
    assert seconds < 2.0, (name, seconds)  # at once, not after a timeout
    assert not backend, list(backend)  # nothing was stored, smuggled or not


def test_underscored_framing_headers_frame_nothing(
    strict_server: ServerHandle, backend: MemoryStore[str, bytes]
) -> None:
    # Content_Length would become CONTENT_LENGTH in environ: such headers are left out, so the
    # PUT has no body, and its would-be body is the next request (refused).
    statuses, _ = exchange(strict_server.url, put(b"Content_Length: 1\r\n", b"x", key=b"u1"))
    assert statuses[0] == 204
    assert backend["u1"] == b""
    statuses, _ = exchange(
        strict_server.url, put(b"Transfer_Encoding: chunked\r\n", b"1\r\nx\r\n0\r\n\r\n", key=b"u2")
    )
    assert statuses == [204, 400]
    assert backend["u2"] == b""


def test_limit_must_be_ascii_digits(strict_server: ServerHandle) -> None:
    statuses, _ = exchange(strict_server.url, get(b"GET /v1/keys?limit=%C2%B2 HTTP/1.1", HOST))
    assert statuses == [400]
