"""`agent review`: review the staged change (or the working tree) before it is committed."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

HELP = (
    "Review the staged change (--staged) or the working tree: test-integrity guard, secrets, conflict markers, "
    "debug leftovers, large/binary files, syntax; then an optional capped model review. Advisory (exit 0) "
    "unless --strict finds something at or above --severity (exit 1)."
)
SEVERITY_NAMES = ("info", "low", "medium", "high", "critical")
_ID = re.compile(r"^rv-[0-9a-f]{10}$")


def review(  # noqa: PLR0913 (a typer command: one parameter per CLI option)
    repo: Annotated[Path, typer.Option("--repo", "-r", help="A path inside the git repository.")] = Path("."),
    staged: Annotated[
        bool,
        typer.Option("--staged", help="Review the staged change, read from the index (as a pre-commit hook does)."),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a finding is at or above --severity.")] = False,
    severity: Annotated[
        str | None, typer.Option("--severity", help="Blocking threshold for --strict: info|low|medium|high|critical.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (see docs/review-json.md).")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Model for the review layer (default: review.model; none: checks only)."),
    ] = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Run the fast checks only.")] = False,
    run_tests: Annotated[
        bool, typer.Option("--run", help="Also run the tests at the base and at the change and compare outcomes.")
    ] = False,
    dismiss: Annotated[
        str | None,
        typer.Option(
            "--dismiss", metavar="ID", help="Dismiss a finding: it becomes a memory note and is not reported again."
        ),
    ] = None,
    why: Annotated[
        str | None, typer.Option("--why", help="Why the finding is dismissed (required with --dismiss).")
    ] = None,
) -> None:
    """Review a change before it is committed."""
    from agent.config import load_config
    from agent.errors import UsageError
    from agent.review import ReviewOptions, exit_code
    from agent.review import review as run_review
    from agent.review.changes import repo_root

    hook_mode = os.environ.get("PRE_COMMIT") == "1"
    if severity is not None and severity not in SEVERITY_NAMES:
        raise UsageError(f"--severity must be one of {', '.join(SEVERITY_NAMES)}, not {severity!r}")
    root = repo_root(repo.resolve())
    config = load_config(
        root, {"review": {k: v for k, v in {"model": model, "strict_severity": severity}.items() if v}}
    )
    if dismiss is not None:
        _dismiss(root, config, dismiss, why or "")
        return
    options = ReviewOptions(
        staged=staged or hook_mode,
        model=None if no_model else config.review.model,
        strict=strict or config.review.strict,
        severity=config.review.strict_severity,
        run_tests=run_tests,
    )
    report = run_review(root, config, options)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(render_text(report, config.review.block_on_error))
    raise typer.Exit(exit_code(report, config))


def _dismiss(root: Path, config: Any, finding_id: str, why: str) -> None:
    from agent.errors import UsageError
    from agent.review import ReviewOptions, dismiss
    from agent.review import review as run_review

    if not _ID.match(finding_id):
        raise UsageError(f"not a finding id: {finding_id!r} (ids look like rv-1a2b3c4d5e)")
    found = None
    for staged in (True, False):
        report = run_review(root, config, ReviewOptions(staged=staged))
        found = found or next((f for f in report.findings if f.id == finding_id), None)
    note_id = dismiss(root, config, finding_id, why, found)
    typer.echo(f"dismissed {finding_id}: memory note {note_id}")


def _where(file: str, line: int) -> str:
    return f"{file}:{line}" if line else file


def render_text(report: Any, block_on_error: bool) -> str:
    """The human report: one line per finding, most severe first, then errors and the verdict."""
    count = len(report.findings)
    head = (
        f"agent review: {count} finding{'s' if count != 1 else ''} in {len(report.files)} "
        f"file{'s' if len(report.files) != 1 else ''} ({report.mode}, {report.duration_s:.2f}s)"
    )
    lines = [head]
    for f in report.findings:
        lines.append(f"  {f.severity:<8} {_where(f.file, f.line)}  {f.kind}: {f.message}  [{f.id}]")
    if report.dismissed:
        lines.append(
            f"  ({len(report.dismissed)} dismissed finding{'s' if len(report.dismissed) != 1 else ''} not shown)"
        )
    for error in report.errors:
        lines.append(
            f"agent review: {error} ({'blocking: review.block_on_error' if block_on_error else 'not blocking'})"
        )
    if report.model.status == "done":
        lines.append(
            f"agent review: model {report.model.model}: {report.model.tokens_in}+{report.model.tokens_out} tokens, "
            f"${report.model.cost_usd:.4f}, {report.model.duration_s:.1f}s"
        )
    if report.blocked:
        lines.append(
            f"agent review: commit blocked: findings at or above {report.threshold!r} (--strict). "
            "A false positive? agent review --dismiss ID --why TEXT"
        )
    return "\n".join(lines)
