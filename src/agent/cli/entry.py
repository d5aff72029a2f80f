"""The console script: answers --version and cached --help before importing typer."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Entry point of the `agent` command."""
    args = sys.argv[1:]
    if args in (["--version"], ["-V"]):
        from agent import __version__

        print(f"agent {__version__}")
        return
    if args[:1] == ["chat"] and not {"-h", "--help"} & set(args):
        from agent.cli.chatlaunch import main as chat_main

        _quiet_git()
        sys.exit(chat_main(args[1:]))
    from agent.cli import helpcache

    if helpcache.serve(args):
        return
    if not _READS_USER_GIT_CONFIG & set(args[:1]):
        _quiet_git()
    from agent.cli.app import main as cli_main

    cli_main(args)


# Commands that act on the user's own git set-up (where hooks live, what a commit will run) and start no model
# commands: they must see core.hooksPath and the rest as the user's git does.
_READS_USER_GIT_CONFIG = {"hook", "doctor"}


def _quiet_git() -> None:
    """The agent's own git commands (and the processes it starts) run no hooks and no fsmonitor."""
    from agent.git.plumbing import quiet_git_env

    os.environ.update(quiet_git_env(os.environ))
