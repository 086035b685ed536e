"""The key codecs join CodecTests; key codecs also decode canonically."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nstore import MemoryStore
from nstore.codecs import Base32, Base64, Codec, Hex, Prefix, Utf8
from nstore.errors import ConfigurationError, DecodeError, EncodeError, KeyEncodingError
from tests.codecs.base import CodecTests, suite_settings

BASE64_ALPHABET = string.ascii_letters + string.digits + "-_"


def text_garbage(alphabet: str) -> st.SearchStrategy[str]:
    """Strings mostly of ``alphabet`` with the characters decoders are tempted to skip."""
    return st.text(alphabet=alphabet + "=+/ \n\tÀß", max_size=24) | st.text(max_size=12)


class TestPrefix(CodecTests[str, str]):
    canonical = True

    def make_codec(self) -> Codec[str, str]:
        return Prefix("users/")

    def values(self) -> st.SearchStrategy[str]:
        return st.text(max_size=30)

    def garbage(self) -> st.SearchStrategy[str]:
        return st.text(max_size=30) | st.text(max_size=10).map("users/".__add__)


class TestUtf8(CodecTests[str, bytes]):
    canonical = True

    def make_codec(self) -> Codec[str, bytes]:
        return Utf8()

    def values(self) -> st.SearchStrategy[str]:
        return st.text()


class TestBase64(CodecTests[bytes, str]):
    canonical = True

    def make_codec(self) -> Codec[bytes, str]:
        return Base64()

    def values(self) -> st.SearchStrategy[bytes]:
        return st.binary(max_size=64)

    def garbage(self) -> st.SearchStrategy[str]:
        return text_garbage(BASE64_ALPHABET)


class TestHex(CodecTests[bytes, str]):
    canonical = True

    def make_codec(self) -> Codec[bytes, str]:
        return Hex()

    def values(self) -> st.SearchStrategy[bytes]:
        return st.binary(max_size=64)

    def garbage(self) -> st.SearchStrategy[str]:
        return text_garbage("0123456789abcdefABCDEF")


class TestBase32(CodecTests[bytes, str]):
    canonical = True

    def make_codec(self) -> Codec[bytes, str]:
        return Base32()

    def values(self) -> st.SearchStrategy[bytes]:
        return st.binary(max_size=64)

    def garbage(self) -> st.SearchStrategy[str]:
        return text_garbage("abcdefghijklmnopqrstuvwxyz234567")


def test_prefix_mismatch_is_a_key_encoding_error() -> None:
    with pytest.raises(KeyEncodingError, match="starting with 'users/'") as info:
        Prefix("users/").decode("groups/a")
    assert isinstance(info.value, DecodeError)


def test_prefix_pushes_prefixes_down() -> None:
    codec = Prefix("a/") | Utf8()
    assert codec.preserves_prefix
    assert codec.encode_prefix("b") == b"a/b"
    assert codec.encode_prefix(None) == b"a/"


def test_prefix_must_be_text() -> None:
    with pytest.raises(ConfigurationError, match=r"Expected a string for prefix\. Got bytes instead\."):
        Prefix(b"x")  # type: ignore[arg-type]  # the run-time check for untyped callers


@pytest.mark.parametrize("codec", [Base64(), Hex(), Base32()])
def test_binary_codecs_refuse_text(codec: Codec[bytes, str]) -> None:
    with pytest.raises(EncodeError, match=r"Expected bytes\. Got str instead"):
        codec.encode("text")  # type: ignore[arg-type]  # the run-time check for untyped callers


def test_utf8_refuses_lone_surrogates() -> None:
    with pytest.raises(EncodeError):
        Utf8().encode("\ud800")


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        (Base64(), "_x"),
        (Base64(), "a+b"),
        (Hex(), "01 ab"),
        (Hex(), "0A"),
        (Base32(), "ab"),
        (Base32(), "nzzxi33smv"),
    ],
)
def test_non_canonical_text_is_refused(codec: Codec[bytes, str], text: str) -> None:
    # Two strings decoding to one key would make a listed key read another key's value.
    with pytest.raises(DecodeError):
        codec.decode(text)


@suite_settings
@given(st.binary(max_size=32), st.binary(max_size=32))
def test_hex_preserves_order_and_prefixes(a: bytes, b: bytes) -> None:
    assert (Hex().encode(a) < Hex().encode(b)) == (a < b)
    assert Hex().encode(a + b).startswith(Hex().encode(a))


def test_prefix_refuses_what_is_not_text() -> None:
    prefix = Prefix("a/")
    for value in (1, None, b"a/x"):
        with pytest.raises(EncodeError, match=r"^Expected a str key\. Got \w+ instead"):
            prefix.encode(value)  # type: ignore[arg-type]  # the run-time check for untyped callers
        with pytest.raises(DecodeError, match=r"^Expected a str key\. Got \w+ instead"):
            prefix.decode(value)  # type: ignore[arg-type]
    for value in (1, b"a/"):
        with pytest.raises(EncodeError, match=r"^Expected a str prefix\. Got \w+ instead"):
            prefix.encode_prefix(value)  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="Got NoneType instead"):
        (Prefix("a/") | Utf8()).encode(None)  # type: ignore[arg-type]


def test_a_store_with_a_prefix_refuses_keys_that_are_not_text() -> None:
    store = MemoryStore[str, bytes]()
    view = store.with_keys(Prefix("a/"))
    with pytest.raises(EncodeError, match=r"Expected a str key\. Got int instead"):
        view[1] = b""  # type: ignore[index]
    assert not store
