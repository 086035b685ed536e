"""The ``nstore`` command: serve, inspect, copy and migrate stores from a terminal.

Every command takes a store URL (see :mod:`nstore.urls`). Exit codes: 0 success, 1 not found,
2 usage error, 3 store unavailable, 4 any other failure, 130 interrupted. An error prints one
line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
nstore: a typed, serialization-centric object store, from a terminal.
Serve a store over HTTP, read and write keys, copy between stores, inspect namespaces."""

_EPILOG = """\
store URLs:
  (no URL)                         the embedded default: SQLite in ./nstore.db
  memory://                        in-process memory (useful with serve)
  file:///abs/dir  or  some/dir    one file per key under a directory
  sqlite:///abs/path.db  or  x.db  one SQLite database file
  redis://host:6379/0, rediss://   a Redis server (pip install 'nstore[redis]')
  redis+cluster://h1:7000,h2:7001  a Redis Cluster
  http://host:{port}/, https://      an 'nstore serve' server (token: ?token=... or NSTORE_TOKEN)
  options go in the query string: sqlite:///srv/app.db?durability=full, app.db?durability=full

exit codes:
  0 success, 1 not found, 2 usage error, 3 store unavailable, 4 other failure, 130 interrupted

examples:
  nstore serve                      serve ./nstore.db on http://127.0.0.1:{port}/
  echo hello | nstore put data.db greeting
  nstore get data.db greeting
  nstore copy ./files sqlite:///srv/app.db

Run 'nstore COMMAND --help' for a command's options."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, pointing at the help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


#: Every command: the module of ``nstore._cli`` that defines it (with its options), and its line
#: in ``nstore --help``. A run imports only the module of its command, so ``nstore get`` does not
#: load what ``copy`` or ``migrate`` need; a test checks that each module agrees with this table.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "serve a store over HTTP"),
    "get": ("keys", "write a key's value to stdout"),
    "put": ("keys", "store a value read from a file or stdin"),
    "rm": ("keys", "delete keys"),
    "ls": ("keys", "list keys, one per line"),
    "copy": ("copy", "copy every key from one store to another (resumable)"),
    "namespaces": ("ns", "list the namespaces of a store"),
    "inspect": ("ns", "show a namespace's manifest, or decode one of its values"),
    "migrate": ("ns", "re-encode a namespace with another codec chain"),
    "bench": ("bench", "benchmark a store and typed pipelines on it"),
    "completion": ("completion", "print a shell completion script"),
}

_ALL = "*"


def build_parser(command: str = _ALL) -> argparse.ArgumentParser:
    """The ``nstore`` argument parser: with every command in full, or only ``command`` in full.

    The other commands are then placeholders with their summary line, enough for ``nstore
    --help`` and for argparse to name the valid choices; ``command=""`` makes them all so.
    """
    from nstore._cli.common import HelpFormatter
    from nstore._cli.serve import DEFAULT_PORT

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of an error",
    )
    parser = _Parser(
        prog="nstore",
        description=_DESCRIPTION,
        epilog=_EPILOG.format(port=DEFAULT_PORT),
        formatter_class=HelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", required=True, parser_class=_Parser
    )
    wanted = COMMANDS[command][0] if command in COMMANDS else None
    loaded: set[str] = set()
    for name, (module, summary) in COMMANDS.items():
        if command == _ALL or module == wanted:
            if module not in loaded:  # registers every command of the module, in this order
                importlib.import_module(f"nstore._cli.{module}").add_commands(sub, common)
                loaded.add(module)
        else:
            sub.add_parser(name, help=summary)
    return parser


def _command(argv: Sequence[str]) -> str:
    """The command named in ``argv`` (the first word that is not an option), or ``""``."""
    return next((arg for arg in argv if not arg.startswith("-")), "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nstore`` command with ``argv`` (the process's arguments by default)."""
    from nstore._cli.common import EXIT_INTERRUPTED, classify

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command(argv)).parse_args(argv)
    debug = getattr(args, "debug", False)
    # SIGTERM stops a command the way Ctrl-C does: cleanly, with the same exit path.
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started with Ctrl-C ignored (nohup, or 'cmd &' in a script): Python then keeps it
        # ignored and nothing could stop a long copy from the terminal. Restore the default.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # here, so that a closed pipe is seen below rather than at exit
    except KeyboardInterrupt:
        sys.stderr.write("nstore: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (nstore ls | head): not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if debug:
            import traceback

            traceback.print_exc()
        code, message = classify(exc)
        one_line = " ".join(message.split())
        sys.stderr.write(f"nstore {args.command}: {one_line}\n")
    return code


class _Version(argparse.Action):
    """Prints the version, read from the package metadata only when asked for (it costs ~10 ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        sys.stdout.write(f"nstore {_version()}\n")
        parser.exit(0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nstore")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
