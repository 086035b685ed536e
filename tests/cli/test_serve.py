"""nstore serve: started as a subprocess, used with curl, stopped with Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nstore._cli.serve import DEFAULT_PORT
from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore


@contextmanager
def serving(nstore: NStore, *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``nstore serve ... --port 0 --json``; yield its URL and process; stop it with Ctrl-C."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    process = nstore.popen("serve", *args, "--port", "0", "--json", **pipes)
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        assert line, process.communicate(timeout=10)
        yield json.loads(line)["url"], process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


def curl(*args: str) -> bytes:
    """Run curl; a missing curl fails the test, saying what to install."""
    exe = shutil.which("curl")
    if exe is None:
        pytest.fail("curl is not installed: apt-get install curl", pytrace=False)
    return subprocess.run([exe, "-sS", "--max-time", "10", *args], capture_output=True, timeout=20).stdout


def status(*args: str) -> bytes:
    """The HTTP status code curl reports for a request."""
    return curl("-o", "/dev/null", "-w", "%{http_code}", *args)


def test_serve_the_embedded_default_with_curl_then_ctrl_c(nstore: NStore, tmp_path: Path) -> None:
    with serving(nstore) as (url, process):
        assert url.startswith("http://127.0.0.1:")
        assert status("-X", "PUT", "--data-binary", "hello", f"{url}v1/keys/greeting").startswith(b"2")
        assert curl(f"{url}v1/keys/greeting") == b"hello"
        assert status(f"{url}v1/keys/nope") == b"404"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 130  # interrupted, as the exit codes say; after a clean stop
        assert err.decode().splitlines() == ["nstore: stopped"]
    # The embedded default is ./nstore.db in the working directory, and the value is in it.
    with SQLiteStore(tmp_path / "nstore.db") as store:
        assert store["greeting"] == b"hello"


def test_serve_prints_the_url_and_the_store(nstore: NStore) -> None:
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    process = nstore.popen("serve", "memory://", "--port", "0", **pipes)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    assert line.startswith("nstore: serving memory:// on http://127.0.0.1:")
    assert line.endswith("/ (Ctrl-C to stop)\n")
    assert process.returncode == 130


def test_serve_with_tokens_and_read_only(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "data.db") as store:
        store["k"] = b"v"
    tokens = ["--token", "rw-secret-0123456789", "--read-only-token", "ro-secret-0123456789"]
    read_only = "Authorization: Bearer ro-secret-0123456789"
    with serving(nstore, "data.db", *tokens) as (url, _):
        assert status(f"{url}v1/keys/k") == b"401"
        assert curl("-H", read_only, f"{url}v1/keys/k") == b"v"
        assert status("-X", "PUT", "-d", "x", "-H", read_only, f"{url}v1/keys/k") == b"403"
    with serving(nstore, "data.db", "--read-only") as (url, _):
        assert status("-X", "PUT", "-d", "x", f"{url}v1/keys/k").startswith(b"4")
        assert curl(f"{url}v1/keys/k") == b"v"


def test_serve_with_worker_threads(nstore: NStore) -> None:
    with serving(nstore, "memory://", "--workers", "2", "--max-connections", "8") as (url, _):
        assert status("-X", "PUT", "--data-binary", "w", f"{url}v1/keys/k").startswith(b"2")
        assert curl(f"{url}v1/keys/k") == b"w"
    line = nstore.fails(2, "serve", "memory://", "--workers", "-1", "--port", "0")
    assert line == "nstore serve: Expected an integer >= 0 for workers. Got -1 instead."


def test_serving_beyond_loopback_needs_a_token(nstore: NStore) -> None:
    line = nstore.fails(2, "serve", "memory://", "--host", "0.0.0.0", "--port", "0")
    assert line.startswith("nstore serve: Refusing to serve on '0.0.0.0' without authentication")


def test_a_port_in_use_exits_3(nstore: NStore) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = nstore.fails(3, "serve", "memory://", "--port", str(port))
    expected = f"cannot listen on 127.0.0.1:{port}: Address already in use (choose another --port)"
    assert line == f"nstore serve: {expected}"


def test_the_default_port_is_the_servers() -> None:
    from nstore.server import DEFAULT_PORT as SERVER_DEFAULT

    assert DEFAULT_PORT == SERVER_DEFAULT


def test_serve_with_granian_is_refused(nstore: NStore, tmp_path: Path) -> None:
    line = nstore.fails(2, "serve", "data.db", "--server", "granian", "--port", "0")
    assert line.startswith("nstore serve: server='granian' is no longer offered: granian has no timeout")
    assert not (tmp_path / "data.db").exists()  # refused before the store is opened
