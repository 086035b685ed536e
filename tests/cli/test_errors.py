"""Exit codes and one-line errors: bad URLs, unreadable files, unavailable stores, help."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.cli.conftest import NStore

COMMANDS = [
    "serve", "get", "put", "rm", "ls", "copy", "namespaces", "inspect", "migrate", "bench", "completion",
]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "nstore ls: Unknown store URL scheme 'ftp' in 'ftp://host/x'. Accepted: memory://;"),
        ("sqlite:///x.db?durability=fast", "nstore ls: Expected normal | full | off for option 'durability'"),
        ("file:///x?colour=red", "nstore ls: Unknown option 'colour' for a file store. Accepted"),
        ("file://relative", "nstore ls: Expected an absolute path after file:// (three slashes"),
    ],
)
def test_bad_urls_exit_2(nstore: NStore, url: str, message: str) -> None:
    assert nstore.fails(2, "ls", url).startswith(message)


def test_usage_errors_exit_2_with_one_line(nstore: NStore) -> None:
    assert nstore.fails(2, "get", "x.db") == (
        "nstore get: error: the following arguments are required: KEY (see 'nstore get --help')"
    )
    assert nstore.fails(2, "frobnicate").startswith("nstore: error: argument COMMAND: invalid choice")
    assert nstore.fails(2, "copy", "a.db", "b.db", "--batch-size", "0").startswith(
        "nstore copy: error: argument --batch-size: expected a positive integer"
    )
    assert nstore.fails(2).startswith("nstore: error: the following arguments are required: COMMAND")


def test_unreadable_input_files_exit_2(nstore: NStore, tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    assert nstore.fails(2, "put", "x.db", "k", "missing.bin") == (
        "nstore put: cannot read missing.bin: No such file or directory"
    )
    assert nstore.fails(2, "put", "x.db", "k", "adir") == "nstore put: cannot read adir: Is a directory"
    assert not (tmp_path / "x.db").exists()  # the store was never opened


def test_a_foreign_file_exits_3(nstore: NStore, tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_bytes(b"these are not the bytes of a SQLite database" * 100)
    line = nstore.fails(3, "ls", "notes.db")
    assert line.startswith("nstore ls: not a readable store: ")


def test_an_unreachable_server_exits_3(nstore: NStore) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = nstore.fails(3, "get", f"redis://127.0.0.1:{port}/0?timeout=1", "k")
    assert line.startswith("nstore get: store unavailable: ")
    assert str(port) in line


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(nstore: NStore, command: str) -> None:
    result = nstore.ok(command, "--help")
    assert result.text.startswith(f"usage: nstore {command}")
    examples = result.text.split("\nexamples:\n")[1]
    assert f"nstore {command}" in examples


def test_main_help_lists_commands_urls_and_exit_codes(nstore: NStore) -> None:
    text = nstore.ok("--help").text
    for command in COMMANDS:
        assert f"\n    {command} " in text
    for form in ("memory://", "file:///", "sqlite:///", "redis://", "redis+cluster://", "http://"):
        assert form in text
    assert "0 success, 1 not found, 2 usage error, 3 store unavailable" in text


def test_main_help_names_the_default_port(nstore: NStore) -> None:
    from nstore.server import DEFAULT_PORT

    text = nstore.ok("--help").text
    assert f"serve ./nstore.db on http://127.0.0.1:{DEFAULT_PORT}/" in text
    assert f"http://host:{DEFAULT_PORT}/" in text
    assert re.findall(r"http://[\w.]+:(\d+)/", text) == [str(DEFAULT_PORT)] * 2


def test_reading_a_missing_store_exits_3_and_creates_nothing(nstore: NStore, tmp_path: Path) -> None:
    reads = [["get", "typo.db", "k"], ["ls", "typo-dir"], ["rm", "typo.db", "k"], ["copy", "typo.db", "x.db"]]
    for args in reads:
        where = tmp_path / args[1]
        expected = f"nstore {args[0]}: store unavailable: no store at {where} ('nstore put' creates one)"
        assert nstore.fails(3, *args) == expected
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def test_a_missing_extra_is_named(nstore: NStore, tmp_path: Path) -> None:
    # A `redis` package that cannot be imported stands in for redis-py not being installed.
    shadow = tmp_path / "shadow" / "redis"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named redis')\n")
    nstore.env["PYTHONPATH"] = str(tmp_path / "shadow")
    line = nstore.fails(2, "ls", "redis://127.0.0.1:6379/0")
    assert line.startswith("nstore ls: ")
    assert "pip install 'nstore[redis]'" in line


def test_version(nstore: NStore) -> None:
    from importlib.metadata import version

    assert nstore.ok("--version").text == f"nstore {version('nstore')}\n"


def test_an_invalid_key_exits_2(nstore: NStore, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    line = nstore.fails(2, "put", "files", "a/../../escape", input=b"x")
    assert line.startswith("nstore put: Expected a key of '/'-separated names")
    assert line.endswith("Got 'a/../../escape' instead: it has a '.' or '..' name.")
    assert not (tmp_path.parent / "escape").exists()
    assert nstore.ok("ls", "files").out == b""
