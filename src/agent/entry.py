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
    from agent import helpcache

    if helpcache.serve(args):
        return
    from agent.cli import main as cli_main

    cli_main(args)
