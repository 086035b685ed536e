"""The codec protocol itself: flat composition, identity, specs and the registry."""

from __future__ import annotations

import pytest

from nstore.codecs import Chain, Codec, Identity, Prefix, Utf8, from_spec, import_type, type_path
from nstore.codecs._codec import Inline
from nstore.errors import DecodeError, EncodeError, SpecError


class Reverse:
    """A plain object with encode/decode, for Codec.wrap."""

    def encode(self, value: str) -> str:
        return value[::-1]

    def decode(self, data: str) -> str:
        if data.startswith("!"):
            raise ValueError("no exclamations")
        return data[::-1]


REVERSE = Reverse()


def test_composition_flattens() -> None:
    chain = Prefix("a/") | Prefix("b/") | Utf8()
    assert isinstance(chain, Chain)
    assert chain.stages == (Prefix("a/"), Prefix("b/"), Utf8())
    assert chain.encode("k") == b"b/a/k"
    assert chain.decode(b"b/a/k") == "k"
    nested = (Prefix("a/") | Prefix("b/")) | (Prefix("c/") | Utf8())
    assert nested.stages == (Prefix("a/"), Prefix("b/"), Prefix("c/"), Utf8())


def test_chain_calls_the_stages_directly() -> None:
    chain = Prefix("a/") | Utf8()
    # The chain's encode is one generated function, not a method looping over stages.
    assert chain.encode is chain.__dict__["encode"]
    assert "for" not in chain.encode.__code__.co_names


def test_identity_is_neutral() -> None:
    prefix = Prefix("p/")
    assert (Identity[str]() | prefix) is prefix
    assert (prefix | Identity[str]()) is prefix
    assert isinstance(Identity[str]() | Identity[str](), Identity)
    assert Identity[str]().spec == {"name": "identity"}
    assert from_spec([]) == Identity()


def test_spec_round_trip() -> None:
    chain = Prefix("users/") | Utf8()
    assert chain.spec == [{"name": "prefix", "prefix": "users/"}, {"name": "utf8"}]
    rebuilt = from_spec(chain.spec)
    assert rebuilt == chain
    assert rebuilt.encode("x") == b"users/x"
    assert from_spec({"name": "prefix", "prefix": "p"}) == Prefix("p")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "no-such-codec"}, "Unknown codec 'no-such-codec'"),
        ({"prefix": "p"}, "Expected a dict with a string 'name'"),
        ("prefix", "Expected a dict with a string 'name'"),
        ({"name": "prefix", "colour": "red"}, "Bad parameters"),
        ({"name": "prefix", "prefix": 1}, "Expected a string for prefix"),
        ([{"name": "utf8"}, 3], "Expected a dict"),
    ],
)
def test_bad_specs_raise_spec_error(spec: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        from_spec(spec)


def test_wrap_adapts_and_wraps_errors() -> None:
    codec = Codec.wrap(REVERSE)
    assert codec.encode("abc") == "cba"
    assert codec.decode("cba") == "abc"
    with pytest.raises(DecodeError, match="no exclamations"):
        codec.decode("!x")
    with pytest.raises(EncodeError):
        codec.encode(3)  # type: ignore[arg-type]  # a wrong type on purpose
    assert codec.spec == {"name": "wrap", "object": f"{__name__}:REVERSE"}
    assert from_spec(codec.spec).encode("ab") == "ba"


def test_type_paths() -> None:
    assert type_path(Prefix) == "nstore.codecs._keys:Prefix"
    assert import_type("nstore.codecs._keys:Prefix") is Prefix
    with pytest.raises(SpecError, match="module:qualname"):
        import_type("no-colon")
    with pytest.raises(SpecError, match="Cannot import"):
        import_type("nstore.codecs:NoSuchThing")

    class Local:
        pass

    with pytest.raises(SpecError, match="module level"):
        type_path(Local)


class Digits(Codec[int, str]):
    """An int as decimal text, whose decoding a chain inlines as a call to ``int``."""

    name = "digits"

    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient

    def encode(self, value: int, /) -> str:
        return str(value)

    def decode(self, data: str, /) -> int:
        try:
            return int(data)
        except ValueError as exc:
            return self._recover(exc, data)

    def _recover(self, exc: Exception, data: str) -> int:
        if self.lenient:  # a careful path that returns a value instead of raising
            return -len(data)
        raise DecodeError(f"Expected decimal digits. Got {data!r}", codec=self.name) from exc

    def inline_decode(self) -> Inline:
        return Inline("{out} = {parse}({value})", {"parse": int}, (ValueError,), self._recover)


def test_chain_inlines_a_stage_and_keeps_its_errors() -> None:
    chain = Digits() | Utf8()
    assert chain.decode(b"42") == 42
    # The stage's code is spliced into the generated function: no call to Digits.decode.
    assert "s1_parse" in chain.decode.__code__.co_names
    with pytest.raises(DecodeError, match=r"Expected decimal digits\. Got 'x4'") as info:
        chain.decode(b"x4")
    assert info.value.codec == "digits"
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(DecodeError) as utf8:  # the stage before it still fails as itself
        chain.decode(b"\xff")
    assert utf8.value.codec == "utf8"


def test_inlined_recover_gets_the_stage_input_and_may_return() -> None:
    chain = Digits(lenient=True) | Prefix("n/") | Utf8()
    assert chain.encode(7) == b"n/7"
    assert chain.decode(b"n/7") == 7
    # recover sees the stage's own input ("abc", after Utf8 and Prefix), not the chain's.
    assert chain.decode(b"n/abc") == -3
    assert Digits(lenient=True).decode("abcd") == -4


def test_stages_without_inline_are_called() -> None:
    assert Utf8().inline_decode() is None
    assert Utf8().inline_encode() is None
    assert (Digits() | Utf8()).encode(5) == b"5"
