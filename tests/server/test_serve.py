"""``serve()`` in a real process: prints its URL, serves, and stops cleanly on SIGTERM and Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nstore.stores.file import FileStore
from nstore.stores.http import HTTPStore

SCRIPT = """
import sys
from nstore.server import serve
from nstore.stores.file import FileStore
serve(FileStore(sys.argv[1], durable=False), port=int(sys.argv[2]), server=sys.argv[3])
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with HTTPStore(url, retries=0) as probe:
                probe.get("probe")
                return
        except ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"the server at {url} did not start")


@pytest.mark.parametrize(
    ("server", "stop"),
    [("builtin", signal.SIGTERM), ("builtin", signal.SIGINT)],
)
def test_serve_runs_until_signalled(tmp_path: Path, server: str, stop: signal.Signals) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "root"), str(port), server],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(url, process)
        with HTTPStore(url) as store:
            store["a/b"] = b"over http"
            store.set_many({"c": b"1", "d": b"2"})
            assert store.get_many(["a/b", "c", "x"]) == {"a/b": b"over http", "c": b"1"}
            assert sorted(store) == ["a/b", "c", "d"]
        process.send_signal(stop)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert f"127.0.0.1:{port}" in out.decode()
    with FileStore(tmp_path / "root") as files:
        assert files["a/b"] == b"over http"


@pytest.mark.parametrize("start", ["serve", "serve_in_thread"])
def test_granian_is_refused_with_the_reason(start: str) -> None:
    from nstore import MemoryStore
    from nstore.errors import ConfigurationError
    from nstore.server import serve, serve_in_thread

    run = serve if start == "serve" else serve_in_thread
    with pytest.raises(ConfigurationError, match="no longer offered: granian has no timeout"):
        run(MemoryStore[str, bytes](), port=0, server="granian")
    with pytest.raises(ConfigurationError, match=r"Expected server='builtin'\. Got 'gunicorn'"):
        run(MemoryStore[str, bytes](), port=0, server="gunicorn")


def test_serve_in_thread_takes_server_builtin() -> None:
    from nstore import MemoryStore
    from nstore.server import serve_in_thread

    with (
        serve_in_thread(MemoryStore[str, bytes](), server="builtin") as server,
        HTTPStore(server.url) as store,
    ):
        store["k"] = b"v"
        assert store["k"] == b"v"
