"""One review: read the change, run the fast checks, then (optionally) the model; decide whether it blocks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from agent.config import AgentConfig
from agent.errors import AgentError
from agent.review import checks
from agent.review.changes import FileChange, base_rev, read_changes, unified_diff
from agent.review.model import Finding, Report, finding_id, severity_rank


@dataclass
class ReviewOptions:
    """What to review and how: staged or working tree, the model spec (None: checks only), strictness."""

    staged: bool = True
    model: str | None = None
    strict: bool = False
    severity: str = "high"
    run_tests: bool = False  # also take the test ledger: run pytest at the base and at the change


def fast_checks(root: Path, changes: list[FileChange], config: AgentConfig) -> tuple[list[Finding], list[str]]:
    """Layer 1, deterministic: guard, secrets, conflict markers, leftovers, size, syntax. Returns (findings, errors)."""
    from agent.review.integrity import guard_findings
    from agent.review.secrets import find_secrets
    from agent.review.syntax import syntax_errors

    findings: list[Finding] = []
    errors: list[str] = []
    for change in changes:
        findings += checks.file_size(change, config.review.max_file_kb)
        if change.new is None or change.binary:
            continue
        findings += checks.conflict_markers(change)
        findings += checks.debug_leftovers(change)
        findings += syntax_errors(change)
    try:
        findings += guard_findings(root, base_rev(root), changes)
    except AgentError as exc:  # e.g. git could not read the base: reported, never blocking unless configured
        errors.append(f"test-integrity guard failed: {exc}")
    try:
        findings += find_secrets(changes)
    except Exception as exc:  # detect-secrets failing on odd input must not stop the review
        errors.append(f"secret scan failed: {type(exc).__name__}: {exc}")
    return findings, errors


def _unique_ids(findings: list[Finding]) -> None:
    seen: dict[str, int] = {}
    for f in findings:
        count = seen.get(f.id, 0)
        seen[f.id] = count + 1
        if count:  # the same line text twice in a file: number the repeats
            f.id = finding_id(f.kind, f.file, f"{f.content}\0{count}")


def review(root: Path, config: AgentConfig, options: ReviewOptions) -> Report:
    """Review the change in `root`; infrastructure failures land in `report.errors` (MissingExtra is raised)."""
    from agent.review.memory import dismissed_ids

    start = time.monotonic()
    changes = read_changes(root, staged=options.staged)
    report = Report(mode="staged" if options.staged else "worktree", files=[c.path for c in changes])
    if changes:
        report.findings, report.errors = fast_checks(root, changes, config)
        if options.run_tests:
            from agent.review.integrity import ledger_findings

            report.findings += ledger_findings(root, base_rev(root), options.staged, report.errors)
        if options.model:
            _model_layer(root, changes, config, options, report)
    _unique_ids(report.findings)
    try:
        dismissed = dismissed_ids(root, config)
    except AgentError as exc:
        report.errors.append(f"dismissed findings unreadable: {exc}")
        dismissed = set()
    report.dismissed = sorted(f.id for f in report.findings if f.id in dismissed)
    report.findings = [f for f in report.findings if f.id not in dismissed]
    report.sort()
    if options.strict:
        report.threshold = options.severity
        report.blocked = any(severity_rank(f.severity) >= severity_rank(options.severity) for f in report.findings)
    report.duration_s = time.monotonic() - start
    return report


def _model_layer(
    root: Path, changes: list[FileChange], config: AgentConfig, options: ReviewOptions, report: Report
) -> None:
    from agent.review.llm import ModelReviewError, model_review
    from agent.review.model import ModelUsage

    assert options.model is not None
    if config.review.budget_usd <= 0:
        report.model = ModelUsage(model=options.model, status="skipped")
        return
    from agent.extras import require_model

    require_model(options.model)  # a missing extra is the user's to fix: exit 2, not a report error
    try:
        found, report.model = model_review(root, changes, unified_diff(root, options.staged), config, options.model)
    except ModelReviewError as exc:
        report.model = getattr(exc, "usage", ModelUsage(model=options.model, status="error"))
        report.errors.append(f"model review failed: {exc}")
        return
    report.findings += found


def exit_code(report: Report, config: AgentConfig) -> int:
    """1 when the review blocks (strict findings, or errors with block_on_error); else 0."""
    if report.blocked:
        return 1
    return 1 if report.errors and config.review.block_on_error else 0
