"""nstore completion bash: the script loads in bash and completes commands and options."""

from __future__ import annotations

import subprocess

from tests.cli.conftest import NStore


def _complete(script: str, *words: str) -> list[str]:
    program = (
        f"{script}\n"
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _nstore; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    command = ["bash", "--norc", "-c", program]
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
    return done.stdout.split()


def test_bash_completion(nstore: NStore) -> None:
    script = nstore.ok("completion", "bash").text
    assert script.rstrip().endswith("complete -o filenames -F _nstore nstore")
    assert _complete(script, "nstore", "co") == ["copy", "completion"]
    assert _complete(script, "nstore", "copy", "--re") == ["--restart"]
    assert _complete(script, "nstore", "serve", "--read") == ["--read-only", "--read-only-token"]
