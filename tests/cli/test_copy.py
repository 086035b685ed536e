"""nstore copy: every key, in batches, a summary; interrupted by SIGINT or SIGKILL then resumed."""

from __future__ import annotations

import contextlib
import json
import signal
from pathlib import Path

import pytest

from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore, ignore_sigint
from tests.cli.test_serve import serving


def _values(n: int) -> dict[str, bytes]:
    return {f"k/{i:05d}": f"value {i}".encode() * (1 + i % 7) for i in range(n)}


def test_copy_file_store_to_sqlite_with_a_json_summary(nstore: NStore, tmp_path: Path) -> None:
    data = _values(300)
    with FileStore(tmp_path / "files", durable=False) as src:
        src.set_many(data)
        src["other/x"] = b"not under the prefix"
    result = nstore.ok("copy", "files", "copy.db", "--json", "--batch-size", "64")
    summary = json.loads(result.out)
    assert summary["keys"] == summary["copied"] == 301
    assert summary["bytes"] == sum(map(len, data.values())) + len(b"not under the prefix")
    assert (summary["skipped"], summary["missing"], summary["resumed"]) == (0, 0, False)
    assert summary["source"] == f"file://{tmp_path}/files"
    assert summary["destination"] == f"sqlite://{tmp_path}/copy.db"
    with SQLiteStore(tmp_path / "copy.db") as dst:
        assert dst.get_many(list(data)) == data
        assert dst["other/x"] == b"not under the prefix"
    # Copying again is harmless: sets are idempotent.
    nstore.ok("copy", "files", "copy.db", "-q")


def test_copy_a_prefix_and_print_a_summary(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "src.db") as src:
        src.set_many({"users/ada": b"1", "users/bob": b"22", "logs/1": b"x"})
    result = nstore.ok("copy", "src.db", "dst", "--prefix", "users/")
    assert result.out == b""
    expected = f"copied 2 keys (3 B) from sqlite://{tmp_path}/src.db to file://{tmp_path}/dst in "
    assert result.err.startswith(expected)
    with FileStore(tmp_path / "dst") as dst:
        assert dict(dst) == {"users/ada": b"1", "users/bob": b"22"}


def test_copy_to_the_same_store_is_refused(nstore: NStore) -> None:
    assert nstore.fails(2, "copy", "a.db", "./a.db").startswith(
        "nstore copy: source and destination are the same store: sqlite://"
    )


def test_the_progress_bar_shows_on_a_terminal(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "src.db") as src:
        src.set_many(_values(50))
    code, shown, _ = nstore.on_a_terminal("stderr", "copy", "src.db", "dst.db")
    assert code == 0
    text = shown.decode()
    assert "copy  [########################] 100%  50/50 keys" in text
    assert "keys/s" in text
    assert "copied 50 keys" in text


def _interrupted_copy(
    nstore: NStore, tmp_path: Path, sig: signal.Signals, source: str = "src.db", **popen: object
) -> dict[str, bytes]:
    """Start a copy of 6,000 keys in small batches and send ``sig`` once a batch is done.

    The keys are in ``tmp_path / "src.db"``; ``source`` names that store, or a server of it.
    """
    data = _values(6000)
    checkpoint = tmp_path / "checkpoint.json"
    dst = f"sqlite://{tmp_path}/dst.db?durability=off"  # fast, and safe from a process crash
    args = ["copy", source, dst, "--checkpoint", str(checkpoint), "--json"]
    code, out, err = nstore.interrupt_when(checkpoint.exists, sig, *args, "--batch-size", "10", **popen)
    if sig == signal.SIGINT:
        assert code == 130
        assert out == b""
        lines = err.decode().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("nstore copy: interrupted after ")
        assert lines[0].endswith(" keys; run the same command again to resume")
    else:
        assert code == -signal.SIGKILL
    with SQLiteStore(tmp_path / "dst.db") as partial:
        copied = len(partial)
    assert 0 < copied < len(data), "interrupt the copy midway"
    saved = json.loads(checkpoint.read_text())
    assert saved["format"] == 2
    assert isinstance(saved["cursor"], str)
    assert 0 < saved["listed"] <= copied
    if source == "src.db":  # SQLite's cursor is the last key listed
        assert saved["cursor"] == sorted(data)[saved["listed"] - 1]
    # Resume (the batch size may change): the listing goes on from the cursor.
    summary = json.loads(nstore.ok(*args, "--batch-size", "1000").out)
    assert summary["resumed"] is True
    assert summary["skipped"] == saved["listed"]
    assert summary["skipped"] + summary["copied"] == summary["keys"] == len(data)
    assert not checkpoint.exists()
    return data


