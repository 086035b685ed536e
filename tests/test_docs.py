"""Every Python example in README.md and docs/*.md runs as written.

A page's ``python`` blocks run in order as one script (later blocks may use what earlier ones
defined), in an empty directory, in a fresh interpreter. Examples name hosts from the reserved
documentation names; the two that stand for servers are mapped to real servers started here:
``redis://redis-1.example:6379`` is a standalone Redis, and a ``redis+cluster://`` URL naming
``redis-N.example`` hosts is a Redis Cluster. The README's set-up commands are the ones CI runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)
STANDALONE = re.compile(r"redis://redis-1\.example:6379")
CLUSTER = re.compile(r"redis\+cluster://redis-\d\.example:\d+(?:,redis-\d\.example:\d+)*")
PRIVATE_ADDRESS = re.compile(r"\b(?:10\.\d+|172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d+\.\d+\b")


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


PAGES_WITH_EXAMPLES = [page for page in PAGES if python_blocks(page)]


def run_script(source: str, directory: Path) -> subprocess.CompletedProcess[str]:
    script = directory / "example.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=directory, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=[page.name for page in PAGES_WITH_EXAMPLES])
def test_examples_run(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    source = "\n".join(python_blocks(page))
    if STANDALONE.search(source):
        source = STANDALONE.sub(request.getfixturevalue("redis_url").removesuffix("/0"), source)
    if CLUSTER.search(source):
        source = CLUSTER.sub(request.getfixturevalue("redis_cluster_url"), source)
    result = run_script(source, tmp_path)
    assert result.returncode == 0, result.stderr


def test_every_page_with_code_is_found() -> None:
    assert ROOT / "README.md" in PAGES_WITH_EXAMPLES
    assert len(PAGES_WITH_EXAMPLES) >= 8


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_no_private_addresses(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert PRIVATE_ADDRESS.findall(text) == [], "name hosts from the documentation names (redis-1.example)"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(python3 -m venv .*?)\n```", readme)
    assert len(commands) == 2, "the quick start has exactly two set-up commands"
    serve, test = commands
    assert serve.endswith("nstore serve")
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
