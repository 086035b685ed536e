"""Codec pipelines against direct library calls, and typed stores against a dict.

Run with ``python -m benchmarks.bench_codecs [--rounds R] [--n N]``. Every case times a loop over
the same N records (the 8-field record: int, str, str, list[str], float, bool, datetime,
dict[str, int]); in each of R rounds the variants of a case run back to back in a shuffled order,
and the table shows each variant's median time per object and the median of the per-round ratios
to the case's direct baseline.

- pipeline overhead: ``Msgspec(User) | Zstd()`` against ``zstandard`` and ``msgspec`` called
  directly (target: at most 1.10x);
- typed store: ``Store[str, User]`` over a MemoryStore against a dict plus the same direct calls;
- codecs: Msgspec, Pydantic and Pickle against their libraries called directly, objects/s;
  ``Msgspec(list[User])``, whose encode checks the value by decoding what it wrote, against the
  encoder alone (the price of that check);
- chain composition: the generated function of ``Msgspec(User) | Zstd()`` against a plain loop
  over the same stages' methods (in these two cases "direct" is the plain loop), what the one
  code generator in ``nstore.codecs._codec`` buys.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pydantic
import zstandard

from benchmarks._report import fmt, table
from nstore import MemoryStore
from nstore._cli._records import RecordData, RecordModel, RecordStruct
from nstore._cli._records import fields as record
from nstore.codecs import Codec, Msgspec, Pickle, Pydantic, Zstd

Loop = Callable[[], object]


def encode_loop(encode: Callable[[Any], bytes], values: list[Any]) -> Loop:
    def run() -> object:
        for value in values:
            encode(value)
        return None

    return run


def decode_loop(decode: Callable[[bytes], Any], blobs: list[bytes]) -> Loop:
    def run() -> object:
        for blob in blobs:
            decode(blob)
        return None

    return run


def pipeline_cases(n: int) -> dict[str, dict[str, Loop]]:
    """``Msgspec(User) | Zstd()`` against msgspec and zstandard called directly."""
    users = [RecordStruct(**record(i)) for i in range(n)]
    encoder, decoder = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(RecordStruct)
    compressor, decompressor = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    codec: Codec[RecordStruct, bytes] = Msgspec(RecordStruct) | Zstd(3)
    blobs = [codec.encode(u) for u in users]

    def direct_encode(user: RecordStruct) -> bytes:
        return compressor.compress(encoder.encode(user))

    def direct_decode(blob: bytes) -> RecordStruct:
        return decoder.decode(decompressor.decompress(blob))

    def checked_decode(blob: bytes) -> RecordStruct:
        # What the bounded decode adds to the direct calls: refusing an oversized declared size.
        if not 0 <= zstandard.frame_content_size(blob) <= 64 * 1024 * 1024:
            raise ValueError("oversized or unsized frame")
        return decoder.decode(decompressor.decompress(blob))

    return {
        "Msgspec|Zstd encode": {
            "direct": encode_loop(direct_encode, users),
            "pipeline": encode_loop(codec.encode, users),
        },
        "Msgspec|Zstd decode": {
            "direct": decode_loop(direct_decode, blobs),
            "pipeline": decode_loop(codec.decode, blobs),
        },
        "Msgspec|Zstd decode, vs direct+size check": {
            "direct": decode_loop(checked_decode, blobs),
            "pipeline": decode_loop(codec.decode, blobs),
        },
    }


def plain_chain(steps: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """The plain version of a chain: a loop over the stages' methods."""

    def run(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return run


def chain_cases(n: int) -> dict[str, dict[str, Loop]]:
    """The generated chain against a plain loop over the same stages' ``encode``/``decode``."""
    users = [RecordStruct(**record(i)) for i in range(n)]
    msgspec_codec, zstd_codec = Msgspec(RecordStruct), Zstd(3)
    chain = msgspec_codec | zstd_codec
    blobs = [chain.encode(u) for u in users]
    plain_encode = plain_chain([msgspec_codec.encode, zstd_codec.encode])
    plain_decode = plain_chain([zstd_codec.decode, msgspec_codec.decode])
    return {
        "chain encode, generated vs plain loop": {
            "direct": encode_loop(plain_encode, users),
            "pipeline": encode_loop(chain.encode, users),
        },
        "chain decode, generated vs plain loop": {
            "direct": decode_loop(plain_decode, blobs),
            "pipeline": decode_loop(chain.decode, blobs),
        },
    }


def store_cases(n: int) -> dict[str, dict[str, Loop]]:
    """A typed ``Store[str, User]`` over a MemoryStore against a dict plus direct calls."""
    users = {f"user/{i:06d}": RecordStruct(**record(i)) for i in range(n)}
    encoder, decoder = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(RecordStruct)
    compressor, decompressor = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    plain: dict[str, bytes] = {}
    typed = MemoryStore[str, bytes]().with_values(Msgspec(RecordStruct) | Zstd(3))
    compress, encode = compressor.compress, encoder.encode
    decompress, decode = decompressor.decompress, decoder.decode

    def dict_set() -> object:
        for key, user in users.items():
            plain[key] = compress(encode(user))
        return None

    def dict_get() -> object:
        for key in users:
            decode(decompress(plain[key]))
        return None

    def store_set() -> object:
        for key, user in users.items():
            typed[key] = user
        return None

    def store_get() -> object:
        for key in users:
            typed[key]
        return None

    dict_set()
    store_set()
    return {
        "Store[str, User] set": {"direct": dict_set, "pipeline": store_set},
        "Store[str, User] get": {"direct": dict_get, "pipeline": store_get},
    }


def codec_cases(n: int) -> dict[str, dict[str, Loop]]:
    """Each typed codec against its library called directly, on the same record."""
    structs = [RecordStruct(**record(i)) for i in range(n)]
    models = [RecordModel(**record(i)) for i in range(n)]
    datas = [RecordData(**record(i)) for i in range(n)]
    adapter = pydantic.TypeAdapter(RecordModel)
    encoder, decoder = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(RecordStruct)
    cases: dict[str, dict[str, Loop]] = {}
    typed: list[tuple[str, Codec[Any, bytes], list[Any], Callable[[Any], bytes], Callable[[bytes], Any]]] = [
        ("Msgspec", Msgspec(RecordStruct), structs, encoder.encode, decoder.decode),
        ("Pydantic", Pydantic(RecordModel), models, adapter.dump_json, adapter.validate_json),
        ("Pickle", Pickle(RecordData), datas, lambda v: pickle.dumps(v, 5), pickle.loads),
    ]
    batches = [structs[i : i + 10] for i in range(0, n, 10)]
    checked: Codec[list[RecordStruct], bytes] = Msgspec(list[RecordStruct])
    cases["Msgspec(list[User]) encode, 10 per list"] = {
        "direct": encode_loop(encoder.encode, batches),
        "pipeline": encode_loop(checked.encode, batches),
    }
    for name, codec, values, direct_encode, direct_decode in typed:
        blobs = [codec.encode(v) for v in values]
        cases[f"{name} encode"] = {
            "direct": encode_loop(direct_encode, values),
            "pipeline": encode_loop(codec.encode, values),
        }
        cases[f"{name} decode"] = {
            "direct": decode_loop(direct_decode, blobs),
            "pipeline": decode_loop(codec.decode, blobs),
        }
    return cases


def measure(cases: dict[str, dict[str, Loop]], rounds: int, seed: int) -> dict[tuple[str, str], list[float]]:
    """Seconds per loop for every (case, variant).

    Each round visits the cases in a shuffled order and runs a case's variants back to back, in
    a shuffled order too, so that the two sides of a ratio see the same machine load.
    """
    timings: dict[tuple[str, str], list[float]] = {(c, v): [] for c, vs in cases.items() for v in vs}
    rng = random.Random(seed)
    names = list(cases)
    for _ in range(rounds):
        rng.shuffle(names)
        for case in names:
            variants = list(cases[case].items())
            rng.shuffle(variants)
            for variant, loop in variants:
                gc.collect()
                start = time.perf_counter()
                loop()
                timings[case, variant].append(time.perf_counter() - start)
    return timings


TARGETS = {"Msgspec|Zstd encode": 1.10, "Msgspec|Zstd decode": 1.10}


def report(timings: dict[tuple[str, str], list[float]], n: int) -> str:
    rows = []
    for case in dict.fromkeys(c for c, _ in timings):
        direct = statistics.median(timings[case, "direct"]) / n
        piped = statistics.median(timings[case, "pipeline"]) / n
        # The median of the per-round ratios: each pairs two runs made moments apart.
        ratio = statistics.median(
            p / d for p, d in zip(timings[case, "pipeline"], timings[case, "direct"], strict=True)
        )
        target = TARGETS.get(case)
        verdict = "" if target is None else (f"<= {target:.2f}x " + ("met" if ratio <= target else "MISSED"))
        rows.append(
            [
                case,
                f"{direct * 1e6:.2f}",
                f"{piped * 1e6:.2f}",
                fmt(1 / direct),
                fmt(1 / piped),
                f"{ratio:.3f}x",
                verdict,
            ]
        )
    headers = ["case", "direct µs", "nstore µs", "direct obj/s", "nstore obj/s", "ratio", "target"]
    return table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=75, help="interleaved rounds per variant")
    parser.add_argument("--n", type=int, default=500, help="records per timed loop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    cases = {**pipeline_cases(args.n), **chain_cases(args.n), **store_cases(args.n), **codec_cases(args.n)}
    timings = measure(cases, args.rounds, args.seed)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {args.n} records per loop, "
        f"{args.rounds} rounds; medians; ratio = median over rounds of nstore time / direct time"
    )
    print(report(timings, args.n))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
