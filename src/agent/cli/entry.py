"""The console script: answers --version and cached --help before importing typer."""

from __future__ import annotations

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

        sys.exit(chat_main(args[1:]))
    from agent.cli import helpcache

    if helpcache.serve(args):
        return
    from agent.cli.app import main as cli_main

    cli_main(args)
