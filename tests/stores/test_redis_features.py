"""RedisStore beyond the common suite: glob-safe listing, plain values, TTL, options, errors."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest
import redis

from nstore.codecs import Msgspec, Pickle, Prefix, Utf8, Zstd
from nstore.errors import (
    AuthError,
    ConfigurationError,
    InvalidKey,
    InvalidValue,
    StoreClosed,
    StoreUnavailable,
    UnsafeCodecError,
)
from nstore.stores.redis import RedisStore
from tests.redis_servers import RedisCluster, RedisServer, free_port, raw_cluster

GLOB_KEYS = ["a", "a*", "a*b", "a?", "a[b]", "a[", "a]", "a\\", "a\\*", "ab", "b*", "*", "[a-z]"]


@pytest.fixture(params=["standalone", "cluster"])
def url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty standalone server, then of an empty cluster."""
    name = "redis_url" if request.param == "standalone" else "redis_cluster_url"
    value: str = request.getfixturevalue(name)
    return value


@pytest.fixture
def store(url: str) -> Iterator[RedisStore]:
    with RedisStore(url) as store:
        yield store


def _pttl(url: str, key: str, cluster: RedisCluster | None) -> int:
    client = raw_cluster(cluster) if cluster is not None else redis.Redis.from_url(url)
    with client:
        result: int = client.pttl(key)
        return result


# -- listing with glob characters ------------------------------------------------------------------


def test_glob_characters_in_keys_and_prefixes_match_literally(store: RedisStore) -> None:
    for i, key in enumerate(GLOB_KEYS):
        store[key] = bytes([i])
    assert sorted(store) == sorted(GLOB_KEYS)
    for prefix in ["a*", "a?", "a[", "a[b", "a\\", "*", "[a-z]", "a]"]:
        expected = sorted(k for k in GLOB_KEYS if k.startswith(prefix))
        assert sorted(store.keys(prefix=prefix)) == expected, prefix
    assert store.get_many(GLOB_KEYS) == {key: bytes([i]) for i, key in enumerate(GLOB_KEYS)}


def test_glob_characters_in_store_prefix(url: str) -> None:
    with RedisStore(url, prefix="t*[x]") as tricky, RedisStore(url, prefix="tz") as plain:
        tricky["k"] = b"1"
        plain["k"] = b"2"  # "tz" matches the glob t*[x]... only if the prefix is not escaped
        plain["*[x]k"] = b"3"
        assert list(tricky) == ["k"]
        assert len(tricky) == 1
        assert sorted(plain) == ["*[x]k", "k"]


def test_listing_spans_every_master_and_is_lazy(store: RedisStore) -> None:
    data = {f"many/{i:05d}": b"v" for i in range(3000)}
    store.set_many(data)
    iterator = store.iter_keys("many/")
    first = next(iterator)
    assert first in data
    assert sorted([first, *iterator]) == sorted(data)
    assert len(store) == 3000


def test_keys_that_are_not_utf8_are_not_listed_and_left_alone(url: str, store: RedisStore) -> None:
    store.client.set(b"\xff\xfe", b"raw")  # only another client can write such a key
    store["ok"] = b"v"
    assert list(store) == ["ok"]
    assert list(store.keys(prefix="o")) == ["ok"]
    for key in ["\udcff\udcfe", "\ud800"]:  # what surrogateescape makes of those bytes; any surrogate
        with pytest.raises(InvalidKey, match="valid Unicode text"):
            store[key] = b"x"
        assert key not in store
    assert store.client.get(b"\xff\xfe") == b"raw"


# -- values are plain bytes -------------------------------------------------------------------------


def test_values_are_the_plain_bytes_other_clients_read(url: str, store: RedisStore) -> None:
    texts = store.with_keys(Prefix("t/")).with_values(Utf8())
    texts["greeting"] = "héllo wörld"
    store["binary"] = bytes(range(256))
    port = url.split(":")[2].split(",")[0].split("/")[0]
    for key, expected in [("t/greeting", "héllo wörld".encode()), ("binary", bytes(range(256)))]:
        # -c follows cluster redirections; --raw prints the value's bytes and one newline.
        result = subprocess.run(
            ["redis-cli", "-c", "-p", port, "--raw", "GET", key], capture_output=True, check=True, timeout=10
        )
        assert result.stdout == expected + b"\n"


# -- time-to-live ------------------------------------------------------------------------------------


def test_ttl_per_key_and_by_default(url: str, store: RedisStore, request: pytest.FixtureRequest) -> None:
    cluster = request.getfixturevalue("redis_cluster") if "cluster" in url else None
    # Long enough that a loaded machine still reads its time left before it runs out.
    written = time.monotonic()
    store.set("short", b"v", ttl=2)
    store.set_many({"m1": b"1", "m2": b"2"}, ttl=30)
    store["forever"] = b"f"
    assert 0 < _pttl(url, "short", cluster) <= 2000
    assert 20_000 < _pttl(url, "m1", cluster) <= 30_000
    assert 20_000 < _pttl(url, "m2", cluster) <= 30_000
    assert _pttl(url, "forever", cluster) == -1
    with RedisStore(url, ttl=60) as expiring:
        expiring["d"] = b"1"
        assert expiring.set_if_absent("nx", b"1")
        expiring.set_many({"dm": b"1"})
        assert expiring.compare_and_set("forever", b"f", b"g")
        for key in ["d", "nx", "dm", "forever"]:
            assert 50_000 < _pttl(url, key, cluster) <= 60_000, key
    time.sleep(max(0.0, written + 2.1 - time.monotonic()))
    assert "short" not in store
    assert store.get("short") is None


