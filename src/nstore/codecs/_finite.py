"""NaN and infinity, which JSON cannot hold: msgspec and pydantic write them as ``null``.

A ``null`` reads back as None (``float | None``) or fails to read (``float``), so the JSON codecs
refuse a value holding one. Both look only when what they wrote holds ``null``: a value without
None or a non-finite float costs one search of the bytes.
"""

from __future__ import annotations

import math

__all__ = ["non_finite", "non_finite_message"]


_SEQUENCES = (list, tuple, set, frozenset)
_LEAVES = frozenset({str, int, bool, type(None), bytes})  # the common items, none a float


def non_finite(value: object) -> float | None:
    """A NaN or infinity among the floats of ``value`` (builtins: dicts, lists, tuples, sets), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) in _LEAVES:
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, _SEQUENCES):
            stack.extend(item)
    return None


def non_finite_message(expected: str, value: object, number: float, writer: str, tip: str = "") -> str:
    """The EncodeError message for ``value``, a would-be ``expected``, holding ``number``."""
    where = "" if isinstance(value, float) else f" in a {type(value).__name__}"
    return (
        f"Expected a {expected} without NaN or infinity. Got {number!r}{where} instead: JSON has "
        f"neither, and {writer} would write null, which reads back as None or not at all "
        f"(store None or a finite float{tip})"
    )
