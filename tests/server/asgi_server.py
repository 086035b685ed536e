"""A real ASGI server (uvicorn) on 127.0.0.1 in a background thread, for the ASGI app's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.redis_servers import free_port


@contextmanager
def asgi_server(app: Any, **config: Any) -> Iterator[str]:
    """Serve ``app`` under uvicorn on a free port of 127.0.0.1; yield its base URL.

    uvicorn binds the port itself: given a socket bound here, its connections go without
    TCP_NODELAY, and each response whose head and body it writes apart waits out a delayed ACK.
    """
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **config)
    )
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
