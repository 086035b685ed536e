"""The chain: a flat sequence of codecs built by ``|``, with one generated function per direction.

The chain's functions are nstore's one code generator (:func:`_compose`, with ``exec``), kept here
and nowhere else:

- What it generates: for each direction, one function ``composed(value)`` whose body applies the
  stages in order. A stage is either called (``value = f1(value)``), or, when the codec offers an
  :class:`Inline` (msgspec's encoder and decoder and their class check, zstd's decompression of a
  frame that cannot declare more than ``max_size``), its few statements are spliced in, inside a
  ``try`` whose handler hands the error and the input to the stage's ``recover``, which raises the
  stage's nstore error or takes the careful path.
- Why: the plain version (a loop over the stages' methods) pays a Python frame, a ``try`` and an
  attribute lookup per stage on every call. On ``Msgspec(User) | Zstd()`` that is about a quarter
  more per decode (about 0.3 µs on a 1.3 µs read; ``python -m benchmarks.bench_codecs``, "chain
  decode, generated vs plain loop"), which a typed in-memory store or cache reads on every hit.
- How it is tested: ``tests/codecs/test_inline.py`` checks that a chain encodes and decodes, and
  fails with the same error class, codec and message, exactly as its stages' methods called one
  after the other, on good input, garbage, truncated and oversized frames, values of the wrong
  type, and from several threads; every chain also joins the CodecTests suite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from nstore.codecs._codec import Codec, Inline, Spec, StageSpec

__all__ = ["Chain"]

A = TypeVar("A")
B = TypeVar("B")


def _compose(steps: list[Callable[[Any], Any] | Inline]) -> Callable[[Any], Any]:
    """One function applying ``steps`` in order, generated once: no loop, and no call per inline.

    A plain step is called; an :class:`Inline` step's code is spliced in, inside a ``try`` that
    hands its errors to the step's ``recover`` (a ``try`` is free in the common path).
    """
    namespace: dict[str, Any] = {}
    lines = ["def composed(value, /):"]
    for i, step in enumerate(steps):
        if not isinstance(step, Inline):
            namespace[f"f{i}"] = step
            lines.append(f"    value = f{i}(value)")
            continue
        renamed = {name: f"s{i}_{name}" for name in (*step.names, *step.locals)}
        namespace.update({renamed[name]: obj for name, obj in step.names.items()})
        namespace[f"e{i}"], namespace[f"r{i}"] = step.errors, step.recover
        # The output is stored last: when the code raises, ``value`` still holds the input.
        code = step.code.format(value="value", out="value", **renamed)
        lines.append("    try:")
        lines += [f"        {line}" for line in code.splitlines()]
        lines += [f"    except e{i} as exc:", f"        value = r{i}(exc, value)"]
    lines.append("    return value")
    exec("\n".join(lines) + "\n", namespace)
    return cast("Callable[[Any], Any]", namespace["composed"])


class Chain(Codec[A, B]):
    """A flat chain of codecs, built by ``|``; its spec is the list of its stages' specs."""

    name = "chain"

    def __init__(self, stages: tuple[Codec[Any, Any], ...]) -> None:
        self._stages = stages
        # Instance attributes shadow the methods: a call goes straight to the generated function.
        self.__dict__["encode"] = _compose([s.inline_encode() or s.encode for s in stages])
        self.__dict__["decode"] = _compose([s.inline_decode() or s.decode for s in reversed(stages)])

    @property
    def stages(self) -> tuple[Codec[Any, Any], ...]:
        return self._stages

    @property
    def spec(self) -> Spec:
        return [cast("StageSpec", s.spec) for s in self._stages]

    @property
    def is_unsafe(self) -> bool:
        return any(s.is_unsafe for s in self._stages)

    def schema(self) -> dict[str, Any] | None:
        return self._stages[0].schema()

    @property
    def preserves_prefix(self) -> bool:
        return all(s.preserves_prefix for s in self._stages)

    def encode_prefix(self, prefix: A | None, /) -> B | None:
        current: Any = prefix
        for stage in self._stages:
            current = stage.encode_prefix(current)
        return cast("B | None", current)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and other._stages == self._stages

    def __hash__(self) -> int:
        return hash(self._stages)

    def __repr__(self) -> str:
        return " | ".join(repr(s) for s in self._stages)
