"""The namespace examples of the README and docs/namespaces.md run, and run again: an example is
a deploy, and the second deploy finds the store as the first one left it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def blocks(document: str, marker: str) -> list[str]:
    text = (ROOT / document).read_text(encoding="utf-8")
    return [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL) if marker in b]


EXAMPLES = [
    *[("README.md", b) for b in blocks("README.md", "db.migrate(")],
    *[("docs/namespaces.md", b) for b in blocks("docs/namespaces.md", "transform=to_person")],
]


@pytest.mark.parametrize(("document", "source"), EXAMPLES, ids=[d for d, _ in EXAMPLES])
def test_the_example_runs_twice_in_a_row(document: str, source: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(source, encoding="utf-8")
    for run in (1, 2):
        command = [sys.executable, str(script)]
        result = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"{document}, run {run}:\n{result.stderr}"


def test_there_is_one_example_of_each() -> None:
    assert [d for d, _ in EXAMPLES] == ["README.md", "docs/namespaces.md"]
