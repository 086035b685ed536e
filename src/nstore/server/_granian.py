"""Serve the WSGI app with granian (Rust), the faster server of the ``server`` extra.

granian runs the application in one forked worker process: the store object is inherited by the
worker and used only there. That suits stores shared through files or a network (FileStore,
SQLiteStore, RedisStore); a MemoryStore served this way lives in the worker alone. It blocks
until SIGINT/SIGTERM, which granian handles itself.
"""

from __future__ import annotations

from typing import Any

from nstore.server.app import NStoreApp

__all__ = ["serve_granian"]


def serve_granian(app: NStoreApp, host: str, port: int, *, header_timeout: float = 10.0, **_: Any) -> None:
    """Serve ``app`` on ``host:port`` with granian until interrupted."""
    try:
        from granian import Granian
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings
    except ImportError as exc:
        raise ImportError(
            "server='granian' needs granian: pip install 'nstore[server]' (or use server='builtin')."
        ) from exc
    server = Granian(
        "nstore.server:make_app",  # never imported: the loader below hands granian the app
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=1,  # one process: the store is not shared between workers
        blocking_threads=8,
        websockets=False,
        log_access=False,
        http1_settings=HTTP1Settings(header_read_timeout=int(header_timeout * 1000)),
    )
    server.serve(target_loader=lambda *args, **kwargs: app, wrap_loader=False)
