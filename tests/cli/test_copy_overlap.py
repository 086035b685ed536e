"""nstore copy refuses a destination whose keys the source lists: the copy would feed on itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

from nstore._cli._overlap import overlap
from nstore.stores.file import FileStore
from nstore.stores.redis import RedisStore
from nstore.stores.sqlite import SQLiteStore
from nstore.urls import parse
from tests.cli.conftest import NStore


def _refused(nstore: NStore, *args: str) -> str:
    line = nstore.fails(2, "copy", *args)
    assert "Expected a destination whose keys the source does not list" in line
    return line


def test_a_prefix_inside_the_source_database_is_refused(nstore: NStore, redis_url: str) -> None:
    with RedisStore(redis_url) as store:
        store.set_many({f"k{i:04d}": b"x" for i in range(2000)})
        line = _refused(nstore, redis_url, redis_url + "?prefix=bk/")
        assert "same Redis database" in line
        _refused(nstore, redis_url + "?prefix=bk/", redis_url)  # and the other way round
        _refused(nstore, redis_url + "?prefix=a", redis_url + "?prefix=ab")
        localhost = redis_url.replace("127.0.0.1", "localhost")
        _refused(nstore, redis_url, localhost)
        _refused(nstore, localhost + "?prefix=x", redis_url.replace("/0", "") + "?prefix=x/")
        _refused(nstore, redis_url, redis_url + "?prefix=k", "--prefix", "k")
        assert len(list(store)) == 2000  # nothing was written
        # Prefixes apart, another database, or --prefix outside the destination: copied.
        nstore.ok("copy", redis_url, redis_url.replace("/0", "/1"))
        nstore.ok("copy", redis_url + "?prefix=k000", redis_url + "?prefix=j/")
        summary = json.loads(
            nstore.ok("copy", redis_url, redis_url + "?prefix=bk/", "--prefix", "k00", "--json").out
        )
        assert summary["keys"] == summary["copied"] == 100
        assert len(list(store.iter_keys("bk/"))) == 100
        assert len(list(store.iter_keys("j/"))) == 10


def test_a_database_file_named_twice_is_refused(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "a.db") as store:
        store["k"] = b"v"
    os.symlink(tmp_path / "a.db", tmp_path / "link.db")
    line = _refused(nstore, "a.db", "link.db")
    assert "a.db" in line
    nstore.ok("copy", "a.db", f"sqlite://{tmp_path}/a.db?table=other")  # another table: another store
    with SQLiteStore(tmp_path / "a.db", table="other") as other:
        assert dict(other) == {"k": b"v"}


def test_a_directory_inside_the_source_directory_is_refused(nstore: NStore, tmp_path: Path) -> None:
    with FileStore(tmp_path / "files") as store:
        store["k"] = b"v"
    _refused(nstore, "files", "files/inner\\")
    _refused(nstore, "files/inner\\", "files")
    nstore.ok("copy", "files", "files2")


def test_which_urls_overlap() -> None:
    def refused(src: str, dst: str, prefix: str | None = None) -> bool:
        return overlap(parse(src), parse(dst), prefix) is not None

    cluster = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"
    assert refused(cluster, "redis://localhost:7001/0?prefix=x")  # one of the nodes it names
    assert refused(cluster, "redis+cluster://127.0.0.1:7001")
    assert not refused(cluster, "redis://127.0.0.1:7001/1")  # another database of that node
    assert not refused(cluster, "redis://127.0.0.1:7002/0")  # a node the cluster URL does not name
    assert refused("redis://[::1]:7000/0", "redis://[::1]:7000?prefix=a")
    assert refused("redis://u:secret@localhost/2", "rediss://127.0.0.1:6379/2?prefix=b")
    assert not refused("redis://localhost/2?prefix=a/", "redis://localhost/2?prefix=b/")
    assert not refused("redis://localhost/2", "redis://localhost/2?prefix=b/", "a")
    assert refused("redis://localhost/2", "redis://localhost/2?prefix=a", "a")  # a* holds aa*
    assert not refused("memory://", "memory://")
    assert refused("http://localhost:8470/", "http://127.0.0.1:8470")
    assert not refused("http://localhost:8470/", "http://localhost:8471/")
