"""``Msgspec | Zstd`` inlines both stages' decoding: same results, same errors, still bounded."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import msgspec
import pytest
import zstandard

from nstore.codecs import Codec, Msgspec, Zstd
from nstore.errors import CodecError, DecodeError, DecodeLimitError, EncodeError
from tests.codecs.models import User, sample_user
from tests.threads import run_threads

MiB = 1024 * 1024


def outcome(decode: Any, data: Any) -> tuple[Any, ...]:
    try:
        return ("value", decode(data))
    except CodecError as exc:
        return (type(exc), exc.codec, str(exc))


def by_hand(zstd: Zstd) -> Any:
    """The same two stages through their methods, which the chain does not call."""
    return lambda data: Msgspec(User).decode(zstd.decode(data))


def encoded(user: User) -> bytes:
    return Msgspec(User).encode(user)


def inputs() -> list[Any]:
    good = zstandard.ZstdCompressor().compress(encoded(sample_user(1)))
    unsized = zstandard.ZstdCompressor(write_content_size=False).compress(encoded(sample_user(2)))
    large = User(3, "x" * 70000, "", [], 0.0, True, sample_user().created, {})
    big = zstandard.ZstdCompressor().compress(encoded(large))
    return [
        good,
        memoryview(good),
        bytearray(good),
        unsized,  # no declared size: a small header descriptor, streamed under the limit
        big,  # a 4-byte size field: read from the header
        good[:5] + b"\0" + good[6:],  # declares another size than its content
        good[:-3],  # truncated
        b"not zstd",
        b"",
        b"\x28\xb5\x2f",
        b"\x28\xb5\x2f\xfd",
        b"\x28\xb5\x2f\xfd\xe0" + (2**40).to_bytes(8, "little"),  # claims a terabyte
        "a string",
        None,
        zstandard.ZstdCompressor().compress(b"\xc1"),  # not msgpack
        zstandard.ZstdCompressor().compress(msgspec.msgpack.encode({"id": "x"})),  # wrong shape
        zstandard.ZstdCompressor().compress(json.dumps({"id": 1}).encode()),
    ]


@pytest.mark.parametrize("max_size", [64 * MiB, 65791, 65790, 1000, 255, 254, 10])
def test_chain_decodes_and_fails_exactly_like_its_stages(max_size: int) -> None:
    chain: Codec[User, bytes] = Msgspec(User) | Zstd(max_size=max_size)
    reference = by_hand(Zstd(max_size=max_size))
    for data in inputs():
        assert outcome(chain.decode, data) == outcome(reference, data), data


def test_declared_sizes_at_the_edges_of_the_header_check() -> None:
    # A 2-byte size field declares at most 65791 bytes, a 1-byte one at most 255.
    for size, over in [(65791, 65790), (256, 255), (255, 254)]:
        # msgpack bin headers take 2, 3 or 5 bytes: pick the content that encodes to `size` bytes.
        value = next(b"\0" * (size - h) for h in (2, 3, 5) if len(encoded_bytes(b"\0" * (size - h))) == size)
        frame = zstandard.ZstdCompressor().compress(encoded_bytes(value))
        assert zstandard.frame_content_size(frame) == size
        assert (Msgspec(bytes) | Zstd(max_size=size)).decode(frame) == value
        with pytest.raises(DecodeLimitError, match=f"max_size={over}") as info:
            (Msgspec(bytes) | Zstd(max_size=over)).decode(frame)
        assert info.value.codec == "zstd"


def encoded_bytes(value: bytes) -> bytes:
    return Msgspec(bytes).encode(value)


def test_a_terabyte_claim_through_the_chain_allocates_nothing() -> None:
    bomb = b"\x28\xb5\x2f\xfd\xe0" + (2**40).to_bytes(8, "little")
    chain = Msgspec(User) | Zstd()
    tracemalloc.start()
    try:
        with pytest.raises(DecodeLimitError, match="max_size=67108864"):
            chain.decode(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MiB


def test_a_failed_context_is_replaced() -> None:
    zstd = Zstd()
    chain = Msgspec(User) | zstd
    good = chain.encode(sample_user(1))
    for _ in range(3):  # each failure drops the context it used; decode makes another
        outcome(chain.decode, good[:-3])
        assert chain.decode(good) == sample_user(1)
    assert 1 <= len(zstd._contexts.decompressors) <= 2


def test_inlined_encode_keeps_the_msgspec_error() -> None:
    chain = Msgspec(User) | Zstd()
    with pytest.raises(EncodeError) as info:
        chain.encode(object())  # type: ignore[arg-type]  # the wrong type on purpose
    assert info.value.codec == "msgspec"
    with pytest.raises(EncodeError) as alone:
        Msgspec(User).encode(object())  # type: ignore[arg-type]  # the wrong type on purpose
    assert str(info.value) == str(alone.value)


@pytest.mark.parametrize("tp", [User, User | None, float, list[int]], ids=repr)
def test_chain_encodes_and_fails_exactly_like_its_stages(tp: Any) -> None:
    # The class check is inlined (User, User | None, float); list[int] is checked by its method.
    codec: Codec[Any, bytes] = Msgspec(tp)
    chain = codec | Zstd()

    def reference(value: Any) -> Any:
        return Zstd().decode(Zstd().encode(codec.encode(value)))

    values = [sample_user(1), None, 1, 1.5, [1, 2], [1, "2"], {"id": 1}, "text", object(), True]
    for value in values:
        got = outcome(lambda v: Zstd().decode(chain.encode(v)), value)
        assert got == outcome(reference, value), value


def test_one_chain_shared_by_threads() -> None:
    # Large values keep zstd busy without the GIL: two threads in one context would crash.
    chain = Msgspec(User) | Zstd(max_size=4 * MiB)
    values = [User(i, "x" * (i % 7) * 40000, "", [], 0.0, True, sample_user().created, {}) for i in range(14)]
    blobs = [chain.encode(v) for v in values]

    def work(seed: int) -> None:
        for i in range(300):
            n = (seed * 5 + i) % len(values)
            assert chain.decode(blobs[n]) == values[n]

    assert run_threads(work, 6) == []


def test_a_dictionary_chain_decodes_and_fails_like_its_stages() -> None:
    samples = [encoded(sample_user(i)) for i in range(300)]
    dictionary = Zstd.train(samples, size=2048)
    chain: Codec[User, bytes] = Msgspec(User) | Zstd(dictionary=dictionary)
    blob = chain.encode(sample_user(7))
    assert chain.decode(blob) == sample_user(7)
    without = Msgspec(User) | Zstd()  # the frame names a dictionary this codec lacks
    assert outcome(without.decode, blob) == outcome(by_hand(Zstd()), blob)
    assert outcome(without.decode, blob)[:2] == (DecodeError, "zstd")
