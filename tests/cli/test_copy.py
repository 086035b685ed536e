"""nstore copy: every key, in batches, a summary; interrupted by SIGINT or SIGKILL then resumed."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from nstore.stores.file import FileStore
from nstore.stores.sqlite import SQLiteStore
from tests.cli.conftest import NStore, ignore_sigint


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
    nstore: NStore, tmp_path: Path, sig: signal.Signals, **popen: object
) -> dict[str, bytes]:
    """Start a copy of 6,000 keys in small batches and send ``sig`` once a batch is done."""
    data = _values(6000)
    with SQLiteStore(tmp_path / "src.db") as src:
        src.set_many(data)
    checkpoint = tmp_path / "checkpoint.json"
    dst = f"sqlite://{tmp_path}/dst.db?durability=off"  # fast, and safe from a process crash
    args = ["copy", "src.db", dst, "--checkpoint", str(checkpoint), "--json"]
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
    last = json.loads(checkpoint.read_text())["last_key"]
    assert last < max(data)
    # Resume (the batch size may change): the keys up to the checkpoint are skipped, the rest copied.
    summary = json.loads(nstore.ok(*args, "--batch-size", "1000").out)
    assert summary["resumed"] is True
    assert summary["skipped"] == sorted(data).index(last) + 1
    assert summary["skipped"] + summary["copied"] == summary["keys"] == len(data)
    assert not checkpoint.exists()
    return data


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_copy_resumes_with_no_key_missing_or_extra(
    nstore: NStore, tmp_path: Path, sig: signal.Signals
) -> None:
    data = _interrupted_copy(nstore, tmp_path, sig)
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert list(dst) == sorted(data)
        assert dst.get_many(list(data)) == data


def test_ctrl_c_stops_a_copy_started_with_sigint_ignored(nstore: NStore, tmp_path: Path) -> None:
    # A shell starts background jobs with SIGINT ignored; the command restores the default.
    data = _interrupted_copy(nstore, tmp_path, signal.SIGINT, preexec_fn=ignore_sigint)
    with SQLiteStore(tmp_path / "dst.db") as dst:
        assert dst.get_many(list(data)) == data


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
    # A checkpoint of another copy is not used.
    checkpoint.write_text(json.dumps({"copy": {**identity, "prefix": "x"}, "last_key": "b"}))
    summary = json.loads(nstore.ok(*args).out)
    assert (summary["copied"], summary["skipped"]) == (3, 0)
