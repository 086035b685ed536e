"""``nstore serve``: the HTTP server over any store."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_commands"]


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``nstore serve`` on the ``nstore`` subparsers ``sub``."""
