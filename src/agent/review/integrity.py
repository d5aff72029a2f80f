"""The test-integrity guard over the staged change, through one small seam (`agent.guard.check_patch`)."""

from __future__ import annotations

from pathlib import Path

from agent.review.changes import EMPTY_TREE, FileChange, git, read_blobs
from agent.review.model import Finding

MAX_CONTEXT_FILES = 400


def _context_tests(root: Path, base: str, changed: set[str]) -> dict[str, str]:
    """Unchanged test files at `base`: the guard compares source changes with the values they expect."""
    from agent.guard.paths import is_test_file, language_of

    names = git(root, "ls-tree", "-r", "-z", base).decode("utf-8", "surrogateescape").split("\0")
    wanted: dict[str, str] = {}
    for entry in names:
        meta, _, path = entry.partition("\t")
        if path and path not in changed and meta.split()[1:2] == ["blob"] and is_test_file(path) and language_of(path):
            wanted[path] = meta.split()[2]
        if len(wanted) >= MAX_CONTEXT_FILES:
            break
    blobs = read_blobs(root, list(wanted.values()))
    return {
        p: blobs[s].decode("utf-8", "replace") for p, s in wanted.items() if s in blobs and b"\0" not in blobs[s][:8000]
    }


def guard_findings(root: Path, base: str, changes: list[FileChange]) -> list[Finding]:
    """The guard's findings for the change."""
    from agent.guard import check_patch
    from agent.guard.paths import is_source_file

    old = {c.path: t for c in changes if (t := c.text("old")) is not None}
    new = {c.path: t for c in changes if (t := c.text("new")) is not None}
    if any(is_source_file(c.path) for c in changes) and base != EMPTY_TREE:
        context = _context_tests(root, base, {c.path for c in changes})
        old, new = context | old, context | new
    lines = {c.path: (c.text("new") or c.text("old") or "").splitlines() for c in changes}
    out = []
    for f in check_patch(old, new):
        text = lines.get(f.file, [])
        content = text[f.line - 1] if 0 < f.line <= len(text) else ""
        out.append(Finding(f.kind, f.file, f.line, f.severity, f.message, source="guard", content=content))
    return out


def ledger_findings(root: Path, base: str, staged: bool, errors: list[str]) -> list[Finding]:
    """The test ledger's findings (pytest run at `base` and at the change); a failure lands in `errors`."""
    from agent.errors import AgentError
    from agent.guard.trees import ledger_diff

    if base == EMPTY_TREE:
        return []
    try:
        found = ledger_diff(root, base, None, staged=staged, run=True)
    except AgentError as exc:
        errors.append(f"test ledger failed: {exc}")
        return []
    return [Finding(f.kind, f.file, f.line, f.severity, f.message, source="guard", content="") for f in found]
