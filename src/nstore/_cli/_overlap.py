"""Whether ``nstore copy`` would write where it reads: a destination whose keys the source lists.

Two URLs name overlapping keyspaces when they reach the same place after normalising (a SQLite
file or a FileStore directory by its resolved path, a Redis server by the addresses its host
resolves to, its port and database; an HTTP store by address, port and path) and one's key
prefix is a prefix of the other's. A copy between them would list the keys it has just written
(and copy them again, under the prefix once more), or overwrite the keys it is copying.

Only the URLs are read (the identity a store is opened by), never a store's insides. A Redis
Cluster is known by the nodes its URL names: a ``redis://`` URL of another node of the same
cluster is not recognised.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nstore._cli.common import EXIT_USAGE, CommandError

if TYPE_CHECKING:
    from nstore.urls import StoreURL

__all__ = ["overlap", "refuse_overlap"]

_DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "http": 80, "https": 443}


@dataclass(frozen=True)
class _Place:
    """Where a store's keys live: ``ids`` (any shared one is the same place), the database or
    table ``space`` in it, the ``prefix`` of its keys there, and how to say where that is."""

    family: str
    ids: frozenset[str]
    space: str
    prefix: str
    where: str


def refuse_overlap(src: StoreURL, dst: StoreURL, prefix: str | None) -> None:
    """Refuse a destination whose keys the source lists: the copy would read back its own writes."""
    where = overlap(src, dst, prefix)
    if where is None:
        return
    start = f"the same store: {src}" if str(src) == str(dst) else f"{src} and {dst}: {where}"
    raise CommandError(
        EXIT_USAGE,
        f"source and destination are {start}. Expected a destination whose keys the source does not "
        "list (the copy would read back what it writes). Copy into another store, database or a "
        "prefix outside the source's (or narrow the source with --prefix).",
    )


def overlap(src: StoreURL, dst: StoreURL, prefix: str | None) -> str | None:
    """Why copying ``src`` (its keys under ``prefix``) into ``dst`` would read its own writes, or None."""
    a, b = _place(src), _place(dst)
    if a is None or b is None or a.family != b.family or a.space != b.space or not a.ids & b.ids:
        return None
    listed = a.prefix + (prefix or "") if a.family != "file" else a.prefix
    written = b.prefix + (prefix or "") if b.family != "file" else b.prefix
    if not (listed.startswith(written) or written.startswith(listed)):
        return None
    if a.family == "file":
        if a.prefix == b.prefix:
            return "the same directory"
        return f"directories {a.prefix.rstrip('/')} and {b.prefix.rstrip('/')}, one inside the other"
    if a.prefix == b.prefix:
        return f"{a.where} (both with {_prefixes(a.prefix)})"
    return f"{a.where}, with {_prefixes(a.prefix)} and {_prefixes(b.prefix)}"


def _prefixes(prefix: str) -> str:
    return f"key prefix {prefix!r}" if prefix else "no key prefix"


def _place(url: StoreURL) -> _Place | None:
    if url.kind == "sqlite":
        table = str(url.options.get("table", "nstore"))
        return _Place(
            "sqlite", _file_ids(url.location), table, "", f"the same table {table!r} of a SQLite file"
        )
    if url.kind == "file":
        # A directory inside another holds some of its keys: compare the resolved paths as prefixes.
        path = os.path.join(os.path.realpath(url.location), "")
        return _Place("file", frozenset({"/"}), "", path, "")
    if url.kind in ("redis", "redis-cluster"):
        rest = url.location.partition("://")[2]
        netloc, _, path = rest.partition("/")
        db = path or "0"
        nodes = _nodes(netloc.rpartition("@")[2], _DEFAULT_PORTS["redis"])
        prefix = str(url.options.get("prefix", ""))
        shown = ", ".join(sorted(f"{host}:{port}" for host, port in nodes))
        return _Place("redis", _addresses(nodes), db, prefix, f"the same Redis database ({shown}, db {db})")
    if url.kind == "http":
        scheme, _, rest = url.location.partition("://")
        netloc, _, path = rest.partition("/")
        nodes = _nodes(netloc.rpartition("@")[2], _DEFAULT_PORTS.get(scheme.lower(), 80))
        return _Place("http", _addresses(nodes), path.strip("/"), "", "the same HTTP store")
    return None  # memory://: every one is a store of its own


def _file_ids(path: str) -> frozenset[str]:
    """A file's resolved path, and its device and inode if it exists (a hard link is the same file)."""
    ids = {"path:" + os.path.realpath(path)}
    try:
        info = os.stat(path)
    except OSError:
        return frozenset(ids)
    return frozenset({*ids, f"inode:{info.st_dev}:{info.st_ino}"})


def _nodes(netloc: str, default_port: int) -> list[tuple[str, int]]:
    """The ``(host, port)`` pairs of ``host:port,host:port`` (IPv6 hosts in brackets)."""
    nodes = []
    for part in netloc.split(","):
        if part.startswith("["):
            host, _, after = part[1:].partition("]")
            port_text = after.removeprefix(":")
        else:
            host, _, port_text = part.partition(":")
        port = int(port_text) if port_text.isdigit() else default_port
        nodes.append((host.lower(), port))
    return nodes


def _addresses(nodes: list[tuple[str, int]]) -> frozenset[str]:
    """Every address and port the nodes' host names resolve to (the name itself if it does not)."""
    found = set()
    for host, port in nodes:
        found.add(f"{host}:{port}")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            continue
        found.update(f"{info[4][0]}:{port}" for info in infos)
    return frozenset(found)
