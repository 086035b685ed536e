"""Zlib and Zstd join CodecTests; decompression is bounded whatever the data declares."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Callable

import pytest
import zstandard
from hypothesis import strategies as st

from nstore.codecs import Codec, Zlib, Zstd, from_spec
from nstore.errors import ConfigurationError, DecodeError, DecodeLimitError, EncodeError, SpecError
from tests.codecs.base import LimitedCodecTests
from tests.threads import run_threads

MiB = 1024 * 1024
SAMPLES = [
    b'{"id": %d, "name": "user%d", "email": "user%d@example.org", "tags": ["admin", "beta"]}' % (i, i, i * 7)
    for i in range(500)
]
DICTIONARY = Zstd.train(SAMPLES, size=4096)


class CompressionTests(LimitedCodecTests[bytes, bytes]):
    def values(self) -> st.SearchStrategy[bytes]:
        return (
            st.binary(max_size=2048) | st.sampled_from(SAMPLES) | st.binary(max_size=8).map(lambda b: b * 500)
        )

    def large_value(self, size: int) -> bytes:
        return b"\0" * size


class TestZlib(CompressionTests):
    def make_codec(self) -> Codec[bytes, bytes]:
        return Zlib(6)

    def limited(self, max_size: int) -> Codec[bytes, bytes]:
        return Zlib(1, max_size=max_size)


class TestZstd(CompressionTests):
    def make_codec(self) -> Codec[bytes, bytes]:
        return Zstd(3)

    def limited(self, max_size: int) -> Codec[bytes, bytes]:
        return Zstd(1, max_size=max_size)


class TestZstdDictionary(CompressionTests):
    def make_codec(self) -> Codec[bytes, bytes]:
        return Zstd(3, dictionary=DICTIONARY)

    def limited(self, max_size: int) -> Codec[bytes, bytes]:
        return Zstd(19, dictionary=DICTIONARY, max_size=max_size)


def test_levels_are_validated() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^Expected an integer from 1 to 22 for level\. Got 40 instead\.$"
    ):
        Zstd(40)
    with pytest.raises(
        ConfigurationError, match=r"^Expected an integer from 0 to 9 for level\. Got -1 instead\.$"
    ):
        Zlib(-1)
    with pytest.raises(ConfigurationError, match=r"for level\. Got True instead"):
        Zlib(True)
    with pytest.raises(
        ConfigurationError, match=r"Expected an integer of at least 1 for max_size\. Got 0 instead"
    ):
        Zstd(max_size=0)
    with pytest.raises(SpecError, match="Bad parameters"):
        from_spec({"name": "zlib", "level": 12})


def test_default_specs_are_short() -> None:
    assert Zstd().spec == {"name": "zstd", "level": 3}
    assert Zlib().spec == {"name": "zlib", "level": 6}
    assert Zstd(5, max_size=MiB).spec == {"name": "zstd", "level": 5, "max_size": MiB}


def test_a_frame_claiming_a_terabyte_is_refused_from_its_header() -> None:
    # 13 bytes: magic, a single-segment frame header, and an 8-byte content size of 2**40.
    bomb = b"\x28\xb5\x2f\xfd\xe0" + (2**40).to_bytes(8, "little")
    assert len(bomb) == 13
    assert zstandard.frame_content_size(bomb) == 2**40
    tracemalloc.start()
    try:
        with pytest.raises(DecodeLimitError, match="max_size=67108864"):
            Zstd().decode(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MiB


def test_a_frame_lying_about_its_size_fails() -> None:
    honest = zstandard.ZstdCompressor().compress(b"a" * 1000)
    lying = honest[:5] + b"\0\0" + honest[7:]  # a 2-byte size field: now declares 256 bytes
    assert zstandard.frame_content_size(lying) == 256
    with pytest.raises(DecodeError):
        Zstd().decode(lying)


def _peak_while(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(DecodeLimitError):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_zstd_stream_without_declared_size_is_bounded() -> None:
    payload = zstandard.ZstdCompressor(write_content_size=False).compress(b"\0" * (64 * MiB))
    assert zstandard.frame_content_size(payload) == -1
    assert len(payload) < 64 * 1024
    peak = _peak_while(lambda: Zstd(max_size=MiB).decode(payload))
    assert peak < 3 * MiB


def test_zlib_bomb_is_bounded() -> None:
    payload = zlib.compress(b"\0" * (64 * MiB), 9)
    peak = _peak_while(lambda: Zlib(max_size=MiB).decode(payload))
    assert peak < 4 * MiB


def test_exact_limit_is_accepted() -> None:
    for codec in (Zstd(max_size=1000), Zlib(max_size=1000)):
        assert codec.decode(codec.encode(b"x" * 1000)) == b"x" * 1000
    streamed = zstandard.ZstdCompressor(write_content_size=False).compress(b"x" * 1000)
    assert Zstd(max_size=1000).decode(streamed) == b"x" * 1000
    with pytest.raises(DecodeLimitError):
        Zstd(max_size=999).decode(streamed)


def test_trailing_and_truncated_data() -> None:
    for codec in (Zstd(), Zlib()):
        data = codec.encode(b"hello world" * 10)
        with pytest.raises(DecodeError):
            codec.decode(data[:-3])
    with pytest.raises(DecodeError, match="trailing bytes"):
        Zlib().decode(Zlib().encode(b"abc") + b"junk")
    # A zstd frame that declares its size is read alone: what follows it is not read.
    assert Zstd().decode(Zstd().encode(b"abc") + b"junk") == b"abc"


def test_streamed_frames_concatenate_and_refuse_trailing_garbage() -> None:
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    two = compressor.compress(b"ab") + compressor.compress(b"cd")
    assert Zstd().decode(two) == b"abcd"
    with pytest.raises(DecodeError):
        Zstd().decode(compressor.compress(b"ab") + b"garbage!")


def test_non_bytes_is_an_encode_error() -> None:
    for codec in (Zstd(), Zlib()):
        with pytest.raises(EncodeError, match=r"Expected bytes\. Got str instead"):
            codec.encode("text")  # type: ignore[arg-type]  # the run-time check for untyped callers


def test_dictionary_shrinks_small_records_and_is_required() -> None:
    with_dictionary, plain = Zstd(dictionary=DICTIONARY), Zstd()
    sample = SAMPLES[123]
    assert len(with_dictionary.encode(sample)) * 1.5 < len(plain.encode(sample))
    with pytest.raises(DecodeError, match="Dictionary mismatch"):
        plain.decode(with_dictionary.encode(sample))


def test_dictionary_spec_embeds_small_dictionaries() -> None:
    codec = Zstd(dictionary=DICTIONARY)
    spec = codec.spec
    assert isinstance(spec, dict)
    assert spec["dictionary_id"] == codec.dictionary_id != 0
    assert len(spec["dictionary_fingerprint"]) == 16
    assert from_spec(spec) == codec
    assert repr(codec) == f"Zstd(3, dictionary=<{spec['dictionary_fingerprint']}>)"


def test_large_dictionary_is_passed_back_explicitly() -> None:
    # A trained dictionary with content appended, under an id of its own: 79 KiB.
    large = DICTIONARY[:4] + (123456789).to_bytes(4, "little") + DICTIONARY[8:] + bytes(range(256)) * 300
    codec = Zstd(dictionary=large)
    spec = codec.spec
    assert isinstance(spec, dict)
    assert "dictionary" not in spec
    with pytest.raises(SpecError, match="does not embed it"):
        from_spec(spec)
    params = {k: v for k, v in spec.items() if k != "name"}
    assert Zstd.from_params(params, dictionary=large) == codec
    with pytest.raises(SpecError, match="Got another one"):
        Zstd.from_params(params, dictionary=DICTIONARY)


def test_training_needs_samples() -> None:
    with pytest.raises(ConfigurationError, match="Cannot train a dictionary on 2 samples"):
        Zstd.train([b"a", b"b"])


@pytest.mark.parametrize("codec", [Zstd(3), Zstd(3, dictionary=DICTIONARY), Zlib(6)])
def test_one_codec_shared_by_threads(codec: Codec[bytes, bytes]) -> None:
    # zstandard contexts are not thread-safe (sharing one crashes the process); the codec pools them.

    def work(seed: int) -> None:
        for i in range(2000):
            value = SAMPLES[(seed * 31 + i) % len(SAMPLES)] * (1 + i % 20)
            assert codec.decode(codec.encode(value)) == value

    assert run_threads(work, 6) == []
