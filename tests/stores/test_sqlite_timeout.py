"""The busy timeout of SQLiteStore: seconds from 0 (no wait) to a day; SQLite keeps it as int
milliseconds, so a larger value would overflow into no wait at all, and is refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nstore.errors import ConfigurationError
from nstore.stores.sqlite import SQLiteStore


@pytest.mark.parametrize("timeout", [math.inf, math.nan, 1e300, 3e6, 86400.5, -1, -0.001])
def test_a_timeout_outside_0_to_a_day_is_refused(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ConfigurationError, match=r"^Expected a timeout in seconds from 0 to 86400"):
        SQLiteStore(tmp_path / "d.db", timeout=timeout)


@pytest.mark.parametrize("timeout", [0, 0.5, 86400])
def test_a_timeout_from_0_to_a_day_is_kept(tmp_path: Path, timeout: float) -> None:
    with SQLiteStore(tmp_path / "d.db", timeout=timeout) as store:
        store["k"] = b"v"
        busy = store._open().execute("PRAGMA busy_timeout").fetchone()[0]
        assert busy == round(timeout * 1000)
