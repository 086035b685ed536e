"""The key-value stores compared by ``bench_peers``, each behind the same small interface.

Each peer says how durable a write is when the call returns, in the same words for every row:
``memory`` (gone with the process), ``off`` (survives a process crash as far as the OS has the data,
nothing is fsynced; power loss may lose or corrupt data), ``normal`` (survives a process crash; power
loss may lose the last writes, never corrupts), ``full`` (fsynced per write: survives power loss).
"""

from __future__ import annotations

import os
import shelve
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from nstore import MemoryStore
from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore


@dataclass
class Handle:
    """Bound operations of one opened peer; ``set_many``/``get_many`` are None where it has none."""

    set: Callable[[str, bytes], object]
    get: Callable[[str], object]
    close: Callable[[], object]
    set_many: Callable[[Mapping[str, bytes]], object] | None = None
    get_many: Callable[[list[str]], object] | None = None


@dataclass(frozen=True)
class Peer:
    """One row of the table: a store, how it is configured and how durable its writes are."""

    name: str
    level: str  # memory | off | normal | full
    durability: str  # what exactly is (not) synced
    open: Callable[[Path], Handle]
    fsync_per_write: bool = False  # about 100-700 writes/s: measured with --durable-keys keys
    slow_writes: bool = False  # a file or a commit per write, about 1k/s: --slow-keys keys

    @property
    def label(self) -> str:
        return f"{self.name} [{self.level}]"


def _store(store: Any) -> Handle:
    return Handle(
        store.__setitem__, store.__getitem__, store.close, store.set_many, getattr(store, "get_many", None)
    )


def _dict(_: Path) -> Handle:
    data: dict[str, bytes] = {}
    return Handle(data.__setitem__, data.__getitem__, data.clear, data.update)


def _lru(_: Path) -> Handle:
    import cachetools

    cache: cachetools.LRUCache[str, bytes] = cachetools.LRUCache(maxsize=10**7)
    return Handle(cache.__setitem__, cache.__getitem__, cache.clear, cache.update)


def _shelve(path: Path) -> Handle:
    shelf: shelve.Shelf[bytes] = shelve.open(str(path / "shelf"))  # noqa: SIM115  # closed by close()
    return Handle(shelf.__setitem__, shelf.__getitem__, shelf.close)


def _sqlitedict(path: Path) -> Handle:
    from sqlitedict import SqliteDict  # type: ignore[import-untyped]  # the package ships no types

    def same(value: bytes) -> bytes:
        return value

    # Raw bytes in and out (no pickling), so the row measures storage, not serialization.
    db = SqliteDict(str(path / "sd.sqlite"), autocommit=True, encode=same, decode=same)
    return Handle(db.__setitem__, db.__getitem__, db.close, db.update)  # update: one commit


def _diskcache(path: Path) -> Handle:
    import diskcache  # type: ignore[import-untyped]  # the package ships no types

    cache = diskcache.Cache(str(path / "dc"))

    def set_many(items: Mapping[str, bytes]) -> None:
        with cache.transact():  # diskcache's batch: one transaction
            for key, value in items.items():
                cache[key] = value

    return Handle(cache.__setitem__, cache.__getitem__, cache.close, set_many)


def _lmdb(sync: bool) -> Callable[[Path], Handle]:
    def open_(path: Path) -> Handle:
        import lmdb

        env = lmdb.open(str(path / "lmdb"), map_size=8 << 30, sync=sync, metasync=sync)

        def set_(key: str, value: bytes) -> None:
            with env.begin(write=True) as txn:
                txn.put(key.encode(), value)

        def get(key: str) -> bytes | None:
            with env.begin(buffers=False) as txn:
                return txn.get(key.encode())

        def set_many(items: Mapping[str, bytes]) -> None:
            with env.begin(write=True) as txn:  # one transaction for the whole batch
                for key, value in items.items():
                    txn.put(key.encode(), value)

        def get_many(keys: list[str]) -> dict[str, bytes | None]:
            with env.begin(buffers=False) as txn:
                return {key: txn.get(key.encode()) for key in keys}

        return Handle(set_, get, env.close, set_many, get_many)

    return open_


def _zict(path: Path) -> Handle:
    import zict

    store = zict.File(str(path / "zict"))
    return Handle(store.__setitem__, store.__getitem__, store.close)


