"""nstore.open(url): every URL form, options typed and validated, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

import pytest

import nstore._schemes
import nstore.urls
from nstore import MemoryStore
from nstore.errors import ConfigurationError
from nstore.urls import StoreURL, parse


def test_memory() -> None:
    assert parse("memory://") == StoreURL("memory", "", {})
    store = nstore.urls.open("memory://")
    assert isinstance(store, MemoryStore)
    store["k"] = b"v"
    assert store["k"] == b"v"


def test_no_url_is_the_embedded_default_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nstore.stores.sqlite import SQLiteStore

    monkeypatch.chdir(tmp_path)
    assert parse() == StoreURL("sqlite", str(tmp_path / "nstore.db"), {})
    with nstore.urls.open() as store:
        assert isinstance(store, SQLiteStore)
        store["k"] = b"v"
    assert (tmp_path / "nstore.db").is_file()


@pytest.mark.parametrize(
    ("url", "kind", "location"),
    [
        ("file:///srv/data", "file", "/srv/data"),
        ("file://localhost/srv/data", "file", "/srv/data"),
        ("file:///srv/with%20space", "file", "/srv/with space"),
        ("sqlite:///srv/app.db", "sqlite", "/srv/app.db"),
        ("SQLITE:///srv/app", "sqlite", "/srv/app"),
        ("redis://localhost:6379/0", "redis", "redis://localhost:6379/0"),
        ("rediss://user:pw@cache.example:6380/2", "redis", "rediss://user:pw@cache.example:6380/2"),
        ("redis+cluster://h1:7000,h2:7001", "redis-cluster", "redis+cluster://h1:7000,h2:7001"),
        ("http://127.0.0.1:8765/", "http", "http://127.0.0.1:8765/"),
        ("https://store.example/base", "http", "https://store.example/base"),
    ],
)
def test_url_forms(url: str, kind: str, location: str) -> None:
    parsed = parse(url)
    assert (parsed.kind, parsed.location, parsed.options) == (kind, location, {})


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("data.db", "sqlite"),
        ("data.SQLITE", "sqlite"),
        ("data.sqlite3", "sqlite"),
        ("data", "file"),
        ("sub/dir", "file"),
        ("dir.d", "file"),
    ],
)
def test_bare_paths_are_relative_to_the_current_directory(
    name: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse(name) == StoreURL(kind, str(tmp_path / name), {})
    assert parse(tmp_path / name) == StoreURL(kind, str(tmp_path / name), {})


def test_a_bare_path_to_an_existing_file_is_sqlite(tmp_path: Path) -> None:
    (tmp_path / "store").write_bytes(b"")
    assert parse(str(tmp_path / "store")).kind == "sqlite"


def test_options_are_typed() -> None:
    assert parse("sqlite:///a.db?durability=full&timeout=2").options == {"durability": "full", "timeout": 2.0}
    for text, value in [("true", True), ("1", True), ("Yes", True), ("off", False), ("0", False)]:
        assert parse(f"file:///d?durable={text}").options == {"durable": value}
    assert parse("memory://?maxsize=10&ttl=1.5").options == {"maxsize": 10, "ttl": 1.5}
    assert parse("redis://h:1/0?prefix=app/").options == {"prefix": "app/"}


def test_keyword_options_override_the_query() -> None:
    parsed = parse("sqlite:///a.db?durability=full", durability="off", timeout=3)
    assert parsed.options == {"durability": "off", "timeout": 3.0}


@pytest.mark.parametrize(
    ("url", "kwargs", "message"),
    [
        ("sqlite:///a.db?durability=fast", {}, "Expected normal | full | off for option 'durability'"),
        ("file:///d?durable=maybe", {}, "Expected true | false for option 'durable'. Got 'maybe'"),
        ("memory://?maxsize=ten", {}, "Expected an integer > 0 for option 'maxsize'. Got 'ten'"),
        ("memory://?maxsize=-1", {}, "Expected an integer > 0 for option 'maxsize'. Got '-1'"),
        ("memory://", {"ttl": "soon"}, "Expected a number > 0 for option 'ttl'. Got 'soon'"),
        ("file:///d", {"durable": 1}, "Expected true | false for option 'durable'. Got 1"),
        ("sqlite:///a.db?sync=full", {}, "Unknown option 'sync' for a sqlite store. Accepted"),
        ("memory://", {"durable": True}, "Unknown option 'durable' for a memory store. Accepted"),
        ("sqlite:///a.db?table=a&table=b", {}, "Option 'table' is given twice"),
        ("file:///d?ttl=5", {}, "A file store has no option 'ttl': .* use sqlite:///"),
        ("file:///d", {"ttl": 5}, "A file store has no option 'ttl': .* use sqlite:///"),
        # ASCII numbers only (int() and float() also read other scripts' digits and "1_0"), in range
        ("memory://?ttl=\uff15", {}, "Expected a number > 0 for option 'ttl'. Got '\uff15'"),
        ("redis://h:1/0?retries=1_0", {}, "Expected an integer >= 0 for option 'retries'. Got '1_0'"),
        ("memory://?maxsize=\u0661\u0660", {}, "Expected an integer > 0 for option 'maxsize'"),
        ("redis://h:1/0?timeout=0", {}, "Expected a number > 0 for option 'timeout'. Got '0'"),
        ("http://h:1/?connect_timeout=0", {}, "Expected a number > 0 for option 'connect_timeout'"),
    ],
)
def test_bad_options(url: str, kwargs: dict[str, Any], message: str) -> None:
    # Any: these values are wrong on purpose; the run-time check must catch what typing would.
    with pytest.raises(ConfigurationError, match="^" + message.replace("|", r"\|").replace("(", r"\(")):
        parse(url, **kwargs)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "Unknown store URL scheme 'ftp'"),
        ("s3://bucket/key", "Unknown store URL scheme 's3'"),
        ("", "Expected a store URL or a path. Got an empty string"),
        ("file://relative/dir", "Expected an absolute path after file:// (three slashes"),
        ("sqlite://data.db", "Expected an absolute path after sqlite:// (three slashes"),
        ("memory://somewhere", "Expected memory:// with no host or path"),
        ("redis:///0", "Expected a host in 'redis:///0'"),
        ("http://", "Expected a host in 'http://'"),
        # a port that is not one: redis-py would take port 0 for "none given" and use 6379
        (
            "redis://127.0.0.1:0/0",
            "Expected a port from 1 to 65535 after each host (host:port) in 'redis://1",
        ),
        ("redis://h:99999/0", "Expected a port from 1 to 65535 after each host (host:port) in 'redis://h:9"),
        ("http://h:65536/", "Expected a port from 1 to 65535"),
        ("redis+cluster://h:1,h:99999", "Expected a port from 1 to 65535"),
        ("redis://h:port/0", "Expected a port from 1 to 65535"),
        # urlsplit's own ValueError, as nstore's error
        ("redis://[::1/0", "Expected a valid URL"),
        ("http://[zz]:1/", "Expected a valid URL"),
        # a fragment would be dropped, so the store would address other keys or another file
        ("redis://h:1/0?prefix=team#1:", "A '#' in a store URL"),
        ("sqlite:///tmp/a#b.db", "A '#' in a store URL"),
        # text that is not UTF-8 once percent-decoded
        ("redis://h:1/0?prefix=%FF", "Expected options that are UTF-8 text once percent-decoded"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse(url)
    assert str(info.value).startswith(message)


def test_an_unknown_scheme_lists_every_accepted_form() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse("mongodb://h/db")
    for form in (
        "memory://",
        "file:///",
        "sqlite:///",
        "redis://",
        "rediss://",
        "redis+cluster://",
        "http://",
    ):
        assert form in str(info.value)


def test_secrets_never_show() -> None:
    assert str(parse("http://h:1/?token=s3cret")) == "http://h:1/?token=***"
    assert str(parse("redis://user:s3cret@h:1/0")) == "redis://user:***@h:1/0"
    with pytest.raises(ConfigurationError) as info:
        parse("http://h:1/?token=s3cret&colour=red")
    assert "s3cret" not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        parse("nope://user:s3cret@h/?token=s3cret")
    assert "s3cret" not in str(info.value)


def test_canonical_string_round_trips() -> None:
    for url in ["memory://?maxsize=5", "sqlite:///srv/a%20b.db?durability=full", "file:///d?durable=false"]:
        assert str(parse(str(parse(url)))) == url


def test_sqlite_options_reach_the_store(tmp_path: Path) -> None:
    from nstore.stores.sqlite import SQLiteStore

    with nstore.urls.open(f"sqlite://{tmp_path}/a.db?durability=full&table=things") as store:
        assert isinstance(store, SQLiteStore)
        store["k"] = b"v"
    with nstore.urls.open(str(tmp_path / "a.db"), table="things") as store:
        assert store["k"] == b"v"
    with nstore.urls.open(str(tmp_path / "a.db")) as store:
        assert list(store) == []


@pytest.mark.parametrize("scheme", nstore.urls.SCHEMES, ids=lambda s: s.kind)
def test_every_option_is_a_parameter_of_its_backend(scheme: nstore.urls.Scheme) -> None:
    import importlib
    import inspect

    module, _, name = scheme.backend.partition(":")
    parameters = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    for option in scheme.options:
        assert (option.param or option.name) in parameters, (scheme.kind, option.name)


def test_memory_options_reach_the_store() -> None:
    store = nstore.urls.open("memory://?maxsize=2")
    for key in "abc":
        store[key] = b"v"
    assert sorted(store) == ["b", "c"]


# -- forms that used to be taken for something else ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "name", "options"),
    [
        ("app.db?durability=full", "sqlite", "app.db", {"durability": "full"}),
        ("app.db?durability=full&timeout=2", "sqlite", "app.db", {"durability": "full", "timeout": 2.0}),
        ("files?durable=false", "file", "files", {"durable": False}),
        ("app.db?", "sqlite", "app.db", {}),
    ],
)
def test_a_query_after_a_bare_path_gives_options(
    text: str,
    kind: str,
    name: str,
    options: dict[str, object],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse(text) == StoreURL(kind, str(tmp_path / name), options)


def test_a_bare_path_with_a_query_opens_the_path_not_a_directory_named_after_the_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with nstore.urls.open("app.db?durability=full") as store:
        store["k"] = b"v"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_a_bare_path_with_an_unknown_query_is_refused_with_the_way_to_name_such_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as info:
        parse("what?is-this")
    message = str(info.value)
    assert message.startswith("Unknown option 'is-this' for a file store.")
    assert "'?' in a bare path starts the options" in message
    assert f"file://{tmp_path}/what%3Fis-this" in message
    assert list(tmp_path.iterdir()) == []


def test_a_path_object_is_always_a_path(tmp_path: Path) -> None:
    assert parse(tmp_path / "odd?name") == StoreURL("file", str(tmp_path / "odd?name"), {})
    assert parse(f"file://{tmp_path}/odd%3Fname") == StoreURL("file", str(tmp_path / "odd?name"), {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("memory:", "Expected memory:// for a memory store: the scheme, then //. Got 'memory:'"),
        ("memory:?maxsize=3", "Expected memory:// for a memory store: the scheme, then //. Got 'memory:?max"),
        ("sqlite:/srv/app.db", "Expected sqlite:///abs/path.db"),
        ("file:data", "Expected file:///abs/dir"),
        ("redis:cache.example:6379", "Expected redis://host:port/db"),
        ("HTTP:store.example", "Expected http://host:port/"),
    ],
)
def test_a_known_scheme_without_slashes_is_refused_clearly(
    text: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as info:
        parse(text)
    assert str(info.value).startswith(expected)
    assert f"'./{text.partition('?')[0]}'" in str(info.value)  # how to name a path that starts so
    assert parse(f"./{text.partition('?')[0]}").kind in ("file", "sqlite")


def test_memory_url_forms() -> None:
    assert parse("memory:///").kind == "memory"
    assert parse("memory://?maxsize=3").options == {"maxsize": 3}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "redis://cache.example/abc",
            "Expected a database number after the host, as in redis://host:6379/0.",
        ),
        ("redis://cache.example/0/1", "Expected a database number after the host"),
        ("redis://cache.example/-1", "Expected a database number after the host"),
        ("redis+cluster://h1:7000/2", "Expected no database in a redis+cluster:// URL (a cluster has only"),
    ],
)
def test_a_redis_path_that_is_not_a_database_number_is_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse(url)
    assert str(info.value).startswith(message)
    assert "Got the path" in str(info.value)


@pytest.mark.parametrize("path", ["", "/", "/0", "/15"])
def test_redis_database_numbers(path: str) -> None:
    assert parse(f"redis://cache.example:6379{path}").location == f"redis://cache.example:6379{path}"


def test_every_redis_store_option_is_a_url_option() -> None:
    import dataclasses

    from nstore.stores._redis_client import RedisOptions

    names = {o.name for o in nstore._schemes.BY_KIND["redis"].options}
    assert names == {f.name for f in dataclasses.fields(RedisOptions)}
    parsed = parse("redis://h:1/0?replicas=1&replica_timeout=0.5&retries=0&connect_timeout=1")
    assert parsed.options == {"replicas": 1, "replica_timeout": 0.5, "retries": 0, "connect_timeout": 1.0}


def test_the_typed_options_are_exactly_the_options_of_the_schemes() -> None:
    hints = get_type_hints(nstore.urls.StoreOptions)
    declared: dict[str, object] = {}
    for scheme in nstore.urls.SCHEMES:
        for option in scheme.options:
            typed = Literal[option.choices] if option.choices else option.type
            assert declared.setdefault(option.name, typed) == typed, option.name  # one type per name
    assert hints.keys() == declared.keys()
    for name, hint in hints.items():
        expected = declared[name]
        if get_args(expected):
            assert get_args(hint) == get_args(expected), name
        else:
            assert hint is expected, name


def test_a_plus_in_an_option_is_a_plus() -> None:
    # RFC 3986 gives '+' no meaning in a query; a space is %20
    assert parse("redis://h:1/0?prefix=app+v2:").options == {"prefix": "app+v2:"}
    assert parse("redis://h:1/0?prefix=a%20b").options == {"prefix": "a b"}
    assert parse(str(parse("redis://h:1/0?prefix=app+v2:"))).options == {"prefix": "app+v2:"}


def test_a_zero_timeout_means_no_wait_for_sqlite() -> None:
    assert parse("sqlite:///a.db?timeout=0").options == {"timeout": 0.0}
