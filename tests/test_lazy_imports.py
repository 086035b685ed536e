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
