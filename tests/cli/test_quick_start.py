"""The quick start in README.md and docs/cli.md tells a newcomer what they need to know first."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return " ".join(text[start : end if end != -1 else None].split())


def test_the_readme_quick_start_says_how_to_install_and_what_the_tests_need() -> None:
    quick = _section((ROOT / "README.md").read_text(encoding="utf-8"), "## Quick start")
    assert "not on PyPI yet" in quick
    assert "from a clone of this repository" in quick
    assert "in another terminal" in quick
    assert "`redis-server`, `redis-cli` and `curl` must be installed" in quick
    assert "apt-get install redis-server redis-tools curl" in quick


def test_docs_cli_says_how_to_install_before_publication() -> None:
    intro = _section((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"), "# The `nstore` command")
    assert "Until nstore is published on PyPI, install it from a clone" in intro
    assert not re.search(r"\$ pip install nstore\b", intro)  # that fails until it is published
    assert "from another terminal" in intro
