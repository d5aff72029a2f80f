"""`agent undo`: revert the last agent commit exactly; a shell command's commit only with consent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.options import RepoOption

HELP = (
    "Revert the last agent commit exactly; refuses if you changed those files since. A shell command's commit "
    "(it holds whatever changed while the command ran) is reverted only after a yes, or with --force."
)


def undo(
    repo: RepoOption = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Revert a shell command's commit without asking.")] = False,
) -> None:
    """Revert the last agent commit."""
    from agent.errors import AgentError
    from agent.git.undo import apply_undo, consent_refusal, plan_undo
    from agent.workspace import find_repo_root

    root = find_repo_root(repo)
    plan = plan_undo(root)
    if plan.needs_consent and not force:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise AgentError(consent_refusal(plan))
        typer.echo(f"{plan.commit[:10]} {plan.subject}: these files changed while the command ran, by it or by")
        typer.echo("anyone else meanwhile (a file you saved in another shell would be here too):")
        typer.echo("\n".join(plan.lines()))
        if not typer.confirm("revert them?", default=False):
            typer.echo("nothing undone")
            raise typer.Exit(1)
    elif plan.left:
        typer.echo("\n".join(plan.lines()))
    typer.echo(apply_undo(root, plan))