# -- connecting ----------------------------------------------------------------------------------------


def test_options_from_the_url(redis_url: str) -> None:
    with RedisStore(redis_url + "?prefix=app:&ttl=30&timeout=1.5&connect_timeout=1&retries=0") as store:
        store["k"] = b"v"
        assert store.client.get(b"app:k") == b"v"
        assert 0 < store.client.pttl(b"app:k") <= 30_000
    with RedisStore(redis_url + "?prefix=url:", prefix="arg:") as store:
        store["k"] = b"v"  # an argument overrides the URL's option
        assert store.client.get(b"arg:k") == b"v"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://127.0.0.1:1/0?color=blue", "Unknown option 'color' for a redis store. Accepted options"),
        ("redis://127.0.0.1:1/0?timeout=soon", "Expected a number"),
        ("redis://127.0.0.1:1/0?timeout=0", "a number > 0 for option .timeout."),
        ("redis://127.0.0.1:1/0?retries=-1", "Expected an integer >= 0 for option 'retries'"),
        ("redis://127.0.0.1:1/0?retries=101", "from 0 to 100"),
        ("memcached://127.0.0.1:1", "Expected a redis://"),
        ("redis+cluster://", "Expected a host"),
        ("redis+cluster://127.0.0.1:1/2", "only database 0"),
        ("redis+cluster://127.0.0.1:x", "host:port"),
        ("127.0.0.1:6379", "Got '127.0.0.1:6379': write redis://127.0.0.1:6379/0 for one server, or pass"),
        ("localhost:6379?prefix=a", "write redis://localhost:6379/0 for one server"),
        ("redis://127.0.0.1:1/abc", "Expected a database number after the host, as in redis://host:6379/0"),
        ("redis://127.0.0.1:1/db1", "Got the path '/db1'"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("?", "\\?")):
        RedisStore(url)


def test_the_url_options_of_redis_store_and_nstore_open_are_the_same(redis_url: str) -> None:
    import nstore

    url = redis_url + "?replicas=1&replica_timeout=0.1&retries=0&connect_timeout=1&prefix=same:"
    for store in (RedisStore(url), nstore.open(url)):
        with store, pytest.raises(StoreUnavailable, match="only 0 of 1 replicas"):
            store["k"] = b"v"  # the server has no replica: both wait for one, both say so
        assert isinstance(store, RedisStore)
        assert store.client.get(b"same:k") == b"v"
        store.client.delete(b"same:k")


def test_a_database_number_is_used(redis_server: RedisServer) -> None:
    with RedisStore(f"redis://127.0.0.1:{redis_server.port}/3") as store:
        store["in-three"] = b"v"
    with redis.Redis(port=redis_server.port, db=3) as raw:
        assert raw.get(b"in-three") == b"v"
        raw.delete(b"in-three")


def test_startup_nodes_and_an_existing_client(redis_cluster: RedisCluster, redis_cluster_url: str) -> None:
    ports = [server.port for server in redis_cluster.servers]
    with RedisStore([f"127.0.0.1:{ports[0]}", ("127.0.0.1", ports[1])]) as store:
        store["k"] = b"v"
    client = raw_cluster(redis_cluster)
    store = RedisStore(client, prefix="p:")
    assert store.get("k") is None
    store["k"] = b"w"
    store.close()
    assert client.get("p:k") == b"w"  # a client passed in stays open after close()
    client.close()
    decoding = redis.Redis.from_url(redis_cluster.node_urls[0], decode_responses=True)
    with decoding, pytest.raises(ConfigurationError, match="decode_responses=False"):
        RedisStore(decoding)
    with pytest.raises(ConfigurationError, match="Expected a redis://"):
        RedisStore(42)  # type: ignore[arg-type]  # the wrong type is the point
    with pytest.raises(ConfigurationError, match="host:port"):
        RedisStore(["no-port"])


def test_closed_store_refuses_every_operation(store: RedisStore) -> None:
    store["k"] = b"v"
    store.close()
    store.close()
    operations: list[Callable[[], object]] = [
        lambda: store.get_many(["k"]),
        lambda: store.set_many({"k": b"v"}),
        lambda: store.delete_many(["k"]),
        lambda: list(store),
        lambda: len(store),
        lambda: "k" in store,
        lambda: store.set_if_absent("k", b"v"),
        lambda: store.compare_and_set("k", b"v", b"w"),
    ]
    for operation in operations:
        with pytest.raises(StoreClosed):
            operation()


