"""nstore get, put, rm and ls, through the installed command, on real stores."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore

EVERY_BYTE = bytes(range(256)) + b"\r\n\x00end"


def test_put_and_get_are_binary_safe(nstore: NStore, store_url: str) -> None:
    nstore.ok("put", store_url, "bin/all", input=EVERY_BYTE)
    assert nstore.ok("get", store_url, "bin/all").out == EVERY_BYTE
    nstore.ok("put", store_url, "bin/all", "-", input=b"")
    assert nstore.ok("get", store_url, "bin/all").out == b""


def test_put_from_a_file_and_get_to_a_file(nstore: NStore, store_url: str, tmp_path: Path) -> None:
    (tmp_path / "in.bin").write_bytes(EVERY_BYTE)
    nstore.ok("put", store_url, "k", str(tmp_path / "in.bin"))
    nstore.ok("get", store_url, "k", "-o", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == EVERY_BYTE


def test_get_json_gives_metadata(nstore: NStore, tmp_path: Path) -> None:
    store_url = "store.db"
    nstore.ok("put", store_url, "text", input="héllo".encode())
    nstore.ok("put", store_url, "bin", input=b"\xff\x00")
    assert json.loads(nstore.ok("get", store_url, "text", "--json").out) == {
        "key": "text",
        "size": 6,
        "sha256": hashlib.sha256("héllo".encode()).hexdigest(),
        "encoding": "utf-8",
        "value": "héllo",
    }
    binary = json.loads(nstore.ok("get", store_url, "bin", "--json").out)
    assert binary["encoding"] == "base64"
    assert binary["value"] == "/wA="


def test_a_missing_key_exits_1_with_one_line(nstore: NStore, store_url: str) -> None:
    nstore.ok("put", store_url, "present", input=b"")
    assert nstore.fails(1, "get", store_url, "nope") == "nstore get: not found: key 'nope'"


def test_debug_shows_the_traceback(nstore: NStore) -> None:
    store_url = "store.db"
    nstore.ok("put", store_url, "present", input=b"")
    result = nstore("get", store_url, "nope", "--debug")
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err
    assert result.error_lines[-1] == "nstore get: not found: key 'nope'"


def test_rm(nstore: NStore, tmp_path: Path) -> None:
    store_url = "store.db"
    for key in ("a", "b", "c"):
        nstore.ok("put", store_url, key, input=key.encode())
    nstore.ok("rm", store_url, "a", "b")
    assert nstore.ok("ls", store_url).text == "c\n"
    # A missing key is reported (exit 1) and the present ones are deleted all the same.
    nstore.ok("put", store_url, "a", input=b"a")
    assert nstore.fails(1, "rm", store_url, "a", "gone", "c") == "nstore rm: not found: key 'gone'"
    assert nstore.ok("ls", store_url).text == ""
    nstore.ok("rm", store_url, "-f", "gone", "also-gone")


def test_ls(nstore: NStore, tmp_path: Path) -> None:
    store_url = "store.db"
    for key, value in [("users/bob", b"12"), ("users/ada", b"1"), ("logs/1", b"123"), ("z", b"")]:
        nstore.ok("put", store_url, key, input=value)
    assert nstore.ok("ls", store_url).text == "logs/1\nusers/ada\nusers/bob\nz\n"
    assert nstore.ok("ls", store_url, "users/").text == "users/ada\nusers/bob\n"
    assert nstore.ok("ls", store_url, "users/", "--long").text == "1\tusers/ada\n2\tusers/bob\n"
    assert nstore.ok("ls", store_url, "users/", "-0").out == b"users/ada\0users/bob\0"
    unsorted = nstore.ok("ls", store_url, "--unsorted").text.split()
    assert sorted(unsorted) == ["logs/1", "users/ada", "users/bob", "z"]
    assert json.loads(nstore.ok("ls", store_url, "--json", "-l").out) == [
        {"key": "logs/1", "size": 3},
        {"key": "users/ada", "size": 1},
        {"key": "users/bob", "size": 2},
        {"key": "z", "size": 0},
    ]
    assert json.loads(nstore.ok("ls", store_url, "nothing/", "--json").out) == []


def test_ls_into_a_closed_pipe_is_quiet(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "big.db") as store:
        store.set_many((f"key/{i:06d}", b"") for i in range(20_000))  # far more than a pipe buffers
    process = nstore.popen("ls", "big.db", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"key/000000\n"
    process.stdout.close()  # as `nstore ls | head -1` does
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert err == b""


def test_bare_paths_are_relative_to_the_working_directory(nstore: NStore, tmp_path: Path) -> None:
    nstore.ok("put", "data.db", "k", input=b"in sqlite")
    nstore.ok("put", "files", "k", input=b"in files")
    assert (tmp_path / "data.db").is_file()
    assert (tmp_path / "files").is_dir()
    assert nstore.ok("get", f"sqlite://{tmp_path}/data.db", "k").out == b"in sqlite"
    assert nstore.ok("get", f"file://{tmp_path}/files", "k").out == b"in files"


def test_options_after_a_bare_path_are_options_not_part_of_the_name(nstore: NStore, tmp_path: Path) -> None:
    nstore.ok("put", "app.db?durability=full", "k", "-", input=b"v")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["app.db"]
    assert nstore.ok("get", "app.db?durability=full", "k").out == b"v"
    line = nstore.fails(2, "put", "notes?draft", "k", "-", input=b"v")
    assert "Unknown option 'draft' for a file store" in line
    assert "%3F" in line
    assert "memory://" in nstore.fails(2, "put", "memory:", "k", "-", input=b"v")
    # get opens read-only, and SQLite's read-only WAL rule leaves its -wal/-shm (docs/sqlite.md)
    names = {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert names - {"app.db-wal", "app.db-shm"} == {"app.db"}


def _get_on_a_terminal(nstore: NStore, *args: str) -> tuple[int, bytes, str]:
    """Run ``nstore get *args`` with stdout on a pseudo-terminal: exit code, what it showed, stderr."""
    code, shown, err = nstore.on_a_terminal("stdout", "get", *args)
    return code, shown, err.decode()


@pytest.mark.parametrize(
    "value", [bytes(range(256)), b"\x1b]0;title\x07", b"nul\x00byte", "caf\xe9".encode("latin-1")], ids=repr
)
def test_get_refuses_binary_output_to_a_terminal(nstore: NStore, tmp_path: Path, value: bytes) -> None:
    nstore.ok("put", "data.db", "bin", input=value)
    code, shown, err = _get_on_a_terminal(nstore, "data.db", "bin")
    assert code == 2
    assert shown == b""
    assert err == (
        f"nstore get: the value of 'bin' is binary ({len(value):,} bytes) and stdout is a terminal: "
        "redirect it (> FILE), use -o FILE or --json, or --force to write it here anyway\n"
    )
    code, shown, _ = _get_on_a_terminal(nstore, "data.db", "bin", "--force")
    assert code == 0
    assert len(shown) >= len(value)  # the terminal turns \n into \r\n
    assert nstore.ok("get", "data.db", "bin").out == value  # a pipe gets the bytes as ever


def test_get_writes_text_to_a_terminal(nstore: NStore) -> None:
    nstore.ok("put", "data.db", "text", input="héllo\tworld\n".encode())
    code, shown, err = _get_on_a_terminal(nstore, "data.db", "text")
    assert (code, err) == (0, "")
    assert shown == "héllo\tworld\r\n".encode()


EVIL = "evil\x1b]0;pwned\x07\x1b[2J"


def test_ls_escapes_control_characters_on_a_terminal(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "data.db") as store:
        keys = [EVIL, "tab\there", "back\\slash", "plain/é", "rtl\u202e"]
        store.set_many(dict.fromkeys(keys, b"x"))
    code, shown, err = nstore.on_a_terminal("stdout", "ls", "data.db")
    assert (code, err) == (0, b"")
    assert b"\x1b" not in shown
    assert b"\x07" not in shown
    assert shown.decode().split("\r\n") == [
        "back\\\\slash",
        "evil\\x1b]0;pwned\\x07\\x1b[2J",
        "plain/é",
        "rtl\\u202e",
        "tab\\there",
        "",
    ]
    code, shown, _ = nstore.on_a_terminal("stdout", "ls", "data.db", "evil", "--long")
    assert (code, shown) == (0, b"1\tevil\\x1b]0;pwned\\x07\\x1b[2J\r\n")
    code, shown, _ = nstore.on_a_terminal("stdout", "ls", "data.db", "rtl", "--json")
    assert code == 0
    assert b"\xe2\x80\xae" not in shown
    assert json.loads(shown) == [{"key": "rtl\u202e"}]
    # A pipe gets the keys as they are.
    assert nstore.ok("ls", "data.db", "evil").out == EVIL.encode() + b"\n"
    assert json.loads(nstore.ok("ls", "data.db", "--json").out)[1] == {"key": EVIL}
