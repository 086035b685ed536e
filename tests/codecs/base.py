"""CodecTests: the conformance suite every codec and chain joins.

A test module subclasses :class:`CodecTests`, implements :meth:`~CodecTests.make_codec` and
:meth:`~CodecTests.values` (a hypothesis strategy of values the codec takes), and sets the class
attributes that describe the codec. The suite checks round trips, that any input to ``decode``
either decodes or raises :class:`~nstore.errors.DecodeError` (never another exception), and that
the spec is JSON and rebuilds an equal codec. Codecs that decompress join :class:`LimitedCodecTests`,
which adds the ``max_size`` limit.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, ClassVar, Generic, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nstore.codecs import Codec, from_spec
from nstore.errors import DecodeError, DecodeLimitError

A = TypeVar("A")
B = TypeVar("B")

# Every subclass runs the same inherited test functions (different executors); their examples come
# from st.data(), so replaying one subclass's saved example in another is harmless.
suite_settings = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)


class CodecTests(Generic[A, B]):
    """The suite; subclasses provide the codec, its values and its properties."""

    #: True for codecs that may run code on decode (unsigned pickle).
    unsafe: ClassVar[bool] = False
    #: True for key codecs: every string decode accepts is the encoding of what it decodes to.
    canonical: ClassVar[bool] = False
    #: True when the codec (or a stage) declares a JSON schema for its values.
    has_schema: ClassVar[bool] = False

    def make_codec(self) -> Codec[A, B]:
        raise NotImplementedError

    def values(self) -> st.SearchStrategy[A]:
        """Values the codec must round-trip."""
        raise NotImplementedError

    def garbage(self) -> st.SearchStrategy[B]:
        """Inputs to decode that need not be valid encodings (bytes, unless overridden)."""
        return st.binary(max_size=512)  # type: ignore[return-value]  # B is bytes unless overridden

    def same(self, left: A, right: A) -> bool:
        """Whether a decoded value equals the original (override for NaN and the like)."""
        return left == right

    # -- the suite -------------------------------------------------------------------------------

    @suite_settings
    @given(data=st.data())
    def test_round_trip(self, data: st.DataObject) -> None:
        codec = self.make_codec()
        value = data.draw(self.values(), label="value")
        encoded = codec.encode(value)
        assert self.same(codec.decode(encoded), value)

    @suite_settings
    @given(data=st.data())
    def test_encoding_is_deterministic(self, data: st.DataObject) -> None:
        # Equal values encode equally (deterministic codecs).
        codec = self.make_codec()
        value = data.draw(self.values(), label="value")
        assert codec.encode(value) == self.make_codec().encode(value)

    @suite_settings
    @given(data=st.data())
    def test_garbage_decodes_or_raises_decode_error(self, data: st.DataObject) -> None:
        codec = self.make_codec()
        garbage = data.draw(self.garbage(), label="garbage")
        try:
            decoded = codec.decode(garbage)
        except DecodeError:
            return
        if self.canonical:
            assert codec.encode(decoded) == garbage

    @suite_settings
    @given(data=st.data())
    def test_damaged_encodings_decode_or_raise_decode_error(self, data: st.DataObject) -> None:
        codec = self.make_codec()
        encoded = codec.encode(data.draw(self.values(), label="value"))
        damage = data.draw(st.sampled_from(["truncate", "flip", "append"]), label="damage")
        damaged: Any = encoded
        if isinstance(encoded, bytes | str):
            position = data.draw(st.integers(0, max(len(encoded) - 1, 0)), label="position")
            damaged = _damage(encoded, damage, position)
        with contextlib.suppress(DecodeError):
            codec.decode(damaged)

    def test_spec_is_json_and_rebuilds_an_equal_codec(self) -> None:
        codec = self.make_codec()
        spec = json.loads(json.dumps(codec.spec))
        assert spec == codec.spec
        rebuilt = from_spec(spec)
        assert rebuilt == codec
        assert hash(rebuilt) == hash(codec)
        assert rebuilt.spec == spec
        assert repr(rebuilt) == repr(codec)

    @suite_settings
    @given(data=st.data())
    def test_rebuilt_codec_decodes_the_same_bytes(self, data: st.DataObject) -> None:
        codec = self.make_codec()
        rebuilt: Codec[A, B] = from_spec(codec.spec)
        value = data.draw(self.values(), label="value")
        assert self.same(rebuilt.decode(codec.encode(value)), value)
        assert self.same(codec.decode(rebuilt.encode(value)), value)

    def test_safety_and_schema_are_declared(self) -> None:
        codec = self.make_codec()
        assert codec.is_unsafe is self.unsafe
        schema = codec.schema()
        assert (schema is not None) is self.has_schema
        if schema is not None:
            json.dumps(schema)

    def test_stages_are_flat(self) -> None:
        codec = self.make_codec()
        assert codec.stages
        assert all(stage.stages == (stage,) for stage in codec.stages)
        assert from_spec([s.spec for s in codec.stages]) == codec


class LimitedCodecTests(CodecTests[A, B]):
    """The suite plus the size limit, for codecs (and chains) that decompress under ``max_size``."""

    def limited(self, max_size: int) -> Codec[A, B]:
        """The codec with a decode limit of ``max_size`` bytes."""
        raise NotImplementedError

    def large_value(self, size: int) -> A:
        """A value whose encoding before the limited stage is over ``size`` bytes."""
        raise NotImplementedError

    def test_decode_limit(self) -> None:
        limited = self.limited(4096)
        encoded = limited.encode(self.large_value(4096 * 4))
        with pytest.raises(DecodeLimitError, match="max_size=4096"):
            limited.decode(encoded)
        assert isinstance(limited.spec, list | dict)
        assert from_spec(limited.spec) == limited


def _damage(encoded: bytes | str, damage: str, position: int) -> bytes | str:
    if damage == "truncate":
        return encoded[:position]
    if damage == "append":
        return encoded * 2
    if isinstance(encoded, bytes):
        flipped = bytes([encoded[position] ^ 0x5A]) if encoded else b"\x5a"
        return encoded[:position] + flipped + encoded[position + 1 :]
    return f"{encoded[:position]}\x00{encoded[position + 1 :]}"
