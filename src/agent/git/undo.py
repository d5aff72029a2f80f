"""Exact undo of a chat turn's file changes, from git tree snapshots taken before and after the turn.

A turn is recorded as {"before": tree, "after": tree, "paths": [...]} (tree ids from
`agent.git.plumbing.snapshot_tree`). Undo puts every path back to its `before` content, but only when the
file still matches `after`: the user's later edits are never overwritten.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from agent.atomic import atomic_write_bytes
from agent.errors import AgentError
from agent.git.plumbing import changed_paths, git, snapshot_tree


def record_turn(root: Path, before: str) -> dict[str, Any] | None:
    """Snapshot the tree after a turn; return the undo record, or None when nothing changed."""
    after = snapshot_tree(root)
    paths = changed_paths(root, before, after)
    return {"before": before, "after": after, "paths": paths} if paths else None


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
    return paths


def undo_last(root: Path, stack: list[dict[str, Any]]) -> list[str]:
    """Undo the newest recorded turn and pop it from `stack`; the one seam /undo goes through."""
    if not stack:
        raise AgentError("nothing to undo")
    restored = undo_turn(root, stack[-1])
    stack.pop()
    return restored
