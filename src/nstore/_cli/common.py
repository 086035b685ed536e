"""What every command shares: exit codes, the error to exit with, opening stores, output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any, cast

from nstore import errors

if TYPE_CHECKING:  # imported when a command opens a store, not to print help
    from nstore.store import Store
    from nstore.urls import StoreURL

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "CommandError",
    "HelpFormatter",
    "add_command",
    "batched",
    "classify",
    "human_bytes",
    "open_store",
    "open_url",
    "parse_url",
    "print_json",
]

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # a key or namespace that is not there
EXIT_USAGE = 2  # bad arguments, URL, option, key, codec spec or input file
EXIT_UNAVAILABLE = 3  # the store cannot be reached, refused access, or is unreadable
EXIT_FAILED = 4  # anything else: a value that does not decode, a migration that cannot proceed
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it


class CommandError(Exception):
    """A failure a command reports as one line on stderr, exiting with :attr:`code`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_STORE_ERRORS: tuple[tuple[type[errors.StoreError], str], ...] = (
    (errors.AuthError, "access refused"),
    (errors.ReadOnlyError, "read-only store"),
    (errors.CorruptStore, "not a readable store"),
    (errors.ValueTooLarge, "value too large"),
)


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an error raised while running a command."""
    if isinstance(exc, CommandError):
        return exc.code, exc.message
    if isinstance(exc, errors.MissingKey):
        return EXIT_NOT_FOUND, f"not found: key {exc.key!r}"
    if isinstance(exc, errors.ConfigurationError | errors.KeyEncodingError | errors.SpecError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, errors.UnsafeCodecError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, errors.StoreError):
        kind = next((text for cls, text in _STORE_ERRORS if isinstance(exc, cls)), "store unavailable")
        return EXIT_UNAVAILABLE, f"{kind}: {exc}"
    if isinstance(exc, errors.NStoreError):
        return EXIT_FAILED, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ImportError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_UNAVAILABLE, f"store unavailable: {exc.strerror or exc}{where}"
    return EXIT_FAILED, f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def parse_url(url: str | None) -> StoreURL:
    """Parse a store URL from the command line; an HTTP store takes its token from NSTORE_TOKEN."""
    from nstore.urls import StoreURL, parse

    parsed = parse(url)
    token = os.environ.get("NSTORE_TOKEN")
    if parsed.kind == "http" and token and "token" not in parsed.options:
        return StoreURL(parsed.kind, parsed.location, {**parsed.options, "token": token})
    return parsed


def open_store(url: str | None, *, create: bool = False, read_only: bool = False) -> Store[str, bytes]:
    """Open the store a command names (the embedded default when ``url`` is None).

    Unless ``create`` is true, a file or SQLite store must exist already: a command that only
    reads must not leave an empty store behind because of a typo in a path. With ``read_only``,
    a file or SQLite store is opened so that nothing on disk changes (``ls``, ``get``, ``inspect``).
    """
    return open_url(parse_url(url), create=create, read_only=read_only)


def open_url(url: StoreURL, *, create: bool = False, read_only: bool = False) -> Store[str, bytes]:
    """Open ``url``; see :func:`open_store` for ``create`` and ``read_only``."""
    if not create and url.kind in ("file", "sqlite") and not os.path.exists(url.location):
        raise CommandError(
            EXIT_UNAVAILABLE, f"store unavailable: no store at {url.location} ('nstore put' creates one)"
        )
    if read_only and url.kind in ("file", "sqlite") and "read_only" not in url.options:
        url = replace(url, options={**url.options, "read_only": True})
    return url.open()


def batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lists of at most ``size`` items, in order."""
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def human_bytes(n: float) -> str:
    """``n`` bytes in a short human unit: ``1.5 MiB``; the unit is the one the rounded figure needs."""
    if abs(n) < 1023.5:  # from here on, "1024 B" would show
        return f"{n:.0f} B"
    units = ["KiB", "MiB", "GiB", "TiB"]
    n /= 1024
    while abs(n) >= 1023.95 and len(units) > 1:  # "1024.0 KiB" is "1.0 MiB"
        n /= 1024
        units.pop(0)
    return f"{n:.1f} {units[0]}"


def print_json(data: Any, stream: IO[str] | None = None) -> None:
    """Print ``data`` as JSON on one line (stdout by default)."""
    out = stream or sys.stdout
    out.write(json.dumps(data, ensure_ascii=False) + "\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions and examples as written, and aligns help in a wider column."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)
        # argparse sizes the help column without the subcommands' extra indent, which pushes the
        # help of the longest command name ("completion") to its own line; start wider.
        self._action_max_length = 16


def add_command(
    sub: Any, common: argparse.ArgumentParser, name: str, summary: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """A subcommand parser with the shared options, a description and an examples section."""
    return cast(
        "argparse.ArgumentParser",
        sub.add_parser(
            name,
            parents=[common],
            help=summary,
            description=description,
            epilog="examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines()),
            formatter_class=HelpFormatter,
        ),
    )
