"""HTTPStore beyond the suite: errors, retries, limits, the plain API, typed views, pickle safety."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
from collections.abc import Iterator

import msgspec
import pytest

from nstore import MemoryStore, Store
from nstore.codecs import Msgspec, Pickle
from nstore.errors import (
    ConfigurationError,
    InvalidKey,
    InvalidValue,
    SignatureError,
    StoreClosed,
    StoreUnavailable,
    UnsafeCodecError,
    UnsupportedOperation,
    ValueTooLarge,
)
from nstore.server import serve_in_thread
from nstore.stores.ahttp import AsyncHTTPStore
from nstore.stores.http import HTTPStore
from tests.threads import run_threads

SECRET = "client-token-0123456789abcdef"


class _Flaky(Store[str, bytes]):
    """A real store that is unavailable for its first ``failures`` reads (the server answers 503)."""

    def __init__(self, failures: int) -> None:
        self.data = {"k": b"v"}
        self.failures = failures
        self.calls = 0

    def __getitem__(self, key: str, /) -> bytes:
        self.calls += 1
        if self.calls <= self.failures:
            raise StoreUnavailable("briefly down")
        return self.data[key]

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self.data[key] = value

    def __delitem__(self, key: str, /) -> None:
        del self.data[key]

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        return iter([k for k in self.data if k.startswith(prefix or "")])

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        self.calls += 1
        raise StoreUnavailable("briefly down")


class _Broken(_Flaky):
    def __getitem__(self, key: str, /) -> bytes:
        raise RuntimeError("/srv/secret/path exploded")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_store_unavailable_with_url_and_no_token() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with (
        HTTPStore(url, token=SECRET, retries=1, backoff=0.01) as store,
        pytest.raises(StoreUnavailable) as info,
    ):
        store["k"]
    assert url in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(store)


def test_idempotent_requests_are_retried_and_conditional_writes_are_not() -> None:
    backend = _Flaky(failures=2)
    with serve_in_thread(backend) as server, HTTPStore(server.url, retries=2, backoff=0.01) as store:
        assert store["k"] == b"v"
        assert backend.calls == 3
        backend.calls = 0
        with pytest.raises(StoreUnavailable):
            store.set_if_absent("new", b"v")
        assert backend.calls == 1


def test_server_errors_are_store_unavailable_without_details() -> None:
    with serve_in_thread(_Broken(0)) as server, HTTPStore(server.url, retries=0) as store:
        with pytest.raises(StoreUnavailable, match="500") as info:
            store["k"]
        assert "/srv/secret" not in str(info.value)


def test_max_response_is_enforced() -> None:
    backend = MemoryStore[str, bytes]({"big": b"x" * 4096, "small": b"y"})
    with serve_in_thread(backend) as server, HTTPStore(server.url, max_response=1024) as store:
        assert store["small"] == b"y"
        with pytest.raises(ValueTooLarge, match="max_response"):
            store["big"]
        assert store["small"] == b"y"  # the pool recovered


def test_plain_api_needs_nothing_nstore_specific() -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend) as server, HTTPStore(server.url + "/v1/keys/", api="plain") as store:
        store["a/b"] = b"1"
        store["c"] = b"2"
        assert backend["a/b"] == b"1"
        assert store["a/b"] == b"1"
        assert store.get_many(["a/b", "c", "zz"]) == {"a/b": b"1", "c": b"2"}
        del store["c"]
        assert "c" not in store
        assert not store.supports_prefix_listing
        with pytest.raises(UnsupportedOperation):
            list(store)
    with pytest.raises(ConfigurationError):
        HTTPStore("ftp://example.com")
    with pytest.raises(ConfigurationError):
        HTTPStore(f"http://user:{SECRET}@localhost/")


def test_keys_that_are_not_unicode_text_are_invalid() -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server, HTTPStore(server.url) as store:
        with pytest.raises(InvalidKey):
            store["lone\udc80surrogate"] = b"v"
        assert "lone\udc80surrogate" not in store
        with pytest.raises(InvalidKey):
            store.set_many({"lone\udc80surrogate": b"v"})


def test_listing_is_paginated_and_lazy() -> None:
    backend = MemoryStore[str, bytes]({f"k/{i:05d}": b"" for i in range(2500)} | {"other": b""})
    with serve_in_thread(backend) as server, HTTPStore(server.url) as store:
        keys = store.iter_keys("k/")
        assert next(keys) == "k/00000"
        assert len(list(keys)) == 2499
        assert len(store) == 2501


def test_closed_store_raises_store_closed() -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server:
        store = HTTPStore(server.url)
        store["k"] = b"v"
        store.close()
        store.close()
        with pytest.raises(StoreClosed):
            store["k"]


def test_threads_share_the_pool() -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server, HTTPStore(server.url) as store:

        def work(n: int) -> None:
            for i in range(50):
                store[f"{n}/{i}"] = b"x"
                assert store[f"{n}/{i}"] == b"x"

        assert run_threads(work, 8) == []
        assert len(store) == 400


class User(msgspec.Struct):
    name: str
    age: int


def test_typed_remote_store() -> None:
    with serve_in_thread(MemoryStore[str, bytes]()) as server, HTTPStore(server.url) as store:
        users = store.with_values(Msgspec(User))
        users["ada"] = User("Ada", 36)
        assert users["ada"] == User("Ada", 36)
        assert users.get_many(["ada", "bob"]) == {"ada": User("Ada", 36)}


def test_values_that_are_not_bytes_are_refused_before_sending() -> None:
    backend = MemoryStore[str, bytes]()
    with serve_in_thread(backend) as server, HTTPStore(server.url) as store:
        with pytest.raises(InvalidValue, match="Expected bytes"):
            store["k"] = "text"  # type: ignore[assignment]  # the wrong value type on purpose
        with pytest.raises(InvalidValue):
            store.set_many({"k": 1})  # type: ignore[arg-type]  # as above
        assert len(backend) == 0


# -- pickle over a remote store ------------------------------------------------------------------


@pytest.fixture
def remote() -> Iterator[tuple[str, HTTPStore]]:
    with serve_in_thread(MemoryStore[str, bytes]()) as server, HTTPStore(server.url) as store:
        yield server.url, store


def test_unsigned_pickle_is_refused_unless_trusted(remote: tuple[str, HTTPStore]) -> None:
    _, store = remote
    with pytest.raises(UnsafeCodecError):
        store.with_values(Pickle())
    trusted = store.with_values(Pickle(), trusted=True)
    trusted["x"] = {"a": [1, 2]}
    assert trusted["x"] == {"a": [1, 2]}


def test_signed_pickle_works_and_a_planted_payload_never_runs(remote: tuple[str, HTTPStore]) -> None:
    url, store = remote
    signed = store.with_values(Pickle(key=b"k" * 32))
    signed["ok"] = {"value": 1}
    assert signed["ok"] == {"value": 1}

    marker = f"/tmp/nstore-pwned-{id(store)}"
    payload = pickle.dumps(_Exploit(marker))
    planted = subprocess.run(
        ["curl", "-sS", "-X", "PUT", "--data-binary", "@-", f"{url}/v1/keys/evil", "-w", "%{http_code}"],
        input=payload,
        capture_output=True,
        check=False,
    )
    assert planted.stdout == b"204"
    with pytest.raises(SignatureError):
        signed["evil"]
    assert not os.path.exists(marker)


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os_system, (f"touch {self.marker}",))


def os_system(command: str) -> int:
    return os.system(command)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": -1},
        {"timeout": float("nan")},
        {"timeout": 0},
        {"connect_timeout": 0},
        {"connect_timeout": 1e300},
        {"timeout": float("inf")},
        {"timeout": 86_401},
        {"backoff": 1e300},
        {"connect_timeout": "5"},
        {"backoff": True},
        {"retries": -1},
        {"retries": 1.5},
        {"max_response": 0},
    ],
)
def test_bad_client_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        HTTPStore("http://127.0.0.1:1/", **options)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        AsyncHTTPStore("http://127.0.0.1:1/", **options)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_connections"):
        AsyncHTTPStore("http://127.0.0.1:1/", max_connections=0)


def test_timeouts_up_to_a_day_are_taken() -> None:
    with serve_in_thread(MemoryStore[str, bytes]({"k": b"v"})) as server:
        with HTTPStore(server.url, timeout=86_400, connect_timeout=0.5, backoff=0) as store:
            assert store["k"] == b"v"
        with pytest.raises(ConfigurationError, match=r"Expected a positive number of seconds.*Got 0 instead"):
            HTTPStore(server.url, timeout=0)
