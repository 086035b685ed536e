"""Type-level tests: mypy and pyright over ``typings/`` must report exactly the errors its comments name.

Every ``.py`` file under ``typings/`` is a set of cases: lines of intended use must type-check
under both checkers (``assert_type`` states an inferred type), and a line that must fail names
each error it gets, per checker:

- ``# E: <message>  [<code>]``: an error mypy reports, exactly as mypy prints it;
- ``# P: <message>  [<rule>]``: an error pyright reports: the first line of its message (the
  lines after it explain the first) and its rule.

The comments trail the failing line, or sit on comment-only lines right above it (they then
apply to the next line of code), which keeps long pyright messages readable. Several comments
name several errors on one line. Each checker runs once over the whole folder with the
project's configuration (mypy strict; pyright standard), and the expected and reported
``(file, line, message)`` sets must be equal, both ways, for each checker. ``typings/`` stays off
``mypy_path``: a module there would shadow an installed one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
TYPINGS = ROOT / "typings"
EXPECTED = re.compile(r"#\s*([EP]):\s*(.+?)\s*(?=#\s*[EP]:|$)")
REPORTED = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.+)$")
PYRIGHT = Path(sys.executable).parent / "pyright"

Case = tuple[str, int, str]


def expectations(text: str, checker: str) -> set[tuple[int, str]]:
    """The ``(line, message)`` of every ``# E:`` (checker "E") or ``# P:`` (checker "P") comment."""
    cases: set[tuple[int, str]] = set()
    pending: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        code, sep, comments = line.partition("#")
        found = [m for c, m in EXPECTED.findall(sep + comments) if c == checker] if sep else []
        if not code.strip():  # a comment-only or blank line: its comments wait for the next code
            pending += found
            continue
        cases.update((number, message) for message in pending + found)
        pending = []
    return cases


def expected_errors(files: list[Path], checker: str) -> set[Case]:
    """The ``(file, line, message)`` that the comments in ``files`` expect from ``checker``."""
    return {
        (path.relative_to(ROOT).as_posix(), number, message)
        for path in files
        for number, message in expectations(path.read_text(encoding="utf-8"), checker)
    }


def reported_errors(stdout: str) -> set[Case]:
    """The ``(file, line, message)`` of every error line mypy printed (notes are left out)."""
    cases = set()
    for line in stdout.splitlines():
        match = REPORTED.match(line)
        if match:
            path = Path(match["path"])
            relative = path.relative_to(ROOT).as_posix() if path.is_absolute() else path.as_posix()
            cases.add((relative, int(match["line"]), match["message"].strip()))
    return cases


def pyright_errors(report: dict[str, Any]) -> set[Case]:
    """The ``(file, line, first message line  [rule])`` of every diagnostic in pyright's JSON."""
    cases = set()
    diagnostics = report["generalDiagnostics"]
    assert isinstance(diagnostics, list)
    for diagnostic in diagnostics:
        if diagnostic["severity"] == "information":
            continue
        path = Path(diagnostic["file"]).relative_to(ROOT).as_posix()
        line = diagnostic["range"]["start"]["line"] + 1
        message = diagnostic["message"].splitlines()[0].strip()
        cases.add((path, line, f"{message}  [{diagnostic.get('rule', diagnostic['severity'])}]"))
    return cases


def disagreement(checker: str, expected: set[Case], reported: set[Case]) -> str:
    return "".join(
        f"  {checker} reported, not expected: {f}:{n}: {m}\n" for f, n, m in sorted(reported - expected)
    ) + "".join(
        f"  {checker} expected, not reported: {f}:{n}: {m}\n" for f, n, m in sorted(expected - reported)
    )


def typing_cases() -> list[Path]:
    files = sorted(TYPINGS.rglob("*.py"))
    assert files, "typings/ holds no cases"
    return files


def test_mypy_reports_exactly_the_expected_errors() -> None:
    files = typing_cases()
    expected = expected_errors(files, "E")
    assert expected, "typings/ holds no failing cases"
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--show-absolute-path",
            "--no-error-summary",
            "--no-pretty",
            *[str(f) for f in files],
        ]
    )
    assert status in (0, 1), f"mypy crashed:\n{stderr}\n{stdout}"
    report = disagreement("mypy", expected, reported_errors(stdout))
    assert report == "", f"mypy disagrees with typings/:\n{report}"


def test_pyright_reports_exactly_the_expected_errors() -> None:
    files = typing_cases()
    expected = expected_errors(files, "P")
    assert expected, "typings/ holds no failing cases for pyright"
    assert PYRIGHT.exists(), f"pyright is not installed beside {sys.executable}: pip install -e '.[dev]'"
    run = subprocess.run(
        [str(PYRIGHT), "--outputjson", *[str(f) for f in files]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert run.returncode in (0, 1), f"pyright failed:\n{run.stderr}\n{run.stdout}"
    report = disagreement("pyright", expected, pyright_errors(json.loads(run.stdout)))
    assert report == "", f"pyright disagrees with typings/:\n{report}"


def test_expectations_parse_several_errors_and_lines_above() -> None:
    text = (
        "# P: a pyright message  [reportX]\n"
        "\n"
        'x: int = "a" + 1  # E: first message  [operator]  # E: second  [assignment]  # P: other  [reportY]\n'
        "y = 1  # a plain comment\n"
    )
    assert expectations(text, "E") == {(3, "first message  [operator]"), (3, "second  [assignment]")}
    assert expectations(text, "P") == {(3, "a pyright message  [reportX]"), (3, "other  [reportY]")}
    case = ROOT / "typings" / "example.py"
    stdout = f"{case}:3: error: first message  [operator]\n{case}:3: note: a hint\n"
    assert reported_errors(stdout) == {("typings/example.py", 3, "first message  [operator]")}
    report = {
        "generalDiagnostics": [
            {
                "file": str(case),
                "severity": "error",
                "message": 'Type "int" is not assignable\n  because',
                "range": {"start": {"line": 2}},
                "rule": "reportAssignmentType",
            }
        ]
    }
    assert pyright_errors(report) == {
        ("typings/example.py", 3, 'Type "int" is not assignable  [reportAssignmentType]')
    }
