"""`agent map`: show the repository map for a query within a token budget."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.options import RepoOption

HELP = "Show the ranked repository map (files and signatures) for a query, within a token budget."


def map_command(
    repo: RepoOption = Path("."),
    query: Annotated[str, typer.Option("--query", "-q", help="What you are looking for (task text, names).")] = "",
    focus: Annotated[list[str] | None, typer.Option("--focus", help="A file already in context (repeatable).")] = None,
    budget: Annotated[int, typer.Option("--budget", "-b", help="Most tokens the map may use (cl100k).")] = 1024,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the ranked repository map for a query."""
    from agent.errors import AgentError, UsageError

    try:
        if budget <= 0:
            raise UsageError(f"--budget must be a positive number of tokens, got {budget}")
        from agent.repomap import build_map
        from agent.workspace import find_repo_root

        root = find_repo_root(repo)
        focus_paths = [_in_repo(root, repo, f) for f in focus or []]
        result = build_map(root, query, focus_paths, budget)
    except AgentError as exc:
        if os.environ.get("AGENT_DEBUG"):
            raise
        typer.echo(f"agent: error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None
    if as_json:
        files = [{"path": p, "score": s, **result.why.get(p, {})} for p, s in result.files]
        typer.echo(json.dumps({"files": files, "tokens": result.tokens, "map": result.text}))
    else:
        typer.echo(result.text, nl=False)


def _in_repo(root: Path, repo: Path, path: str) -> str:
    """A --focus path as given relative to the cwd (or --repo), made relative to the repo root."""
    for base in (Path.cwd(), repo.resolve()):
        cand = (base / path).resolve()
        if cand.exists():
            try:
                return cand.relative_to(root).as_posix()
            except ValueError:
                continue
    return path
