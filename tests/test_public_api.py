"""The public API: sorted ``__all__`` lists, every name importable, and py.typed shipped."""

from __future__ import annotations

import importlib
from importlib import resources

import pytest

PUBLIC_MODULES = ["nstore", "nstore.codecs", "nstore.errors", "nstore.wrappers"]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_and_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(module, name) is not None, name


def test_py_typed_is_shipped() -> None:
    assert resources.files("nstore").joinpath("py.typed").is_file()


def test_errors_root_at_nstore_error() -> None:
    from nstore import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.NStoreError), name