def _source(tmp_path: Path, data: dict[str, bytes]) -> None:
    with SQLiteStore(tmp_path / "src.db") as src:
        src.set_many(data)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_copy_resumes_with_no_key_missing_or_extra(
    nstore: NStore, tmp_path: Path, sig: signal.Signals
) -> None:
    _source(tmp_path, _values(6000))
    data = _interrupted_copy(nstore, tmp_path, sig)
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert list(dst) == sorted(data)
        assert dst.get_many(list(data)) == data


def test_an_interrupted_copy_over_http_resumes_from_the_servers_cursor(
    nstore: NStore, tmp_path: Path
) -> None:
    _source(tmp_path, _values(6000))
    with serving(nstore, "src.db", "--read-only") as (url, _):
        data = _interrupted_copy(nstore, tmp_path, signal.SIGKILL, source=url)
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert list(dst) == sorted(data)
        assert dst.get_many(list(data)) == data


def test_ctrl_c_stops_a_copy_started_with_sigint_ignored(nstore: NStore, tmp_path: Path) -> None:
    # A shell starts background jobs with SIGINT ignored; the command restores the default.
    _source(tmp_path, _values(6000))
    data = _interrupted_copy(nstore, tmp_path, signal.SIGINT, preexec_fn=ignore_sigint)
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert dst.get_many(list(data)) == data


#: Keys that a cursor or a URL could mangle: reserved and escaped characters, spaces, non-ASCII.
ODD = ["+", "&", "%", "%2F", "#", " ", "?", "=", ";", "ü", "日本", "\\", '"', "a+b c", "~", "..", "/"]


def _odd_values() -> dict[str, bytes]:
    # Each odd key next to plain ones, so that page boundaries fall on and around them.
    return {f"odd/{i:03d}{c}{j}": f"{i} {j}".encode() for i, c in enumerate(ODD) for j in range(3)}


@pytest.mark.parametrize("over", ["sqlite", "http"])
def test_keys_with_odd_characters_are_copied_once_across_page_boundaries(
    nstore: NStore, tmp_path: Path, over: str
) -> None:
    data = _odd_values()
    _source(tmp_path, data)
    with contextlib.ExitStack() as stack:
        source = "src.db"
        if over == "http":
            source = stack.enter_context(serving(nstore, "src.db", "--read-only"))[0]
        for size in ("1", "4", "7"):
            dst = f"dst-{size}.db"
            summary = json.loads(nstore.ok("copy", source, dst, "--batch-size", size, "--json").out)
            assert (summary["keys"], summary["copied"], summary["missing"]) == (len(data),) * 2 + (0,)
            with SQLiteStore(tmp_path / dst) as copied:
                assert dict(copied.items()) == data
        summary = json.loads(nstore.ok("copy", source, "part.db", "--prefix", "odd/003", "--json").out)
        assert summary["copied"] == 3
        with SQLiteStore(tmp_path / "part.db") as part:
            assert sorted(part) == sorted(k for k in data if k.startswith("odd/003"))


def test_an_interrupted_copy_of_odd_keys_resumes_at_the_cursor(nstore: NStore, tmp_path: Path) -> None:
    data = _odd_values()
    _source(tmp_path, data)
    checkpoint = tmp_path / "cp.json"
    args = ["copy", "src.db", "dst.db", "--checkpoint", str(checkpoint), "--json", "--batch-size", "5"]
    # Stopped after the fourth page: what a run killed there leaves (its checkpoint names page 5).
    keys = sorted(data)
    identity = {"source": f"sqlite://{tmp_path}/src.db", "destination": f"sqlite://{tmp_path}/dst.db"}
    record = {"format": 2, "copy": {**identity, "prefix": None}, "cursor": keys[19], "listed": 20}
    checkpoint.write_text(json.dumps({**record, "through": None}))
    summary = json.loads(nstore.ok(*args).out)
    assert (summary["skipped"], summary["copied"], summary["keys"]) == (20, len(data) - 20, len(data))
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert sorted(dst) == keys[20:]


def test_copy_help_says_existing_keys_are_overwritten(nstore: NStore, tmp_path: Path) -> None:
    text = " ".join(nstore.ok("copy", "--help").text.split())
    assert "A key that DST already has is overwritten with SRC's value" in text
    assert "keys only in DST are left as they are" in text
    # And so it does.
    with SQLiteStore(tmp_path / "src.db") as src, SQLiteStore(tmp_path / "dst.db") as dst:
        src.set_many({"a": b"new", "b": b"new"})
        dst.set_many({"a": b"old", "only-dst": b"kept"})
    nstore.ok("copy", "src.db", "dst.db", "-q")
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert dict(dst.items()) == {"a": b"new", "b": b"new", "only-dst": b"kept"}


