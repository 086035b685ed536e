"""The progress bar of copy and migrate: what it shows, in which units."""

from __future__ import annotations

import io

import pytest

from nstore._cli.common import human_bytes
from nstore._cli.progress import Progress


def _bar(total: int | None, unit: str = "keys") -> tuple[Progress, io.StringIO]:
    stream = io.StringIO()
    return Progress(total, "copy", enabled=True, stream=stream, unit=unit), stream


def test_a_bar_without_bytes_shows_its_rate_and_no_zero_bytes() -> None:
    # migrate counts values, not bytes: its bar must not claim "0 B" and "0 B/s".
    progress, _ = _bar(1000, unit="values")
    progress.started -= 2.0  # two seconds ago
    progress.advance(500)
    line = progress.line()
    assert "500/1,000 values" in line
    assert " B" not in line
    rate = float(line.split(" values/s")[0].rsplit("  ", 1)[1].replace(",", ""))
    assert 240 <= rate <= 250  # 500 values in just over two seconds
    assert "ETA 0:02" in line


def test_a_bar_with_bytes_shows_bytes_and_their_rate() -> None:
    progress, _ = _bar(10)
    progress.started -= 2.0
    progress.advance(5, 5 * 1024 * 1024)
    line = progress.line()
    assert "5/10 keys  5.0 MiB  2 keys/s  2.5 MiB/s  ETA 0:02" in line


def test_nothing_done_yet_shows_no_rate() -> None:
    progress, _ = _bar(None, unit="values")
    assert progress.line() == "copy  0 values"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1023.7, "1.0 KiB"),  # a rate: not "1024 B"
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),  # not "1024.0 KiB"
        (1024 * 1024 * 1024 - 1, "1.0 GiB"),
        (5 * 1024**4, "5.0 TiB"),
        (3 * 1024**5, "3072.0 TiB"),
    ],
)
def test_human_bytes_picks_the_unit_the_rounded_figure_needs(n: float, text: str) -> None:
    assert human_bytes(n) == text
