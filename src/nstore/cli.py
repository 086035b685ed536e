"""The ``nstore`` command: serve, inspect, copy and migrate stores from a terminal.

Every command takes a store URL (see :mod:`nstore.urls`). Exit codes: 0 success, 1 not found,
2 usage error, 3 store unavailable, 4 any other failure, 130 interrupted. An error prints one
line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
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


def build_parser() -> argparse.ArgumentParser:
    """The ``nstore`` argument parser with every command."""
    from nstore._cli import bench, completion, copy, keys, ns, serve
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
    for module in (serve, keys, copy, ns, bench, completion):
        module.add_commands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nstore`` command with ``argv`` (the process's arguments by default)."""
    from nstore._cli.common import EXIT_INTERRUPTED, classify

    args = build_parser().parse_args(argv)
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
