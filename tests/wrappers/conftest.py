"""The async wrappers' tests run their stores on the event loop thread of the async suites."""

from __future__ import annotations

from tests.astores.conftest import loop

__all__ = ["loop"]  # the fixture, used by name
