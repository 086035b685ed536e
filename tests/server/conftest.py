"""Fixtures and helpers for the server tests: real servers on 127.0.0.1, raw sockets, curl."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from nstore import MemoryStore
from nstore.server import ServerHandle, serve_in_thread

TOKEN = "rw-token-0123456789abcdef"
READ_TOKEN = "ro-token-0123456789abcdef"


@dataclass
class Raw:
    """A parsed HTTP response read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes


def read_response(sock: socket.socket) -> Raw:
    """Read one response (with Content-Length) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a full response: {data!r}")
        data += chunk
    head, _, first = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    rest = bytearray(first)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Raw(status, headers, bytes(rest[:length]))


def raw_request(url: str, request: bytes, timeout: float = 5.0) -> Raw:
    """Send ``request`` bytes as they are (no normalization) and read the response."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock)


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run curl; a missing curl fails the test (CI installs it)."""
    exe = shutil.which("curl")
    if exe is None:
        pytest.fail("curl is not installed: apt-get install curl", pytrace=False)
    return subprocess.run([exe, "-sS", *args], capture_output=True, timeout=30, check=False)


@pytest.fixture
def backend() -> MemoryStore[str, bytes]:
    return MemoryStore[str, bytes]()


@pytest.fixture
def server(backend: MemoryStore[str, bytes]) -> Iterator[ServerHandle]:
    with serve_in_thread(backend, max_body=1024 * 1024, max_key_length=512) as handle:
        yield handle


@pytest.fixture
def auth_server(backend: MemoryStore[str, bytes]) -> Iterator[ServerHandle]:
    with serve_in_thread(backend, tokens=[TOKEN], read_only_tokens=[READ_TOKEN]) as handle:
        yield handle
