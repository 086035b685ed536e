"""A small progress bar on stderr: count, bytes, rate and remaining time, redrawn in place.

It draws only on a terminal (or when forced), at most ten times a second, so a copy of a
million small keys spends its time copying, not drawing. The bytes and their rate show only
when the caller counts bytes (``copy`` does; ``migrate`` counts values), and a rate only once
something is done.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO

from nstore._cli.common import human_bytes

__all__ = ["Progress", "format_duration"]

_INTERVAL = 0.1
_WIDTH = 24


def format_duration(seconds: float) -> str:
    """``seconds`` as ``m:ss`` or ``h:mm:ss``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """A progress bar for ``total`` items (None when unknown), drawn on ``stream``."""

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        enabled: bool | None = None,
        stream: IO[str] | None = None,
        unit: str = "keys",
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.label = label
        self.unit = unit
        self.count = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def advance(self, count: int, nbytes: int = 0) -> None:
        """Record ``count`` more items of ``nbytes`` bytes, and redraw if it is time to."""
        self.count += count
        self.bytes += nbytes
        if self.enabled:
            now = time.monotonic()
            if now - self._drawn >= _INTERVAL:
                self._drawn = now
                self._draw(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The text of the bar as it stands."""
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.count / elapsed
        parts = [self.label]
        if self.total:
            done = min(self.count / self.total, 1.0)
            filled = int(done * _WIDTH)
            parts.append(f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {done:4.0%}")
            parts.append(f"{self.count:,}/{self.total:,} {self.unit}")
        else:
            parts.append(f"{self.count:,} {self.unit}")
        if self.bytes:
            parts.append(human_bytes(self.bytes))
        if self.count:
            parts.append(f"{rate:,.0f} {self.unit}/s")
        if self.bytes:
            parts.append(f"{human_bytes(self.bytes / elapsed)}/s")
        if self.total and rate > 0:
            parts.append(f"ETA {format_duration(max(self.total - self.count, 0) / rate)}")
        return "  ".join(parts)

    def _draw(self, text: str) -> None:
        pad = " " * max(self._width - len(text), 0)
        self._width = len(text)
        self.stream.write(f"\r{text}{pad}")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw(self.line())
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False

    @property
    def elapsed(self) -> float:
        """Seconds since the bar started."""
        return time.monotonic() - self.started

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
