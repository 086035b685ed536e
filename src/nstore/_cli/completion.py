"""``nstore completion bash``: a bash completion script generated from the argument parser."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nstore._cli.common import EXIT_OK, add_command

__all__ = ["add_commands", "bash_script"]

_TEMPLATE = """\
# bash completion for nstore; load it with: eval "$(nstore completion bash)"
_nstore() {
    local cur="${COMP_WORDS[COMP_CWORD]}" opts
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "%(commands)s %(global)s" -- "$cur"))
        return
    fi
    case "${COMP_WORDS[1]}" in
%(cases)s
        *) opts="" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _nstore nstore
"""


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``nstore completion`` on the ``nstore`` subparsers ``sub``."""
    p = add_command(
        sub, common, "completion", "print a shell completion script",
        "Print a completion script for the shell; load it in ~/.bashrc.",
        'eval "$(nstore completion bash)"',
    )  # fmt: skip
    p.add_argument("shell", choices=["bash"], help="the shell (bash)")
    p.set_defaults(func=_completion)


def bash_script(parser: argparse.ArgumentParser) -> str:
    """The bash completion script for ``parser``'s commands and options."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands: dict[str, argparse.ArgumentParser] = dict(sub.choices)
    cases = []
    for name, command in commands.items():
        options = sorted(o for action in command._actions for o in action.option_strings)
        cases.append(f'        {name}) opts="{" ".join(options)}" ;;')
    global_options = sorted(o for action in parser._actions for o in action.option_strings)
    return _TEMPLATE % {
        "commands": " ".join(commands),
        "global": " ".join(global_options),
        "cases": "\n".join(cases),
    }


def _completion(args: argparse.Namespace) -> int:
    from nstore.cli import build_parser

    sys.stdout.write(bash_script(build_parser()))
    return EXIT_OK
