"""Pickle joins CodecTests: untyped, typed, and signed; signatures are checked before unpickling."""

from __future__ import annotations

import datetime
import pickle
from typing import Any

import pytest
from hypothesis import strategies as st

from nstore import MemoryStore
from nstore.codecs import Codec, Pickle, from_spec
from nstore.errors import (
    ConfigurationError,
    EncodeError,
    SignatureError,
    SpecError,
    UnsafeCodecError,
    ValidationError,
)
from tests.codecs.base import CodecTests
from tests.codecs.models import UserData, user_data

KEY = b"k" * 32
OTHER_KEY = b"o" * 32

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.binary(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


class TestPickle(CodecTests[Any, bytes]):
    unsafe = True

    def make_codec(self) -> Codec[Any, bytes]:
        return Pickle()

    def values(self) -> st.SearchStrategy[Any]:
        return anything


class TestTypedPickle(CodecTests[UserData, bytes]):
    unsafe = True
    has_schema = True

    def make_codec(self) -> Codec[UserData, bytes]:
        return Pickle(UserData)

    def values(self) -> st.SearchStrategy[UserData]:
        return user_data


class TestSignedPickle(CodecTests[UserData, bytes]):
    has_schema = True

    @pytest.fixture(autouse=True)
    def _key_in_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NSTORE_PICKLE_KEY", KEY.decode())

    def make_codec(self) -> Codec[UserData, bytes]:
        return Pickle(UserData, key=KEY)

    def values(self) -> st.SearchStrategy[UserData]:
        return user_data


class Exploding:
    """Unpickling this runs code: a signed codec must refuse it before it can."""

    ran = False

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_explode, ())


def _explode() -> None:
    Exploding.ran = True


def test_forged_value_is_refused_before_unpickling() -> None:
    forged = b"\0" * 32 + pickle.dumps(Exploding())
    with pytest.raises(SignatureError, match="was not unpickled"):
        Pickle(key=KEY).decode(forged)
    assert not Exploding.ran


def test_value_signed_with_another_key_or_codec_is_refused() -> None:
    data = Pickle(UserData, key=OTHER_KEY).encode(UserData(1, "a", "b", [], 0.0, True, _now(), {}))
    with pytest.raises(SignatureError):
        Pickle(UserData, key=KEY).decode(data)
    # Same key, another codec: the tag covers the codec's spec.
    with pytest.raises(SignatureError):
        Pickle(key=OTHER_KEY).decode(data)
    with pytest.raises(SignatureError, match="too short"):
        Pickle(key=KEY).decode(b"short")


def test_every_altered_byte_is_detected() -> None:
    codec = Pickle(key=KEY)
    data = codec.encode({"a": [1, 2, 3]})
    for i in range(len(data)):
        altered = data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]
        with pytest.raises(SignatureError):
            codec.decode(altered)


def test_typed_pickle_checks_the_type_both_ways() -> None:
    with pytest.raises(ValidationError, match=r"Expected an instance of UserData\. Got dict instead"):
        Pickle(UserData).decode(pickle.dumps({}))
    with pytest.raises(EncodeError, match="Expected an instance of UserData"):
        Pickle(UserData).encode({})  # type: ignore[arg-type]  # the run-time check for untyped callers


def test_unpicklable_value_is_an_encode_error() -> None:
    with pytest.raises(EncodeError, match="Cannot pickle"):
        Pickle().encode(lambda: None)


def test_spec_never_holds_the_key() -> None:
    codec = Pickle(UserData, key=KEY)
    assert codec.spec == {
        "name": "pickle",
        "type": "tests.codecs.models:UserData",
        "fingerprint": codec.params()["fingerprint"],
        "signed": True,
    }
    assert "k" * 16 not in repr(codec) + str(codec.spec)
    assert repr(codec) == "Pickle(UserData, key=<secret>)"


def test_signed_spec_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NSTORE_PICKLE_KEY", raising=False)
    spec = Pickle(key=KEY).spec
    with pytest.raises(SpecError, match=r"set NSTORE_PICKLE_KEY or rebuild with Pickle\.from_params"):
        from_spec(spec)
    assert Pickle.from_params({"signed": True}, key=KEY) == Pickle(key=KEY)
    monkeypatch.setenv("NSTORE_PICKLE_KEY", KEY.decode())
    assert from_spec(spec) == Pickle(key=KEY)
    # An unsigned spec stays unsigned, whatever the environment says.
    assert from_spec(Pickle().spec).is_unsafe


def test_bad_parameters() -> None:
    with pytest.raises(ConfigurationError, match=r"Expected at least 16 bytes for key\. Got 3 bytes instead"):
        Pickle(key=b"abc")
    with pytest.raises(ConfigurationError, match="Expected a class or None for type"):
        Pickle(list[int])  # a generic alias: isinstance cannot check it
    with pytest.raises(SpecError, match="Unexpected parameters"):
        from_spec({"name": "pickle", "protocol": 2})
    with pytest.raises(SpecError, match="Expected true or false for signed"):
        from_spec({"name": "pickle", "signed": "yes"})


class RemoteMemoryStore(MemoryStore[str, bytes]):
    """A MemoryStore that declares itself remote, to check the refusal of unsafe codecs."""

    @property
    def is_remote(self) -> bool:
        return True


def test_remote_stores_refuse_unsigned_pickle_only() -> None:
    store = RemoteMemoryStore()
    with pytest.raises(UnsafeCodecError):
        store.with_values(Pickle())
    signed = store.with_values(Pickle(key=KEY))
    signed["a"] = [1, 2]
    assert signed["a"] == [1, 2]
    trusted = store.with_values(Pickle(), trusted=True)
    trusted["b"] = {1, 2}
    assert trusted["b"] == {1, 2}


def _now() -> datetime.datetime:
    return datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


class Opaque:
    """A class msgspec cannot describe: a typed pickle of it has no schema and no fingerprint."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value


def test_typed_pickle_of_a_class_without_schema() -> None:
    codec = Pickle(Opaque)
    assert codec.schema() is None
    assert codec.spec == {"name": "pickle", "type": "tests.codecs.test_pickle:Opaque"}
    assert from_spec(codec.spec) == codec
    assert codec.decode(codec.encode(Opaque({1: "a"}))) == Opaque({1: "a"})
