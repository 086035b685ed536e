"""The commands against remote stores: a real Redis server and Cluster, and nstore serve over HTTP."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from nstore.stores.file import FileStore
from nstore.stores.redis import RedisStore
from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore
from tests.cli.test_keys import EVERY_BYTE
from tests.cli.test_serve import serving

TOKEN = "cli-test-token-0123456789"


def test_keys_on_redis(nstore: NStore, redis_url: str) -> None:
    nstore.ok("put", redis_url, "bin/all", input=EVERY_BYTE)
    nstore.ok("put", redis_url, "bin/glob*[x]", input=b"g")
    assert nstore.ok("get", redis_url, "bin/all").out == EVERY_BYTE
    assert nstore.ok("ls", redis_url, "bin/", "-l").text == f"{len(EVERY_BYTE)}\tbin/all\n1\tbin/glob*[x]\n"
    assert nstore.fails(1, "get", redis_url, "nope") == "nstore get: not found: key 'nope'"
    nstore.ok("rm", redis_url, "bin/all")
    assert nstore.ok("ls", redis_url).text == "bin/glob*[x]\n"
    # The prefix option keeps a store's keys apart from others in the same database.
    nstore.ok("put", redis_url + "?prefix=app/", "k", input=b"v")
    assert RedisStore(redis_url)["app/k"] == b"v"


def test_copy_sqlite_to_redis_and_back_to_files(nstore: NStore, tmp_path: Path, redis_url: str) -> None:
    data = {f"users/{i:04d}": f"user {i}".encode() for i in range(1000)}
    with SQLiteStore(tmp_path / "app.db") as src:
        src.set_many(data)
    summary = json.loads(nstore.ok("copy", "app.db", redis_url, "--json").out)
    assert summary["copied"] == 1000
    with RedisStore(redis_url) as redis_store:
        assert redis_store.get_many(list(data)) == data
    summary = json.loads(nstore.ok("copy", redis_url, "files", "--prefix", "users/00", "--json").out)
    assert summary["copied"] == 100
    with FileStore(tmp_path / "files") as files:
        assert sorted(files) == sorted(k for k in data if k.startswith("users/00"))


def test_copy_into_a_redis_cluster(nstore: NStore, tmp_path: Path, redis_cluster_url: str) -> None:
    assert redis_cluster_url.startswith("redis+cluster://")
    data = {f"k{i}": bytes([i % 256]) * i for i in range(500)}
    with SQLiteStore(tmp_path / "app.db") as src:
        src.set_many(data)
    assert json.loads(nstore.ok("copy", "app.db", redis_cluster_url, "--json").out)["copied"] == 500
    assert nstore.ok("ls", redis_cluster_url).text.split() == sorted(data)
    assert nstore.ok("get", redis_cluster_url, "k300").out == data["k300"]


def test_keys_over_http_with_a_token(nstore: NStore, tmp_path: Path) -> None:
    read_only = "cli-read-only-token-0123456789"
    with serving(nstore, "served.db", "--token", TOKEN, "--read-only-token", read_only) as (url, _):
        nstore.env["NSTORE_TOKEN"] = TOKEN
        nstore.ok("put", url, "dir/k", input=EVERY_BYTE)
        assert nstore.ok("get", url, "dir/k").out == EVERY_BYTE
        assert nstore.ok("ls", url, "--long").text == f"{len(EVERY_BYTE)}\tdir/k\n"
        assert json.loads(nstore.ok("copy", url, "mirror", "--json").out)["copied"] == 1
        nstore.ok("rm", url, "dir/k")
        assert nstore.fails(1, "get", url, "dir/k") == "nstore get: not found: key 'dir/k'"
        nstore.env["NSTORE_TOKEN"] = read_only
        assert nstore.fails(3, "put", url, "k", input=b"v").startswith("nstore put: access refused: ")
        del nstore.env["NSTORE_TOKEN"]
        line = nstore.fails(3, "get", url + "?token=wrong-token-0123456789", "dir/k")
        assert line.startswith("nstore get: access refused: ")
        assert "wrong-token" not in line
    with FileStore(tmp_path / "mirror") as mirror:
        assert mirror["dir/k"] == EVERY_BYTE


def test_an_unreachable_http_server_exits_3(nstore: NStore) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = nstore.fails(3, "get", f"http://127.0.0.1:{port}/?connect_timeout=1&retries=0", "k")
    assert line.startswith("nstore get: store unavailable: ")


def test_bench_on_redis_leaves_nothing_behind(nstore: NStore, redis_url: str) -> None:
    rows = json.loads(nstore.ok("bench", redis_url, "--seconds", "0.01", "--json").out)
    assert len(rows) == 6
    assert all(r["get_per_s"] > 0 for r in rows)
    assert list(RedisStore(redis_url)) == []


def test_namespaces_on_redis(nstore: NStore, redis_url: str) -> None:
    from nstore._cli._records import RecordStruct, fields
    from nstore.codecs import Msgspec, Zstd
    from nstore.namespaces import Namespaces

    with RedisStore(redis_url) as store:
        users = Namespaces(store).namespace("users", Msgspec(RecordStruct) | Zstd())
        users["ada"] = RecordStruct(**fields(1))
    assert [m["name"] for m in json.loads(nstore.ok("namespaces", redis_url, "--json").out)] == ["users"]
    assert json.loads(nstore.ok("inspect", redis_url, "users", "ada").out)["email"] == "user1@example.com"


def test_copy_and_ls_over_http_list_every_key_once(nstore: NStore, tmp_path: Path) -> None:
    from nstore import MemoryStore
    from nstore.server import serve_in_thread

    # More keys than one page, with characters a query string gives a meaning to.
    data = {f"{c}{i:04d}": str(i).encode() for c in ("a+b ", "x&y%", "ü#", "=?") for i in range(700)}
    with serve_in_thread(MemoryStore[str, bytes](data)) as server:
        summary = json.loads(nstore.ok("copy", server.url, "copy.db", "--json").out)
        assert summary["keys"] == summary["copied"] == len(data)
        assert nstore.ok("ls", server.url, "--null").out.split(b"\0")[:-1] == [
            k.encode() for k in sorted(data)
        ]
    with SQLiteStore(tmp_path / "copy.db") as copy:
        assert copy.get_many(list(data)) == data
        assert len(copy) == len(data)


def test_keys_of_other_types_are_not_listed_read_or_copied(nstore: NStore, redis_url: str) -> None:
    with RedisStore(redis_url) as store:
        store.client.hset(b"h1", b"f", b"v")
        store.client.rpush(b"l1", b"x")
        store["s1"] = b"hello"
    assert nstore.ok("ls", redis_url).text == "s1\n"
    assert nstore.ok("ls", redis_url, "--long").text == "5\ts1\n"
    assert nstore.fails(1, "get", redis_url, "h1") == "nstore get: not found: key 'h1'"
    summary = json.loads(nstore.ok("copy", redis_url, redis_url.replace("/0", "/1"), "--json").out)
    assert (summary["keys"], summary["copied"], summary["missing"]) == (1, 1, 0)
