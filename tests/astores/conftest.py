"""The event loop that async stores under test run on, in a thread of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.astores.facade import LoopThread


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    """A running event loop in its own thread, stopped (async generators and executor shut down) after."""
    thread = LoopThread()
    try:
        yield thread
    finally:
        thread.stop()
