"""Bad arguments to serve() and serve_in_thread() are refused with nstore's own errors."""

from __future__ import annotations

import gc
import subprocess
import sys
import warnings

import pytest

from nstore import MemoryStore
from nstore.errors import ConfigurationError
from nstore.server import serve_in_thread
from nstore.stores.http import HTTPStore


@pytest.mark.parametrize("port", [99999, 65536, -1, "8470", 8470.0, True, None])
def test_a_port_out_of_range_is_refused(port: object) -> None:
    with pytest.raises(ConfigurationError, match="Expected a port from 0 to 65535") as caught:
        serve_in_thread(MemoryStore[str, bytes](), "127.0.0.1", port)  # type: ignore[arg-type]
    assert repr(port) in str(caught.value)


def test_port_0_is_any_free_port() -> None:
    with serve_in_thread(MemoryStore[str, bytes](), port=0) as server, HTTPStore(server.url) as store:
        assert not server.url.endswith(":0")
        store["k"] = b"v"
        assert store["k"] == b"v"


def test_the_command_line_exits_2_for_a_port_out_of_range() -> None:
    code = "import sys; from nstore.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "serve", "memory://", "--port", "99999"]
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert b"Expected a port from 0 to 65535" in done.stderr
    assert b"OverflowError" not in done.stderr


def test_a_port_in_use_raises_and_leaks_no_socket() -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend) as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        port = int(server.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"):
            serve_in_thread(backend, port=port)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
