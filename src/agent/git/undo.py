"""Exact undo of a chat turn's file changes, from git tree snapshots taken before and after the turn.

A turn is recorded as {"before": tree, "after": tree, "paths": [...], "head_before": sha, "head_after": sha}
(tree ids from `agent.git.plumbing.snapshot_tree`). Undo puts every path back to its `before` content, but only
when the file still matches `after`: the user's later edits are never overwritten. When the turn's edits were
committed (agent commits, see agent.git.commits) and HEAD has not moved since, HEAD goes back to `head_before`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from agent.atomic import atomic_write_bytes
from agent.errors import AgentError
from agent.git.commits import head, trailer_of
from agent.git.plumbing import changed_paths, git, snapshot_tree


def record_turn(root: Path, before: str, head_before: str | None = None) -> dict[str, Any] | None:
    """Snapshot the tree after a turn; return the undo record, or None when nothing changed."""
    after = snapshot_tree(root)
    paths = changed_paths(root, before, after)
    if not paths:
        return None
    return {"before": before, "after": after, "paths": paths, "head_before": head_before, "head_after": head(root)}


def _uncommit(root: Path, record: dict[str, Any]) -> None:
    """Move HEAD back over the turn's agent commits, if HEAD is still where the turn left it."""
    old, new = record.get("head_before"), record.get("head_after")
    if not old or not new or old == new or head(root) != new:
        return
    commits = git(root, "rev-list", f"{old}..{new}").split()
    if not commits or not all(trailer_of(root, c) for c in commits):
        return
    git(root, "update-ref", "-m", "agent: undo chat turn", "HEAD", old, new)
    git(root, "reset", "-q", "--", *record["paths"])


def _blob(root: Path, tree: str, path: str) -> bytes | None:
    """The content of `path` in `tree`, or None when the tree does not have it."""
    if not git(root, "ls-tree", tree, "--", path).strip():
        return None
    proc = subprocess.run(["git", "cat-file", "blob", f"{tree}:{path}"], cwd=root, capture_output=True)
    if proc.returncode != 0:
        raise AgentError(f"git cat-file failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _current(root: Path, path: str) -> bytes | None:
    target = root / path
    return target.read_bytes() if target.is_file() else None


def undo_turn(root: Path, record: dict[str, Any]) -> list[str]:
    """Restore the files a turn changed to their state before it; return the paths restored.

    Raises AgentError, changing nothing, when a file was modified after the turn.
    """
    paths: list[str] = record["paths"]
    moved = [p for p in paths if _current(root, p) != _blob(root, record["after"], p)]
    if moved:
        raise AgentError(f"not undone: changed since the agent's edit: {', '.join(moved)}")
    for path in paths:
        old = _blob(root, record["before"], path)
        if old is None:
            (root / path).unlink(missing_ok=True)
        else:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(root / path, old)
    _uncommit(root, record)
    return paths


def undo_last(root: Path, stack: list[dict[str, Any]]) -> list[str]:
    """Undo the newest recorded turn and pop it from `stack`; the one seam /undo goes through."""
    if not stack:
        raise AgentError("nothing to undo")
    restored = undo_turn(root, stack[-1])
    stack.pop()
    return restored
