"""`agent hook install | uninstall`: git hooks that review each commit and propose its message."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli.options import RepoOption

app = typer.Typer(
    help="Install or remove the git hooks (pre-commit review, prepare-commit-msg proposal).",
    no_args_is_help=True,
    add_completion=False,
)


def _root(repo: Path) -> Path:
    from agent.review.changes import repo_root

    return repo_root(repo.resolve())


@app.command("install")
def install(
    repo: RepoOption = Path("."),
    pre_commit: Annotated[
        bool, typer.Option("--pre-commit", help="Install the pre-commit hook (agent review --staged).")
    ] = False,
    prepare_msg: Annotated[
        bool, typer.Option("--prepare-commit-msg", help="Install the prepare-commit-msg hook.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="The pre-commit hook blocks on findings (review --strict).")
    ] = False,
    severity: Annotated[str | None, typer.Option("--severity", help="Blocking threshold with --strict.")] = None,
) -> None:
    """Write the hooks (both when neither flag is given); existing hooks are kept and chained."""
    from agent.errors import UsageError
    from agent.review.hooks import HOOKS
    from agent.review.hooks import install as do_install

    names = [n for n, wanted in zip(HOOKS, (pre_commit, prepare_msg), strict=True) if wanted] or list(HOOKS)
    args = (["--strict"] if strict else []) + (["--severity", severity] if severity else [])
    if severity and severity not in ("info", "low", "medium", "high", "critical"):
        raise UsageError(f"--severity must be info, low, medium, high or critical, not {severity!r}")
    for line in do_install(_root(repo), names, args):
        typer.echo(line)


@app.command("uninstall")
def uninstall(
    repo: RepoOption = Path("."),
) -> None:
    """Remove agent's hooks and restore the hooks they replaced."""
    from agent.review.hooks import uninstall as do_uninstall

    for line in do_uninstall(_root(repo)) or ["no agent hooks installed"]:
        typer.echo(line)


@app.command("message", hidden=True)
def message(
    message_file: Annotated[Path, typer.Argument(help="The commit message file git passes to the hook.")],
    source: Annotated[str, typer.Argument(help="Where the message comes from (git's second hook argument).")] = "",
    commit: Annotated[str, typer.Argument(help="The commit amended, if any.")] = "",
) -> None:
    """prepare-commit-msg: propose a message for the staged change when the user has not written one."""
    from agent.config import load_config
    from agent.errors import AgentError
    from agent.review.message import propose

    try:
        root = _root(Path("."))
        propose(root, load_config(root), message_file if message_file.is_absolute() else root / message_file, source)
    except (AgentError, OSError) as exc:
        raise AgentError(f"no commit message proposed: {exc}") from exc
