"""Run the installed ``nstore`` console script as a subprocess, as a user would."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Result:
    """What one run of ``nstore`` did."""

    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode()

    @property
    def error_lines(self) -> list[str]:
        return self.err.splitlines()


class NStore:
    """The installed ``nstore`` command, run in a working directory with a private state directory."""

    def __init__(self, exe: str, cwd: Path) -> None:
        self.exe = exe
        self.cwd = cwd
        self.env = {**os.environ, "XDG_STATE_HOME": str(cwd / ".state"), "PYTHONUNBUFFERED": "1"}
        self.env.pop("NSTORE_TOKEN", None)

    def __call__(self, *args: str, input: bytes = b"", timeout: float = 30.0) -> Result:
        done = subprocess.run(
            [self.exe, *args], input=input, capture_output=True, cwd=self.cwd, env=self.env, timeout=timeout
        )
        return Result(done.returncode, done.stdout, done.stderr.decode())

    def ok(self, *args: str, input: bytes = b"") -> Result:
        """Run and require exit code 0 and no traceback."""
        result = self(*args, input=input)
        assert result.code == 0, (args, result)
        assert "Traceback" not in result.err
        return result

    def fails(self, code: int, *args: str, input: bytes = b"") -> str:
        """Run, require exit ``code`` and exactly one line on stderr; return that line."""
        result = self(*args, input=input)
        assert result.code == code, (args, result)
        assert len(result.error_lines) == 1, result.err
        assert "Traceback" not in result.err
        return result.error_lines[0]

    def interrupt_when(
        self, started: Callable[[], bool], sig: signal.Signals, *args: str, **popen: object
    ) -> tuple[int, bytes, bytes]:
        """Run ``nstore *args``, send ``sig`` as soon as ``started()`` is true; the exit code and output.

        ``popen`` goes to :class:`subprocess.Popen` (``preexec_fn=ignore_sigint``, say).
        """
        process = self.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
        deadline = time.monotonic() + 30
        while not started():
            assert time.monotonic() < deadline, f"nstore {args[0]} never got going"
            assert process.poll() is None, process.communicate()
            time.sleep(0.001)
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
        return process.returncode, out, err

    def on_a_terminal(self, stream: str, *args: str) -> tuple[int, bytes, bytes]:
        """Run ``nstore *args`` with ``stream`` ("stdout" or "stderr") on a pseudo-terminal.

        Return the exit code, what the terminal showed, and the bytes of the other stream.
        """
        other = "stderr" if stream == "stdout" else "stdout"
        leader, follower = pty.openpty()
        try:
            process = self.popen(*args, **{stream: follower, other: subprocess.PIPE})
            os.close(follower)
            piped = b"".join(part or b"" for part in process.communicate(timeout=30))
            shown = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the terminal has no writer left
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(leader)
        return process.returncode, shown, piped

    def popen(self, *args: str, **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # type: ignore[call-overload,no-any-return]  # kwargs pass through
            [self.exe, *args], cwd=self.cwd, env=self.env, **kwargs
        )


def ignore_sigint() -> None:
    """For ``preexec_fn``: start the command with SIGINT ignored, as ``nohup`` or ``cmd &`` in a script do."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="session")
def nstore_exe() -> str:
    """The path of the installed console script; fails (never skips) when it is not installed."""
    beside = Path(sys.executable).parent / "nstore"
    exe = str(beside) if beside.exists() else shutil.which("nstore")
    if exe is None:
        pytest.fail("The nstore console script is not installed: run pip install -e . first.", pytrace=False)
    return exe


@pytest.fixture
def nstore(nstore_exe: str, tmp_path: Path) -> NStore:
    """``nstore(...)`` runs the command in ``tmp_path``."""
    return NStore(nstore_exe, tmp_path)


@pytest.fixture(params=["sqlite", "file"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty persistent store in ``tmp_path``: SQLite, then a FileStore directory."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/store.db"
    return f"file://{tmp_path}/files"
