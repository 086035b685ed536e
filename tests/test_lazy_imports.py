"""``import nstore`` and the ``nstore`` command load only what is used (fresh interpreters)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nstore

HEAVY = ["nstore.server", "nstore.stores.http", "nstore.namespaces", "nstore.stores.redis", "nstore.urls"]


def _loaded(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import nstore",
        "from nstore import SQLiteStore",
        "from nstore import FileStore, MemoryStore",
        "import nstore.cli\ntry:\n    nstore.cli.main(['--help'])\nexcept SystemExit:\n    pass",
    ],
)
def test_heavy_modules_are_not_imported_until_used(code: str) -> None:
    loaded = _loaded(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "redis" not in loaded


_CLI = "import sys\nimport nstore.cli\ntry:\n    nstore.cli.main({argv!r})\nexcept SystemExit:\n    pass"
_COMMAND_MODULES = {f"nstore._cli.{m}" for m in ("bench", "completion", "copy", "keys", "ns")}


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["--help"], None),
        (["get", "--help"], "nstore._cli.keys"),
        (["--debug", "ls", "--help"], "nstore._cli.keys"),
        (["copy", "--help"], "nstore._cli.copy"),
        (["migrate", "--help"], "nstore._cli.ns"),
        (["nonsense"], None),
    ],
)
def test_the_command_imports_only_the_module_of_its_command(argv: list[str], module: str | None) -> None:
    loaded = _loaded(_CLI.format(argv=argv)) & _COMMAND_MODULES
    assert loaded == ({module} if module else set())


def test_the_summaries_of_nstore_help_are_those_of_the_commands() -> None:
    from nstore.cli import COMMANDS, build_parser

    # Placeholders carry the table's summaries, full commands their module's: the help is the same.
    full = build_parser().format_help()
    assert build_parser("").format_help() == full
    assert build_parser("migrate").format_help() == full
    for name, (_, summary) in COMMANDS.items():
        assert f"    {name} " in full
        assert " ".join(summary.split()) in " ".join(full.split()), name


def test_a_lazy_name_is_imported_on_first_use() -> None:
    loaded = _loaded("import nstore\nnstore.HTTPStore")
    assert "nstore.stores.http" in loaded
    assert "nstore.server" not in loaded


def test_lazy_names_are_the_real_objects() -> None:
    from nstore.server import serve
    from nstore.stores.redis import RedisStore

    assert nstore.RedisStore is RedisStore
    assert nstore.serve is serve
    assert set(nstore.__all__) <= set(dir(nstore))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'SQLightStore'"):
        getattr(nstore, "SQLightStore")  # noqa: B009  # a misspelt name, past the type checker
