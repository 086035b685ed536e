"""The arguments of a FileStore checked before use: its root path and its listing prefixes.

A bad one raises an error of nstore's own tree (:class:`~nstore.errors.ConfigurationError` for a
root, :class:`~nstore.errors.InvalidKey` for a prefix) before anything on disk is touched.
"""

from __future__ import annotations

import os

from nstore.errors import ConfigurationError, InvalidKey
from nstore.stores._location import refuse_url

__all__ = ["check_prefix", "root_path"]


def root_path(root: object) -> str:
    """``root`` as an absolute ``str`` path, taken from the working directory if relative.

    Absolute from construction on, so that a later ``os.chdir`` does not move the root of a copy
    made by pickling.
    """
    try:
        text = os.fspath(root)  # type: ignore[call-overload]  # any object: refused below if bad
    except TypeError:
        raise ConfigurationError(
            f"Expected a str or os.PathLike path for the FileStore root. Got {type(root).__name__} instead."
        ) from None
    if not isinstance(text, str):
        raise ConfigurationError(
            f"Expected a str path for the FileStore root. Got {type(text).__name__} instead; decode "
            "it with os.fsdecode(root)."
        )
    if not text:
        raise ConfigurationError(
            "Expected a path for the FileStore root. Got '' instead; pass '.' for the current directory."
        )
    if "\x00" in text:
        raise ConfigurationError(
            f"Expected a FileStore root path without NUL characters. Got {text!r} instead; no "
            "filesystem path can hold one."
        )
    try:
        os.fsencode(text)
    except UnicodeEncodeError as exc:
        raise ConfigurationError(
            f"Expected a FileStore root path that can be encoded for the filesystem. Got {text!r} "
            f"instead, which cannot be encoded ({exc.reason}, at index {exc.start})."
        ) from None
    refuse_url(text, "FileStore")
    return os.path.abspath(text)


def check_prefix(prefix: object) -> str:
    """``prefix`` of a listing as a ``str`` ("" for None); anything else raises InvalidKey."""
    if prefix is None:
        return ""
    if not isinstance(prefix, str):
        raise InvalidKey(
            f"Expected a str prefix (or None) for a FileStore listing. Got {type(prefix).__name__} "
            "instead; list typed keys through a key codec: store.with_keys(...).keys(prefix=...)."
        )
    return prefix
