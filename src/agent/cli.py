"""The `agent` command line: parse, wire, render. No logic lives here.

`agent --version` and `agent --help` must start near bare-Python time, so this module imports only
typer at the top; `main()` answers --version before importing even that, and serves --help from a
cache of what typer rendered last time (see `agent.helpcache`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from agent import __version__
from agent.commands import memory as memory_cmd
from agent.commands import run as run_cmd
from agent.errors import AgentError, UsageError

app = typer.Typer(
    name="agent",
    help="A coding agent with durable memory: chat, headless runs, and a pre-commit reviewer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run", help=run_cmd.HELP)(run_cmd.run)
app.add_typer(memory_cmd.app, name="memory", help=memory_cmd.HELP)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """A coding agent with durable memory."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line to stderr and exit."""
    typer.echo(f"agent: error: {message}", err=True)
    raise typer.Exit(code)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        print(f"agent {__version__}")
        return 0
    from agent import helpcache

    if helpcache.serve(args):
        return 0
    try:
        with helpcache.recording(args):
            return app(args=args, prog_name="agent", standalone_mode=True)
    except AgentError as exc:  # only reached when a command forgot to translate
        if os.environ.get("AGENT_DEBUG"):
            raise
        fail(str(exc), 2 if isinstance(exc, UsageError) else 1)


def repo_option(default: Path = Path(".")) -> Any:
    """The shared --repo option."""
    return typer.Option("--repo", "-r", help="Path inside the git repository to work on.")
