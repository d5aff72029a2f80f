"""The `agent` command line: parse, wire, render. No logic lives here.

`agent --version` and `agent --help` must start near bare-Python time: the console script is
`agent.cli.entry`, which answers them before this module (and typer) is imported.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, NoReturn

import typer

from agent import __version__
from agent.cli.commands import chat as chat_cmd
from agent.cli.commands import doctor as doctor_cmd
from agent.cli.commands import guard as guard_cmd
from agent.cli.commands import hook as hook_cmd
from agent.cli.commands import map as map_cmd
from agent.cli.commands import mcp as mcp_cmd
from agent.cli.commands import memory as memory_cmd
from agent.cli.commands import review as review_cmd
from agent.cli.commands import run as run_cmd
from agent.cli.commands import runs as runs_cmd
from agent.cli.commands import undo as undo_cmd
from agent.errors import AgentError, exit_code

app = typer.Typer(
    name="agent",
    help="A coding agent with durable memory: chat, headless runs, and a pre-commit reviewer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run", help=run_cmd.HELP)(run_cmd.run)
app.command("chat", help=chat_cmd.HELP)(chat_cmd.chat)
app.add_typer(runs_cmd.app, name="runs")
app.command("undo", help=undo_cmd.HELP)(undo_cmd.undo)
app.command("guard", help=guard_cmd.HELP)(guard_cmd.guard)
app.command("map", help=map_cmd.HELP)(map_cmd.map_command)
app.command("doctor", help=doctor_cmd.HELP)(doctor_cmd.doctor)
app.command("review", help=review_cmd.HELP)(review_cmd.review)
app.add_typer(hook_cmd.app, name="hook")
app.add_typer(memory_cmd.app, name="memory", help=memory_cmd.HELP)
app.add_typer(mcp_cmd.app, name="mcp", help=mcp_cmd.HELP)


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
    """Run the typer app (agent.cli.entry answers --version and cached --help before this is imported)."""
    from agent.cli import helpcache

    args = sys.argv[1:] if argv is None else argv
    try:
        with helpcache.recording(args):
            return app(args=args, prog_name="agent", standalone_mode=True)
    except AgentError as exc:  # the one mapping from an error to one line and an exit code
        if os.environ.get("AGENT_DEBUG"):
            raise
        typer.echo(f"agent: error: {exc}", err=True)
        raise SystemExit(exit_code(exc)) from None

