"""`agent guard`: name every change in a diff that games the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

HELP = (
    "Check a change for test tampering: removed or weakened tests, skips, narrowed test selection, "
    "hard-coded answers. REV..REV compares two commits, REV compares REV with the working tree "
    "(default HEAD), --staged checks the index. --collect / --run add the test ledger: pytest collects (or runs) "
    "the tests at the base and at the change and compares its own reports. Exit 0: clean, 1: findings, 2: bad input."
)


def _split(revs: str | None) -> tuple[str, str | None]:
    if not revs:
        return "HEAD", None
    if "..." in revs:
        left, right = revs.split("...", 1)
        return f"{left or 'HEAD'}...{right or 'HEAD'}", right or "HEAD"
    if ".." in revs:
        left, right = revs.split("..", 1)
        return left or "HEAD", right or "HEAD"
    return revs, None


def guard(  # noqa: PLR0913 (a typer command: one parameter per CLI option)
    revs: Annotated[str | None, typer.Argument(help="REV..REV, or REV to compare with the working tree.")] = None,
    staged: Annotated[bool, typer.Option("--staged", help="Check the staged changes against HEAD (or REV).")] = False,
    repo: Annotated[Path, typer.Option("--repo", "-r", help="Path inside the git repository.")] = Path("."),
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    collect: Annotated[bool, typer.Option("--collect", help="Ledger: compare the test ids pytest collects.")] = False,
    run: Annotated[bool, typer.Option("--run", help="Ledger: run the tests both ways, compare outcomes.")] = False,
    no_static: Annotated[bool, typer.Option("--no-static", help="Leave out the rules that read the diff.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per ledger pytest run.")] = 300.0,
) -> None:
    """Check a change for test tampering."""
    from agent.errors import AgentError, UsageError, exit_code
    from agent.guard import check_diff
    from agent.guard.gitio import git, toplevel

    try:
        base, head = _split(revs)
        if staged and head is not None:
            raise UsageError("--staged takes a single base revision, not a range")
        if "..." in base:
            left, right = base.split("...", 1)
            base = git(toplevel(repo), "merge-base", left, right).strip()
        ledger = "run" if run else "collect" if collect else None
        if no_static and ledger is None:
            raise UsageError("--no-static needs --collect or --run")
        findings = check_diff(repo, base, head, staged=staged, static=not no_static, ledger=ledger, timeout_s=timeout)
    except AgentError as exc:
        typer.echo(f"agent: error: {exc}", err=True)
        raise typer.Exit(exit_code(exc)) from None
    shown_head = head if head is not None else ("INDEX" if staged else "WORKTREE")
    if json_out:
        payload = {"findings": [f.to_dict() for f in findings], "base": base, "head": shown_head}
        typer.echo(json.dumps(payload, indent=2))
    else:
        for f in findings:
            typer.echo(f"{f.file}:{f.line}: {f.severity} {f.kind}: {f.message}")
        typer.echo(
            f"{len(findings)} finding(s) in {base}..{shown_head}"
            if findings
            else f"no findings in {base}..{shown_head}"
        )
    raise typer.Exit(1 if findings else 0)
