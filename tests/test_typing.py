"""Type-level tests: mypy over ``typings/`` must report exactly the errors its ``# E:`` comments name.

Every ``.py`` file under ``typings/`` is a set of cases: lines of intended use must type-check,
and a line that must fail ends with ``# E: <message>  [<code>]``, the exact error mypy reports
(several ``# E:`` comments for several errors on one line). mypy runs once, in-process, over the
whole folder with the project's strict configuration, and the expected and reported
``(file, line, message)`` sets must be equal. ``typings/`` stays off ``mypy_path``: a module there
would shadow an installed one.
"""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
TYPINGS = ROOT / "typings"
EXPECTED = re.compile(r"#\s*E:\s*(.+?)\s*(?=#\s*E:|$)")
REPORTED = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.+)$")

Case = tuple[str, int, str]


def expected_errors(files: list[Path]) -> set[Case]:
    """The ``(file, line, message)`` of every ``# E:`` comment in ``files``."""
    cases = set()
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            _, sep, comments = line.partition("# E:")
            if sep:
                for message in EXPECTED.findall(sep + comments):
                    cases.add((path.relative_to(ROOT).as_posix(), number, message))
    return cases


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


def test_mypy_reports_exactly_the_expected_errors() -> None:
    files = sorted(TYPINGS.rglob("*.py"))
    assert files, "typings/ holds no cases"
    expected = expected_errors(files)
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
    reported = reported_errors(stdout)
    unexpected = sorted(reported - expected)
    missing = sorted(expected - reported)
    report = "".join(f"  reported, not expected: {f}:{n}: {m}\n" for f, n, m in unexpected) + "".join(
        f"  expected, not reported: {f}:{n}: {m}\n" for f, n, m in missing
    )
    assert report == "", f"mypy disagrees with typings/:\n{report}"


def test_expectations_parse_several_errors_on_one_line() -> None:
    case = ROOT / "typings" / "example.py"
    line = 'x: int = "a" + 1  # E: first message  [operator]  # E: second  [assignment]'
    assert EXPECTED.findall(line.partition("# E:")[1] + line.partition("# E:")[2]) == [
        "first message  [operator]",
        "second  [assignment]",
    ]
    stdout = f"{case}:3: error: first message  [operator]\n{case}:3: note: a hint\n"
    assert reported_errors(stdout) == {("typings/example.py", 3, "first message  [operator]")}
