"""Zstd reads only whole frames: cut, padded, mis-declared or raw-dictionary data never decodes."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
from typing import Any

import pytest
import zstandard

from nstore import MemoryStore
from nstore.codecs import Codec, Utf8, Zlib, Zstd, from_spec
from nstore.errors import ConfigurationError, DecodeError, SpecError

TEXT = json.dumps([{"id": i, "name": f"user {i}"} for i in range(200)])
SKIPPABLE = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"


def streamed(data: bytes, *, checksum: bool) -> bytes:
    """A frame without a declared size, as ``stream_writer`` (or ``zstd`` on a pipe) writes it."""
    buffer = io.BytesIO()
    with zstandard.ZstdCompressor(write_checksum=checksum).stream_writer(buffer, closefd=False) as writer:
        writer.write(data)
    frame = buffer.getvalue()
    assert zstandard.frame_content_size(frame) == -1
    return frame


def decoders() -> list[Any]:
    """Zstd's own decode and a chain's, which inlines the zstd stage."""
    chain: Codec[str, bytes] = Utf8() | Zstd()
    return [Zstd().decode, lambda data: chain.decode(data).encode()]


@pytest.mark.parametrize("checksum", [False, True])
def test_every_truncation_of_a_streamed_frame_is_refused(checksum: bool) -> None:
    frame = streamed(TEXT.encode(), checksum=checksum)
    for decode in decoders():
        assert decode(frame) == TEXT.encode()
        for cut in range(len(frame)):
            with pytest.raises(DecodeError):
                decode(frame[:cut])


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd command")
@pytest.mark.parametrize("flags", [[], ["--no-check"], ["-19", "--no-check"]])
def test_the_zstd_command_on_a_pipe_is_read_whole_or_refused(flags: list[str]) -> None:
    # Compressed blocks, raw blocks (random bytes) and RLE blocks (zeros), over several blocks.
    content = TEXT.encode() * 40 + random.Random(1).randbytes(300_000) + b"\0" * 400_000
    frame = subprocess.run(["zstd", "-c", *flags], input=content, capture_output=True, check=True).stdout
    assert zstandard.frame_content_size(frame) == -1
    assert Zstd().decode(frame) == content
    for cut in [*range(1, len(frame), 997), *range(len(frame) - 8, len(frame))]:
        with pytest.raises(DecodeError):
            Zstd().decode(frame[:cut])


def test_truncation_through_a_store_names_the_key() -> None:
    store = MemoryStore[str, bytes]()
    store["k"] = streamed(TEXT.encode(), checksum=True)[:-2]
    with pytest.raises(DecodeError, match=r"truncated.*key 'k'"):
        store.with_values(Utf8() | Zstd())["k"]


def test_a_cut_in_a_later_frame_is_refused() -> None:
    first, second = streamed(b"ab" * 50, checksum=False), streamed(b"cd" * 50, checksum=True)
    for decode in decoders():
        assert decode(first + second) == b"ab" * 50 + b"cd" * 50
        for cut in range(1, len(second)):
            with pytest.raises(DecodeError):
                decode(first + second[:cut])


@pytest.mark.parametrize("trailing", [b"\0", b"ab", b"\x28\xb5\x2f", b"\x28\xb5\x2f\xfd", b"garbage!"])
def test_trailing_bytes_after_streamed_frames_are_refused_as_by_zlib(trailing: bytes) -> None:
    with pytest.raises(DecodeError, match="trailing bytes"):
        Zlib().decode(Zlib().encode(b"abc") + trailing)
    frame = streamed(b"abc", checksum=False)
    for decode in decoders():
        with pytest.raises(DecodeError, match="trailing bytes"):
            decode(frame + trailing)


def test_skippable_frames_are_skipped_whole() -> None:
    frame = streamed(b"abc", checksum=False)
    for decode in decoders():
        assert decode(SKIPPABLE + frame + SKIPPABLE) == b"abc"
        assert decode(SKIPPABLE) == b""
        for cut in range(1, len(SKIPPABLE)):
            for cut_short in (SKIPPABLE[:cut], frame + SKIPPABLE[:cut], SKIPPABLE[:cut] + frame):
                with pytest.raises(DecodeError):
                    decode(cut_short)


def declaring(size: int, content: bytes) -> bytes:
    """A single-segment frame whose 1-byte size field declares ``size``, holding ``content``."""
    blocks = zstandard.ZstdCompressor(write_content_size=False).compress(content)[6:]
    frame = b"\x28\xb5\x2f\xfd\x20" + bytes([size]) + blocks
    assert zstandard.frame_content_size(frame) == size
    return frame


def test_a_frame_declaring_nothing_must_hold_nothing() -> None:
    empty = Zstd().encode(b"")
    assert zstandard.frame_content_size(empty) == 0
    for decode in decoders():
        assert decode(empty) == b""
        assert decode(declaring(0, b"")) == b""
        garbage = empty[:6] + b"\xde\xad\xbe\xef" * 8
        for lying in (declaring(0, b"A" * 100), declaring(0, b"some text"), garbage):
            with pytest.raises(DecodeError):
                decode(lying)
        with pytest.raises(DecodeError):
            decode(empty[:-1])


def test_raw_content_is_refused_as_a_dictionary() -> None:
    raw = b" ".join(b"word%d" % i for i in range(400))
    message = r"^Expected a zstd dictionary \(from Zstd\.train\)\. Got raw content \(id 0\) instead"
    with pytest.raises(ConfigurationError, match=message):
        Zstd(dictionary=raw)
    spec = {"name": "zstd", "level": 3, "dictionary": "d29yZDAgd29yZDEgd29yZDIgd29yZDM="}
    with pytest.raises(SpecError, match="Got raw content"):
        from_spec(spec)


def test_a_malformed_dictionary_is_a_configuration_error() -> None:
    malformed = b"\x37\xa4\x30\xec" + (12345).to_bytes(4, "little") + b"junk" * 10
    with pytest.raises(ConfigurationError, match=r"^Expected a zstd dictionary \(from Zstd\.train\)\. Got "):
        Zstd(dictionary=malformed)


def test_a_frame_holding_more_or_less_than_it_declares_fails() -> None:
    frame = zstandard.ZstdCompressor().compress(b"a" * 1000)  # a 2-byte size field: 1000 - 256
    for declared in (999, 1001, 1500):
        lying = frame[:5] + (declared - 256).to_bytes(2, "little") + frame[7:]
        assert zstandard.frame_content_size(lying) == declared
        for decode in decoders():
            with pytest.raises(DecodeError):
                decode(lying)


def test_another_trained_dictionary_is_a_dictionary_mismatch() -> None:
    samples = [b'{"id": %d, "name": "user%d", "tags": ["a", "b"]}' % (i, i * 7) for i in range(400)]
    first = Zstd.train(samples, size=2048)
    second = Zstd.train([s.replace(b"user", b"resu") for s in samples], size=2048)
    data = Zstd(dictionary=first).encode(samples[5])
    assert Zstd(dictionary=first).decode(data) == samples[5]
    with pytest.raises(DecodeError, match="Dictionary mismatch"):
        Zstd(dictionary=second).decode(data)
