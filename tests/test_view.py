"""Typed views: flattening, one call below for bulk operations, prefix push-down, errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from nstore import MemoryStore, Store, View
from nstore.codecs import Base64, Codec, Hex, Prefix, Utf8
from nstore.errors import DecodeError, MissingKey, UnsafeCodecError


class CountingStore(MemoryStore[str, bytes]):
    """A real MemoryStore that records the calls made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        self.calls.append(("iter_keys", prefix))
        return super().iter_keys(prefix)

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        keys = list(keys)
        self.calls.append(("get_many", keys))
        return super().get_many(keys)

    def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        items = list(items.items() if isinstance(items, Mapping) else items)
        self.calls.append(("set_many", items))
        super().set_many(items, ttl=ttl)


class RemoteMemoryStore(MemoryStore[str, bytes]):
    @property
    def is_remote(self) -> bool:
        return True


class UnsafeCodec(Codec[bytes, bytes]):
    name = "test-unsafe"

    def encode(self, value: bytes, /) -> bytes:
        return value

    def decode(self, data: bytes, /) -> bytes:
        return data

    @property
    def is_unsafe(self) -> bool:
        return True


def test_chained_views_flatten_into_one_view() -> None:
    base = MemoryStore[str, bytes]()
    view = base.with_keys(Prefix("a/")).with_keys(Prefix("b/")).with_values(Utf8())
    assert isinstance(view, View)
    assert view.store is base
    assert view.key_codec.stages == (Prefix("b/"), Prefix("a/"))
    view["k"] = "v"
    assert dict(base) == {"a/b/k": b"v"}


def test_bulk_calls_make_one_call_below() -> None:
    base = CountingStore()
    view = base.with_keys(Prefix("u/")).with_values(Utf8())
    view.set_many({"a": "1", "b": "2"})
    assert view.get_many(["a", "b", "c"]) == {"a": "1", "b": "2"}
    assert base.calls == [
        ("set_many", [("u/a", b"1"), ("u/b", b"2")]),
        ("get_many", ["u/a", "u/b", "u/c"]),
    ]


def test_prefix_codec_pushes_listing_down() -> None:
    base = CountingStore()
    base["other"] = b"x"
    view = base.with_keys(Prefix("users/"))
    view["ada"] = b"1"
    assert [k for k in view.keys(prefix="a")] == ["ada"]  # noqa: C416  (list() would call len() too)
    assert [k for k in view] == ["ada"]  # noqa: C416
    assert base.calls == [("iter_keys", "users/a"), ("iter_keys", "users/")]
    assert view.supports_prefix_listing is base.supports_prefix_listing


def test_hex_keys_list_by_prefix_natively() -> None:
    base = CountingStore()
    view = base.with_keys(Hex())
    view.set_many({b"\x01\x02": b"a", b"\x01\x03": b"b", b"\x02": b"c"})
    assert sorted(view.keys(prefix=b"\x01")) == [b"\x01\x02", b"\x01\x03"]
    assert base.calls[-1] == ("iter_keys", "01")


def test_listing_skips_keys_the_view_cannot_decode() -> None:
    base = MemoryStore[str, bytes]({"not base64!": b"x"})
    view = base.with_keys(Base64())
    view[b"\xff"] = b"y"
    assert list(view) == [b"\xff"]
    assert sorted(view.keys(prefix=b"\xff")) == [b"\xff"]


def test_decode_error_names_codec_and_key() -> None:
    base = MemoryStore[str, bytes]({"bad": b"\xff\xfe"})
    view = base.with_values(Utf8())
    with pytest.raises(DecodeError) as info:
        view["bad"]
    assert info.value.key == "bad"
    assert "'utf8'" in str(info.value)
    assert "'bad'" in str(info.value)
    with pytest.raises(DecodeError):
        view.get_many(["bad"])


def test_missing_key_names_the_view_key() -> None:
    view = MemoryStore[str, bytes]().with_keys(Prefix("p/"))
    with pytest.raises(MissingKey) as info:
        view["absent"]
    assert info.value.key == "absent"
    with pytest.raises(KeyError):
        del view["absent"]


def test_contains_with_a_key_of_another_type() -> None:
    view: Store[bytes, bytes] = MemoryStore[str, bytes]().with_keys(Base64())
    foreign: object = "a str, not bytes"
    assert foreign not in view


def test_unsafe_codec_refused_on_remote_store() -> None:
    remote = RemoteMemoryStore()
    with pytest.raises(UnsafeCodecError, match="trusted=True"):
        remote.with_values(UnsafeCodec())
    with pytest.raises(UnsafeCodecError):
        remote.with_keys(Prefix("x/")).with_values(UnsafeCodec())
    trusted = remote.with_values(UnsafeCodec(), trusted=True)
    trusted["k"] = b"v"
    assert trusted["k"] == b"v"
    MemoryStore[str, bytes]().with_values(UnsafeCodec())  # a local store accepts it


def test_view_forwards_conditional_writes_and_close() -> None:
    base = MemoryStore[str, bytes]()
    view = base.with_keys(Prefix("p/")).with_values(Utf8())
    assert view.set_if_absent("k", "v") is True
    assert view.set_if_absent("k", "w") is False
    assert view.compare_and_set("k", "v", "x") is True
    assert base["p/k"] == b"x"
    view.delete_many(["k", "missing"])
    assert len(base) == 0
    assert view.supports_atomic_writes is True
    view.close()
    with pytest.raises(Exception, match="closed"):
        base["p/k"]


class ListingCounted(MemoryStore[str, bytes]):
    """A real MemoryStore that counts the listings made of it."""

    listings = 0

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        self.listings += 1
        return super().iter_keys(prefix)


def test_len_of_a_prefix_or_identity_view_counts_without_listing() -> None:
    store = ListingCounted({f"users/{i}": b"" for i in range(50)} | {f"other/{i}": b"" for i in range(5)})
    assert len(store.with_keys(Prefix("users/"))) == 50
    assert len(store.with_keys(Prefix("us")).with_keys(Prefix("ers/"))) == 50
    assert len(store.with_values(Utf8())) == 55
    assert store.with_keys(Prefix("users/")).count_keys("1") == 11
    assert store.listings == 0
    # A key codec that may not decode every key below still lists (and skips what it cannot).
    assert len(MemoryStore[bytes, bytes]({b"\xff": b"", b"ok": b""}).with_keys(Utf8())) == 1


def test_list_of_a_keys_view_lists_once() -> None:
    store = ListingCounted({f"a/{i}": b"" for i in range(20)})
    assert list(store.keys("a/")) == [f"a/{i}" for i in sorted(range(20), key=str)]
    assert store.listings == 1
    assert sorted(store.keys()) == sorted(store)
    assert store.listings == 3
    view = store.keys("a/")
    iterator = iter(view)
    assert next(iterator) == "a/0"
    assert len(view) == 20  # a started listing is not taken whole: counted instead
    assert len(list(iterator)) == 19
