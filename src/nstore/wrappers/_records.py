"""What a logging store logs, and how: written once for :class:`LoggingStore` and :class:`AsyncLoggingStore`.

One record per operation, built by :class:`Access` around the call to the wrapped store (a
blocking call or an awaited one: the record is the same). Values are never logged; keys are.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from time import perf_counter
from types import TracebackType
from typing import Any

from nstore.errors import ConfigurationError

__all__ = [
    "FIELDS",
    "Access",
    "Logs",
    "check_level",
    "counted",
    "enabled",
    "found",
    "got",
    "hit",
    "nothing",
    "size_of",
    "target",
    "total_size",
]

#: Record fields that every access record carries (None where they do not apply).
FIELDS = ("operation", "key", "count", "size", "hit", "ttl", "duration", "error")

# Modules whose frames stand between the user's line and a record: nstore's own (an inherited
# Store method, a listing, a view) and the abc mixins of the standard library (setdefault, pop).
_INNER = frozenset({"nstore", "_collections_abc", "collections.abc"})


def enabled(logger: logging.Logger, level: int) -> bool:
    """Whether a record at ``level`` would be logged now (exact: read on every call).

    A logger's own level, when set, is its effective level (``Logger.getEffectiveLevel``): a
    level below it is disabled whatever the parents and ``logging.disable()`` say; one
    comparison answers that case, and ``Logger.isEnabledFor`` every other.
    """
    return level >= logger.level and logger.isEnabledFor(level)


def check_level(level: object) -> int:
    """A logging level number from a number or a name; ConfigurationError for anything else."""
    if isinstance(level, str):
        names = logging.getLevelNamesMapping()
        number = names.get(level, names.get(level.upper()))
        if number is not None:
            return number
    elif isinstance(level, int) and not isinstance(level, bool) and level >= 0:
        return level
    known = ", ".join(repr(n) for n in sorted(logging.getLevelNamesMapping(), key=logging.getLevelName))
    raise ConfigurationError(
        f"Expected a logging level for level: a number >= 0 or one of {known}. Got {level!r} instead."
    )


def size_of(value: object) -> int | None:
    """Size in bytes of a bytes-like or text value; None for other values (never logged)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    return None


def total_size(values: Iterable[object]) -> int | None:
    sizes = [size_of(v) for v in values]
    return None if None in sizes else sum(s for s in sizes if s is not None)


# Outcomes as record fields, from what the wrapped store returned.
def nothing(_: object) -> dict[str, Any]:
    return {}


def got(value: object) -> dict[str, Any]:
    return {"hit": True, "size": size_of(value)}


def found(_: object) -> dict[str, Any]:
    return {"hit": True}


def counted(count: int) -> dict[str, Any]:
    return {"count": count}


def hit(answer: object) -> dict[str, Any]:
    return {"hit": answer}


def _message(fields: dict[str, Any]) -> str:
    parts = [fields["operation"]]
    if fields["key"] is not None:
        parts.append(repr(fields["key"]))
    if fields["count"] is not None:
        parts.append(f"{fields['count']} keys")
    if fields["hit"] is not None:
        parts.append("hit" if fields["hit"] else "miss")
    if fields["size"] is not None:
        parts.append(f"{fields['size']} B")
    ttl = fields["ttl"]
    if ttl is not None:  # a bad ttl, refused by the store, is logged as it came
        parts.append(_ttl_text(ttl))
    if fields["error"] is not None:
        parts.append(f"failed: {fields['error']}")
    return " ".join(parts)


def _ttl_text(ttl: object) -> str:
    if isinstance(ttl, int | float):
        try:
            return f"ttl {ttl:g} s"
        except OverflowError:  # an int beyond any float
            pass
    return f"ttl {ttl!r:.40}"


class Access:
    """One logged operation: ``with Access(...) as access:`` around the call, then :meth:`done`.

    On leaving, one record goes to the logger: the outcome given to :meth:`done`; ``hit=False``
    for a :class:`KeyError` (a missing key); the exception's class name in ``error`` for any
    other exception (re-raised), a cancellation included. A listing closed before its end is
    not an error.
    """

    __slots__ = ("_fields", "_level", "_logger", "_start")

    def __init__(self, logger: logging.Logger, level: int, operation: str, **fields: Any) -> None:
        self._logger = logger
        self._level = level
        self._fields: dict[str, Any] = dict.fromkeys(FIELDS)
        self._fields.update(fields, operation=operation)
        self._start = perf_counter()

    def __enter__(self) -> Access:
        return self

    def done(self, outcome: dict[str, Any]) -> None:
        """The call returned: ``outcome`` holds the fields it gives the record."""
        self._fields.update(outcome)

    def listed(self) -> None:
        """One more key listed."""
        self._fields["count"] += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        fields = self._fields
        fields["duration"] = duration = perf_counter() - self._start
        if isinstance(exc, KeyError):
            fields["hit"] = False
        elif exc is not None and not isinstance(exc, GeneratorExit):
            fields["error"] = type(exc).__name__
        self._logger.log(
            self._level,
            "%s in %.1f µs",
            _message(fields),
            duration * 1e6,
            extra=fields,
            stacklevel=_stacklevel(),
        )


def _stacklevel() -> int:
    """The ``stacklevel`` that names the user's line: the first frame outside :data:`_INNER`,
    counted from the caller of ``Logger.log`` (only when a record is logged)."""
    frame, level = inspect.currentframe(), 0
    while frame is not None and _inner(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    return max(level, 1)


def _inner(module: str) -> bool:
    return module in _INNER or module.startswith("nstore.")


def target(logger: object, level: object) -> tuple[logging.Logger, int]:
    """The logger (default ``nstore.access``) and level number a logging store logs to."""
    if logger is None:
        logger = logging.getLogger("nstore.access")
    elif not isinstance(logger, logging.Logger):
        raise ConfigurationError(
            f"Expected a logging.Logger for logger (logging.getLogger(name)). Got {type(logger).__name__} "
            f"{logger!r:.80} instead."
        )
    return logger, check_level(level)


class Logs:
    """Mixin of the logging stores: the logger, the level, and the exact test of whether to log."""

    __slots__ = ()
    _logger: logging.Logger
    _level: int

    @property
    def logger(self) -> logging.Logger:
        """The logger records go to."""
        return self._logger

    def _quiet(self) -> bool:
        return not enabled(self._logger, self._level)

    def _access(self, operation: str, **fields: object) -> Access:
        return Access(self._logger, self._level, operation, **fields)
