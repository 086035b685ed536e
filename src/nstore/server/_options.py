"""The keyword options of :func:`~nstore.server.serve` and :func:`~nstore.server.serve_in_thread`,
typed, so that a misspelt or mistyped option is an error for a type checker, not at run time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

__all__ = ["SERVER_OPTIONS", "AppOptions", "ServeOptions"]


class AppOptions(TypedDict, total=False):
    """Options of the WSGI and ASGI apps (see :func:`~nstore.server.make_app`)."""

    tokens: Iterable[str] | str | None
    read_only_tokens: Iterable[str] | str | None
    max_body: int
    max_key_length: int
    allowed_hosts: Iterable[str] | None
    cors_origins: Iterable[str] | None


class ServeOptions(AppOptions, total=False):
    """Options of the app (see :func:`~nstore.server.make_app`) and of the embedded server."""

    # the embedded server
    max_connections: int
    header_timeout: float
    read_timeout: float
    keepalive_timeout: float
    workers: int | None
    max_buffered: int | None
    min_rate: int


#: The options meant for the server rather than the app.
SERVER_OPTIONS = (
    "max_connections",
    "header_timeout",
    "read_timeout",
    "keepalive_timeout",
    "workers",
    "max_buffered",
    "min_rate",
)
