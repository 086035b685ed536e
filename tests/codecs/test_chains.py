"""Chains and Codec.wrap join CodecTests; chains are flat, and errors name the failing stage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import strategies as st

from nstore import MemoryStore
from nstore.codecs import (
    Chain,
    Codec,
    Identity,
    Msgspec,
    Pickle,
    Prefix,
    Pydantic,
    Utf8,
    Zlib,
    Zstd,
    from_spec,
)
from nstore.errors import DecodeError, EncodeError, ValidationError
from tests.codecs.base import CodecTests, LimitedCodecTests
from tests.codecs.models import User, UserData, UserModel, sample_user, user_data, user_models, users

KEY = b"chain-signing-key-0123456789"


class TestMsgspecZstd(LimitedCodecTests[User, bytes]):
    has_schema = True

    def make_codec(self) -> Codec[User, bytes]:
        return Msgspec(User) | Zstd()

    def values(self) -> st.SearchStrategy[User]:
        return users

    def limited(self, max_size: int) -> Codec[User, bytes]:
        return Msgspec(User) | Zstd(max_size=max_size)

    def large_value(self, size: int) -> User:
        return User(1, "x" * size, "", [], 0.0, True, sample_user().created, {})


class TestPydanticZlib(LimitedCodecTests[UserModel, bytes]):
    has_schema = True

    def make_codec(self) -> Codec[UserModel, bytes]:
        return Pydantic(UserModel) | Zlib()

    def values(self) -> st.SearchStrategy[UserModel]:
        return user_models

    def limited(self, max_size: int) -> Codec[UserModel, bytes]:
        return Pydantic(UserModel) | Zlib(max_size=max_size)

    def large_value(self, size: int) -> UserModel:
        created = sample_user().created
        return UserModel(
            id=1, name="x" * size, email="", tags=[], score=0, active=True, created=created, counts={}
        )


class TestSignedPickleZstd(CodecTests[UserData, bytes]):
    has_schema = True

    @pytest.fixture(autouse=True)
    def _key_in_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NSTORE_PICKLE_KEY", KEY.decode())

    def make_codec(self) -> Codec[UserData, bytes]:
        return Pickle(UserData, key=KEY) | Zstd(9)

    def values(self) -> st.SearchStrategy[UserData]:
        return user_data


class TestPrefixUtf8(CodecTests[str, bytes]):
    canonical = True

    def make_codec(self) -> Codec[str, bytes]:
        return Prefix("app/") | Utf8()

    def values(self) -> st.SearchStrategy[str]:
        return st.text(max_size=20)


class JsonText:
    """A plain object with encode and decode, defined at module level so its spec can name it."""

    @staticmethod
    def encode(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    @staticmethod
    def decode(data: str) -> Any:
        return json.loads(data)


class TestWrapped(CodecTests[Any, str]):
    def make_codec(self) -> Codec[Any, str]:
        return Codec.wrap(JsonText)

    def values(self) -> st.SearchStrategy[Any]:
        scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
        return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=8)

    def garbage(self) -> st.SearchStrategy[str]:
        return st.text(max_size=30)


class TestWrappedThenUtf8Zlib(TestWrapped):
    def make_codec(self) -> Codec[Any, Any]:
        return Codec.wrap(JsonText) | Utf8() | Zlib(1)

    def garbage(self) -> st.SearchStrategy[Any]:
        return st.binary(max_size=64)


def test_wrap_turns_errors_into_codec_errors() -> None:
    codec = Codec.wrap(JsonText, name="json-text")
    with pytest.raises(EncodeError, match="Cannot encode") as info:
        codec.encode(object())
    assert info.value.codec == "json-text"
    with pytest.raises(DecodeError, match="Cannot decode"):
        codec.decode("{")
    assert Codec.wrap(JsonText).spec == {"name": "wrap", "object": "tests.codecs.test_chains:JsonText"}


def test_chains_flatten_and_identity_vanishes() -> None:
    a, b, c = Prefix("p/"), Utf8(), Zstd()
    left, right = (a | b) | c, a | (b | c)
    assert isinstance(left, Chain)
    assert left == right
    assert left.stages == right.stages == (a, b, c)
    assert Identity[str]() | a is a
    assert a | Identity() is a
    assert (a | Identity() | b).stages == (a, b)
    assert left.spec == [a.spec, b.spec, c.spec]
    assert from_spec(left.spec) == left


def test_chain_errors_name_the_failing_stage() -> None:
    codec = Msgspec(User) | Zstd()
    with pytest.raises(DecodeError) as garbage:
        codec.decode(b"not zstd")
    assert garbage.value.codec == "zstd"
    with pytest.raises(ValidationError) as invalid:
        codec.decode(Zstd().encode(json.dumps({"id": "x"}).encode()))
    assert invalid.value.codec == "msgspec"


def test_chain_safety_and_schema_follow_the_stages() -> None:
    assert (Pickle() | Zstd()).is_unsafe
    assert not (Pickle(key=KEY) | Zstd()).is_unsafe
    assert (Msgspec(User) | Zlib()).schema() == Msgspec(User).schema()
    assert (Pickle() | Zlib()).schema() is None


def test_typed_store_through_a_chain_names_the_key_in_errors() -> None:
    backend = MemoryStore[str, bytes]()
    users = backend.with_keys(Prefix("users/")).with_values(Msgspec(User) | Zstd())
    users["ada"] = sample_user(1)
    assert users["ada"] == sample_user(1)
    assert Zstd().decode(backend["users/ada"]) == Msgspec(User).encode(sample_user(1))
    backend["users/bob"] = b"garbage"
    with pytest.raises(DecodeError) as info:
        users["bob"]
    assert info.value.key == "bob"
    assert "key 'bob'" in str(info.value)