def test_restart_ignores_the_checkpoint(nstore: NStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "src.db") as src:
        src.set_many({"a": b"1", "b": b"2", "c": b"3"})
    checkpoint = tmp_path / "cp.json"
    identity = {
        "source": f"sqlite://{tmp_path}/src.db",
        "destination": f"file://{tmp_path}/dst",
        "prefix": None,
    }
    checkpoint.write_text(json.dumps({"copy": identity, "last_key": "b"}))
    args = ["copy", "src.db", "dst", "--checkpoint", str(checkpoint), "--json"]
    summary = json.loads(nstore.ok(*args, "--restart").out)
    assert (summary["copied"], summary["skipped"]) == (3, 0)
    checkpoint.write_text(json.dumps({"copy": identity, "last_key": "b"}))
    summary = json.loads(nstore.ok(*args).out)
    assert (summary["copied"], summary["skipped"]) == (1, 2)
    # A checkpoint of another copy is refused, not ignored (nor overwritten) unless told to.
    other = json.dumps({"copy": {**identity, "prefix": "x"}, "last_key": "b"})
    checkpoint.write_text(other)
    assert nstore.fails(2, *args) == (
        f"nstore copy: cannot resume from the checkpoint {checkpoint}: it records another copy "
        f"(sqlite://{tmp_path}/src.db to file://{tmp_path}/dst, prefix 'x'); give this copy its own "
        "--checkpoint FILE, or use --restart to copy every key again (and overwrite that file)"
    )
    assert checkpoint.read_text() == other
    assert (json.loads(nstore.ok(*args, "--restart").out)["copied"]) == 3


def test_a_checkpoint_of_the_older_format_resumes_after_its_last_key(nstore: NStore, tmp_path: Path) -> None:
    # Format 1 recorded the last key copied, in sorted order; every key up to it is skipped,
    # on every page, and a checkpoint saved on the way keeps that bound.
    data = _values(40)
    _source(tmp_path, data)
    checkpoint = tmp_path / "cp.json"
    identity = {
        "source": f"sqlite://{tmp_path}/src.db",
        "destination": f"file://{tmp_path}/dst",
        "prefix": None,
    }
    keys = sorted(data)
    checkpoint.write_text(json.dumps({"copy": identity, "last_key": keys[24]}))
    args = ["copy", "src.db", "dst", "--checkpoint", str(checkpoint), "--json", "--batch-size", "3"]
    summary = json.loads(nstore.ok(*args).out)
    assert (summary["resumed"], summary["skipped"], summary["copied"], summary["keys"]) == (True, 25, 15, 40)
    with FileStore(tmp_path / "dst") as dst:
        assert sorted(dst) == keys[25:]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (
            "{not json",
            "cannot read it (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        ("[1, 2]", "it is not a checkpoint of nstore copy"),
        ("FORMAT3", "it has format 3, from a newer nstore (this one reads 1 and 2)"),
        ("BADCURSOR", "its fields are not a cursor, a count and a key"),
    ],
)
def test_a_checkpoint_that_cannot_be_used_is_refused_with_what_to_do(
    nstore: NStore, tmp_path: Path, content: str, why: str
) -> None:
    _source(tmp_path, {"a": b"1"})
    checkpoint = tmp_path / "cp.json"
    identity = {
        "source": f"sqlite://{tmp_path}/src.db",
        "destination": f"file://{tmp_path}/dst",
        "prefix": None,
    }
    if content == "FORMAT3":
        content = json.dumps({"format": 3, "copy": identity, "cursor": "a", "listed": 1})
    elif content == "BADCURSOR":
        content = json.dumps({"format": 2, "copy": identity, "cursor": 5, "listed": 1, "through": None})
    checkpoint.write_text(content)
    args = ["copy", "src.db", "dst", "--checkpoint", str(checkpoint)]
    assert nstore.fails(2, *args) == (
        f"nstore copy: cannot resume from the checkpoint {checkpoint}: {why}; give this copy its own "
        "--checkpoint FILE, or use --restart to copy every key again (and overwrite that file)"
    )
    assert not (tmp_path / "dst").exists()
    nstore.ok(*args, "--restart", "-q")
    assert not checkpoint.exists()
