"""`agent undo`: revert the last agent commit exactly."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.options import RepoOption

HELP = "Revert the last agent commit exactly; refuses if you changed those files since."


def undo(
    repo: RepoOption = Path("."),
) -> None:
    """Revert the last agent commit."""
    from agent.git.undo import undo_last_commit
    from agent.workspace import find_repo_root

    typer.echo(undo_last_commit(find_repo_root(repo)))