def _one_file_per_key(durable: bool) -> Callable[[Path], Handle]:
    def open_(path: Path) -> Handle:
        root = path / "files"
        root.mkdir()
        base = str(root)

        def set_(key: str, value: bytes) -> None:
            final = os.path.join(base, key.replace("/", "_"))
            tmp = final + ".tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, value)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
            if durable:
                dir_fd = os.open(base, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)

        def get(key: str) -> bytes:
            with open(os.path.join(base, key.replace("/", "_")), "rb") as f:
                return f.read()

        return Handle(set_, get, lambda: None)

    return open_


def _bare_sqlite(path: Path) -> Handle:
    """SQLiteStore's own connection, table and statements, driven through the bare sqlite3 cursor.

    Nothing of nstore runs per call, so its single-set/``set_many`` ratio is the ceiling that
    SQLite itself puts on what any batch path over this table can gain.
    """
    store = SQLiteStore(path / "s.db", durability="normal")
    conn = store._open().connection
    sql_set, sql_get = store._sql_set, store._sql_get

    def set_(key: str, value: bytes) -> None:
        conn.execute(sql_set, (key, value))

    def get(key: str) -> bytes:
        value: bytes = conn.execute(sql_get, (key,)).fetchone()[0]
        return value

    def set_many(items: Mapping[str, bytes]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql_set, items.items())
        conn.execute("COMMIT")

    return Handle(set_, get, store.close, set_many)


#: Bare sqlite3 on SQLiteStore's table: the ceiling of the batch comparison (not in the peer table).
BARE_SQLITE: Final = Peer("sqlite3 cursor, same table", "normal", "WAL, synchronous=NORMAL", _bare_sqlite)


def peers() -> list[Peer]:
    """Every row of the peers table, memory first, then by durability."""
    memory = "in memory"
    return [
        Peer("dict", "memory", memory, _dict),
        Peer("cachetools.LRUCache", "memory", memory, _lru),
        Peer("nstore MemoryStore", "memory", memory, lambda _: _store(MemoryStore[str, bytes]())),
        Peer("shelve (dbm.dumb)", "off", "no fsync", _shelve),
        Peer("zict.File", "off", "no fsync", _zict, slow_writes=True),
        Peer("one file per key", "off", "write+rename, no fsync", _one_file_per_key(False), slow_writes=True),
        Peer(
            "sqlitedict",
            "off",
            "synchronous=OFF; autocommit in a background thread",
            _sqlitedict,
            slow_writes=True,
        ),
        Peer("lmdb, txn per write", "off", "sync=False", _lmdb(False)),
        Peer(
            "nstore FileStore",
            "off",
            "durable=False: write+rename, no fsync",
            lambda p: _store(FileStore(p / "fs", durable=False)),
            slow_writes=True,
        ),
        Peer(
            "nstore SQLiteStore",
            "off",
            "WAL, synchronous=OFF",
            lambda p: _store(SQLiteStore(p / "s.db", durability="off")),
        ),
        Peer("diskcache.Cache", "normal", "WAL, synchronous=NORMAL", _diskcache),
        Peer(
            "nstore SQLiteStore",
            "normal",
            "WAL, synchronous=NORMAL",
            lambda p: _store(SQLiteStore(p / "s.db", durability="normal")),
        ),
        Peer(
            "one file per key",
            "full",
            "write+fsync+rename+dir fsync",
            _one_file_per_key(True),
            fsync_per_write=True,
        ),
        Peer("lmdb, txn per write", "full", "sync=True", _lmdb(True), fsync_per_write=True),
        Peer(
            "nstore FileStore",
            "full",
            "durable=True: fsync file and directory",
            lambda p: _store(FileStore(p / "fs", durable=True)),
            fsync_per_write=True,
        ),
        Peer(
            "nstore SQLiteStore",
            "full",
            "WAL, synchronous=FULL",
            lambda p: _store(SQLiteStore(p / "s.db", durability="full")),
            fsync_per_write=True,
        ),
    ]


def find(rows: Iterable[Peer], name: str, level: str) -> Peer:
    """The peer called ``name`` at durability ``level``."""
    for peer in rows:
        if peer.name == name and peer.level == level:
            return peer
    raise LookupError(f"no peer {name!r} at {level!r}")