def test_nothing_listening_is_unavailable_quickly() -> None:
    port = free_port()
    with RedisStore(f"redis://127.0.0.1:{port}/0", timeout=0.5, connect_timeout=0.5, retries=1) as store:
        start = time.monotonic()
        with pytest.raises(StoreUnavailable, match="unavailable while reading 'k'"):
            store["k"]
        with pytest.raises(StoreUnavailable, match="may or may not have been applied"):
            store.set_if_absent("k", b"v")
        assert time.monotonic() - start < 3


def test_wrong_password_is_an_auth_error(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, extra_args=["--requirepass", "s3cret"])
    try:
        with RedisStore(server.url.replace("//", "//:s3cret@")) as store:
            store["k"] = b"v"
            assert store["k"] == b"v"
        for url in [server.url, server.url.replace("//", "//:wrong@")]:
            with RedisStore(url) as store, pytest.raises(AuthError) as info:
                store["k"]
            assert "s3cret" not in str(info.value)
    finally:
        server.kill()


# -- values and keys of the wrong type; unsafe codecs ----------------------------------------------------


def test_wrong_types_are_refused(store: RedisStore) -> None:
    with pytest.raises(InvalidValue, match="Expected bytes"):
        store["k"] = "text"  # type: ignore[assignment]  # the wrong type is the point
    with pytest.raises(InvalidValue, match="Expected bytes"):
        store.set_many({"k": 1})  # type: ignore[arg-type]  # as above
    with pytest.raises(InvalidKey, match="Expected a str key"):
        store[b"k"] = b"v"  # type: ignore[index]  # as above
    store["b"] = bytearray(b"buffer")  # type: ignore[assignment]  # any bytes-like value is stored
    assert store["b"] == b"buffer"
    number: object = 1
    assert number not in store


def test_unsigned_pickle_is_refused_on_redis(store: RedisStore) -> None:
    with pytest.raises(UnsafeCodecError):
        store.with_values(Pickle())
    trusted = store.with_values(Pickle(), trusted=True)
    trusted["t"] = {"a": 1}
    signed = store.with_values(Pickle(dict, key=b"0123456789abcdef"))
    signed["s"] = {"b": 2}
    assert signed["s"] == {"b": 2}
    assert trusted["t"] == {"a": 1}


# -- replica acknowledgements --------------------------------------------------------------------------


def test_replicas_wait_on_a_cluster(redis_cluster_url: str) -> None:
    with RedisStore(redis_cluster_url, replicas=1, replica_timeout=2) as store:
        store["k"] = b"1"
        assert store.set_if_absent("n", b"1")
        assert store.compare_and_set("k", b"1", b"2")
        store.set_many({f"m{i}": b"v" for i in range(50)})
        store.delete_many(["m1", "m2"])
        del store["n"]
        assert store["k"] == b"2"
        assert len(store) == 49


def test_too_few_replicas_is_unavailable(redis_url: str) -> None:
    with RedisStore(redis_url, replicas=1, replica_timeout=0.1, retries=0) as store:
        with pytest.raises(StoreUnavailable, match="only 0 of 1 replicas"):
            store["k"] = b"v"
        assert store.client.get(b"k") == b"v"  # on the master, but not known to be safe
        with pytest.raises(StoreUnavailable, match="replicas"):
            store.set_many({"a": b"1", "b": b"2"})


# -- typed pipelines and concurrency -----------------------------------------------------------------------


class Point(msgspec.Struct):
    x: int
    label: str


def test_typed_pipeline_stores_its_bytes_in_redis(store: RedisStore) -> None:
    codec = Msgspec(Point) | Zstd()
    points = store.with_keys(Prefix("points/")).with_values(codec)
    points["p"] = Point(3, "three")
    points.set_many({"q": Point(4, "four"), "r": Point(5, "five")})
    assert points["p"] == Point(3, "three")
    assert points.get_many(["q", "r", "s"]) == {"q": Point(4, "four"), "r": Point(5, "five")}
    assert store.client.get(b"points/p") == codec.encode(Point(3, "three"))
    assert sorted(points) == ["p", "q", "r"]


def test_nstore_open_makes_redis_stores(redis_url: str, redis_cluster_url: str) -> None:
    from nstore.urls import open as open_store

    with open_store(redis_url + "?prefix=opened:&timeout=2") as store:
        assert isinstance(store, RedisStore)
        store["k"] = b"v"
        assert store.client.get(b"opened:k") == b"v"
    with open_store(redis_cluster_url) as cluster:
        cluster.set_many({f"k{i}": b"v" for i in range(20)})
        assert len(cluster) == 20


def test_missing_redis_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # makes `import redis` fail, as when not installed
    with pytest.raises(ImportError, match=r"pip install 'nstore\[redis\]'"):
        RedisStore("redis://127.0.0.1:1/0")


def test_a_prefix_that_is_not_a_str_is_refused(store: RedisStore) -> None:
    with pytest.raises(InvalidKey, match="Expected a str prefix"):
        store.iter_keys(b"a")  # type: ignore[arg-type]  # the wrong type is the point
