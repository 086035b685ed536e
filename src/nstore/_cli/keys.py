"""``nstore get``, ``put``, ``rm`` and ``ls``: single keys and listings, binary-safe."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from nstore._cli.common import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_command,
    batched,
    open_store,
    print_json,
)
from nstore.errors import MissingKey
from nstore.store import Store

__all__ = ["add_commands"]

_LIST_BATCH = 256
_PAGE = 1000  # keys per listing page (an HTTP server's largest)
_URL_HELP = "the store (see 'nstore --help' for the URL forms)"


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the key commands on the ``nstore`` subparsers ``sub``."""
    p = add_command(
        sub, common, "get", "write a key's value to stdout",
        "Write the value stored at KEY to stdout, byte for byte (or to a file with -o).\n"
        "A value that is not text is not written to a terminal, where it could garble the\n"
        "display: redirect stdout, use -o FILE or --json, or --force to write it anyway.",
        "nstore get ./data.db greeting > greeting.bin\nnstore get ./data.db greeting --json",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", help=_URL_HELP)
    p.add_argument("key", metavar="KEY", help="the key to read")
    p.add_argument("-o", "--output", metavar="FILE", help="write the value to FILE instead of stdout")
    p.add_argument("-f", "--force", action="store_true", help="write a binary value to a terminal too")
    p.add_argument(
        "--json", action="store_true", help="print key, size, sha256 and value (UTF-8 or base64) as JSON"
    )
    p.set_defaults(func=_get)

    p = add_command(
        sub, common, "put", "store a value read from a file or stdin",
        "Store the bytes of FILE (or of stdin, when FILE is - or left out) at KEY.",
        "nstore put ./data.db greeting hello.txt\necho hi | nstore put ./data.db greeting",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", help=_URL_HELP)
    p.add_argument("key", metavar="KEY", help="the key to write (replaced if present)")
    p.add_argument("file", metavar="FILE", nargs="?", default="-", help="the value's file; - for stdin")
    p.set_defaults(func=_put)

    p = add_command(
        sub, common, "rm", "delete keys",
        "Delete every KEY. A key that is not there is an error (exit 1) unless -f is given;\n"
        "the other keys are deleted either way.",
        "nstore rm ./data.db greeting old/report",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", help=_URL_HELP)
    p.add_argument("keys", metavar="KEY", nargs="+", help="the keys to delete")
    p.add_argument("-f", "--force", action="store_true", help="ignore keys that are not there")
    p.set_defaults(func=_rm)

    p = add_command(
        sub, common, "ls", "list keys, one per line",
        "List the keys that start with PREFIX (every key if none), one per line, sorted.\n"
        "On a terminal, characters that are not printable (ESC, tabs, newlines, ...) and\n"
        "backslashes are shown as Python escapes (\\x1b, \\t, \\\\), so no key can act on\n"
        "the terminal; a pipe or file gets the keys as they are.",
        "nstore ls ./data.db users/\nnstore ls ./data.db --long --json",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", help=_URL_HELP)
    p.add_argument("prefix", metavar="PREFIX", nargs="?", default=None, help="only keys starting with it")
    p.add_argument("-l", "--long", action="store_true", help="add each value's size in bytes")
    p.add_argument("--json", action="store_true", help="a JSON array of {key} ({key, size} with -l)")
    p.add_argument("-0", "--null", action="store_true", help="end each key with NUL instead of a newline")
    p.add_argument("--unsorted", action="store_true", help="print keys in the store's order as they come")
    p.set_defaults(func=_ls)


def _get(args: argparse.Namespace) -> int:
    with open_store(args.url, read_only=True) as store:
        value = store[args.key]
    if args.json:
        try:
            shown: dict[str, str] = {"encoding": "utf-8", "value": value.decode()}
        except UnicodeDecodeError:
            shown = {"encoding": "base64", "value": base64.b64encode(value).decode()}
        digest = hashlib.sha256(value).hexdigest()
        print_json({"key": args.key, "size": len(value), "sha256": digest, **shown})
    elif args.output:
        try:
            with open(args.output, "wb") as out:
                out.write(value)
        except OSError as exc:
            raise CommandError(EXIT_USAGE, f"cannot write {args.output}: {exc.strerror}") from exc
    else:
        if not args.force and sys.stdout.isatty() and not _is_text(value):
            raise CommandError(
                EXIT_USAGE,
                f"the value of {args.key!r} is binary ({len(value):,} bytes) and stdout is a terminal: "
                "redirect it (> FILE), use -o FILE or --json, or --force to write it here anyway",
            )
        sys.stdout.buffer.write(value)
        sys.stdout.buffer.flush()
    return EXIT_OK


#: Control characters that a text file may hold; any other one (NUL, ESC, ...) makes a value binary.
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b")
_CONTROLS = frozenset(range(32)) | {127}


def _is_text(value: bytes) -> bool:
    """True if ``value`` is UTF-8 text without control characters that act on a terminal."""
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return not (set(value) & _CONTROLS) - _TEXT_CONTROLS


def _put(args: argparse.Namespace) -> int:
    # The input is read before the store opens, so a bad FILE never touches the store.
    if args.file == "-":
        if sys.stdin.isatty():
            sys.stderr.write("nstore put: reading the value from the terminal; end it with Ctrl-D\n")
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(args.file, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise CommandError(EXIT_USAGE, f"cannot read {args.file}: {exc.strerror}") from exc
    with open_store(args.url, create=True) as store:
        store[args.key] = data
    return EXIT_OK


def _rm(args: argparse.Namespace) -> int:
    missing = []
    with open_store(args.url) as store:
        for key in dict.fromkeys(args.keys):
            try:
                del store[key]
            except MissingKey:
                missing.append(key)
    if missing and not args.force:
        names = ", ".join(repr(k) for k in missing)
        raise CommandError(EXIT_NOT_FOUND, f"not found: {'key' if len(missing) == 1 else 'keys'} {names}")
    return EXIT_OK


def _ls(args: argparse.Namespace) -> int:
    end = "\0" if args.null else "\n"
    out = sys.stdout
    shown = _shown if out.isatty() else str
    as_json = _json_shown if out.isatty() else str
    with open_store(args.url, read_only=True) as store:
        keys: Iterator[str] = _paged(store, args.prefix)
        if not args.unsorted:
            keys = iter(sorted(keys))
        entries = _with_sizes(store, keys) if args.long else ((k, None) for k in keys)
        if args.json:
            out.write("[")
        for i, (key, size) in enumerate(entries):
            if args.json:
                item: dict[str, object] = {"key": key} if size is None else {"key": key, "size": size}
                out.write(("," if i else "") + as_json(json.dumps(item, ensure_ascii=False)))
            elif size is None:
                out.write(shown(key) + end)
            else:
                out.write(f"{size}\t{shown(key)}{end}")
        if args.json:
            out.write("]\n")
    return EXIT_OK


def _shown(key: str) -> str:
    """``key`` for a terminal: backslashes and characters that are not printable as Python escapes."""
    if key.isprintable() and "\\" not in key:
        return key
    return "".join(c if c.isprintable() and c != "\\" else _escape(c) for c in key)


def _escape(char: str) -> str:
    escaped: str = char.encode("unicode_escape").decode("ascii")
    return escaped


def _json_shown(text: str) -> str:
    """JSON ``text`` for a terminal: characters that are not printable as ``\\uXXXX`` escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _json_escape(c) for c in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _paged(store: Store[str, bytes], prefix: str | None) -> Iterator[str]:
    """Every key under ``prefix``, one ``keys_page`` at a time from the store's cursor."""
    cursor = None
    while True:
        page = store.keys_page(prefix, cursor=cursor, limit=_PAGE)
        yield from page.keys
        if page.cursor is None:
            return
        cursor = page.cursor


def _with_sizes(store: Store[str, bytes], keys: Iterator[str]) -> Iterator[tuple[str, int | None]]:
    """Each key with its value's size, reading values in batches; keys deleted meanwhile are left out."""
    for batch in batched(keys, _LIST_BATCH):
        values = store.get_many(batch)
        for key in batch:
            if key in values:
                yield key, len(values[key])
