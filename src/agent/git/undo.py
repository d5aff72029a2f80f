"""The one undo: take back exactly what the agent wrote, by recorded content, never the user's work.

A change is {"path", "before", "after"}: git blob ids (None: the file was absent) of a file's content right
before and right after an agent action wrote it. Chat records one change per edit-tool call (the content
read around the call, not a diff of the whole work tree, so a file the user creates or edits meanwhile is not
the agent's); `agent undo` reads the changes from the last agent commit, which holds exactly the agent's
paths. Undo puts each path back to `before` only when it still holds `after` (and the index agrees), else it
refuses and changes nothing. When the agent's commits (Agent-Run trailer) are still at HEAD, HEAD moves back
over them by compare-and-swap; what a shell command changed stays in the work tree, as uncommitted changes.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.atomic import atomic_write_bytes
from agent.errors import AgentError
from agent.git.commits import ACTION_TRAILER, diff_names, git, head, trailer_of
from agent.protocols import Decision, ToolCall, ToolResult

if TYPE_CHECKING:
    from agent.toolchain import CallContext

Change = dict[str, Any]
UNDONE_REFS = "refs/agent/undone"  # commits `agent undo` took back, kept reachable


def store_blob(root: Path, data: bytes | None) -> str | None:
    """Write `data` into the object database (so undo can restore it); its blob id, or None for absent."""
    if data is None:
        return None
    proc = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=root, input=data, capture_output=True)
    if proc.returncode != 0:
        raise AgentError(f"git hash-object failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode().strip()


def read_blob(root: Path, blob: str) -> bytes:
    """The content of a blob."""
    proc = subprocess.run(["git", "cat-file", "blob", blob], cwd=root, capture_output=True)
    if proc.returncode != 0:
        raise AgentError(f"git cat-file failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def read_file(root: Path, path: str) -> bytes | None:
    """A work-tree file's bytes, or None when it is not a file."""
    target = root / path
    try:
        return target.read_bytes() if target.is_file() else None
    except OSError:
        return None


def record(root: Path, path: str, before: bytes | None, after: bytes | None) -> Change | None:
    """The change an agent action made to `path` (None when it made none)."""
    if before == after:
        return None
    return {"path": path, "before": store_blob(root, before), "after": store_blob(root, after)}


@dataclass
class EditRecorder:
    """A tool-chain hook, last in the chain: the bytes of each file an edit call touches, read right before
    the tool runs (after every approval) and right after it, kept as changes for undo."""

    root: Path
    changes: list[Change] = field(default_factory=list)
    calls: dict[str, list[tuple[str, bytes | None, bytes | None]]] = field(default_factory=dict)  # id -> edits

    def before(self, call: ToolCall, ctx: CallContext) -> Decision:
        """Read the files the edit will write."""
        if ctx.kind == "edit":
            ctx.scratch["recorded"] = {p: read_file(self.root, p) for p in ctx.paths}
        return Decision.allow()

    def after(self, call: ToolCall, ctx: CallContext, result: ToolResult) -> ToolResult:
        """Record what the edit wrote; `calls` keeps (path, before, after) for showing its diff."""
        for path, old in ctx.scratch.get("recorded", {}).items():
            new = read_file(self.root, path)
            change = record(self.root, path, old, new)
            if change is not None:
                self.changes.append(change)
                self.calls.setdefault(call.id, []).append((path, old, new))
        return result


def combine(changes: list[Change]) -> list[Change]:
    """One change per path, from its first `before` to its last `after`; paths that ended where they began drop."""
    merged: dict[str, Change] = {}
    for change in changes:
        first = merged.get(change["path"], change)
        merged[change["path"]] = {"path": change["path"], "before": first["before"], "after": change["after"]}
    return [c for _, c in sorted(merged.items()) if c["before"] != c["after"]]


def _current_blob(root: Path, path: str) -> str | None:
    data = read_file(root, path)
    if data is None:
        return None
    proc = subprocess.run(["git", "hash-object", "--stdin"], cwd=root, input=data, capture_output=True)
    return proc.stdout.decode().strip()


def moved_since(root: Path, changes: list[Change], head_after: str | None) -> list[str]:
    """Paths that no longer hold what the agent wrote (in the work tree, or staged differently)."""
    moved = {c["path"] for c in changes if _current_blob(root, c["path"]) != c["after"]}
    if head_after and head(root) == head_after and changes:
        moved |= set(_staged_since(root, head_after, [c["path"] for c in changes]))
    return sorted(moved)


def revert(root: Path, changes: list[Change], head_before: str | None, head_after: str | None) -> list[str]:
    """Put the changed paths back as they were before the agent wrote them; return the paths.

    Raises AgentError, changing nothing, when any of them changed since the agent wrote it.
    """
    changes = combine(changes)
    moved = moved_since(root, changes, head_after)
    if moved:
        raise AgentError(
            f"not undone: {', '.join(moved)} changed since the agent wrote it (by you or a command); "
            "nothing was changed: commit or discard that first"
        )
    for change in changes:
        target = root / change["path"]
        if change["before"] is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, read_blob(root, change["before"]))
    uncommit(root, head_before, head_after)
    return [c["path"] for c in changes]


def uncommit(root: Path, head_before: str | None, head_after: str | None) -> bool:
    """Move HEAD from `head_after` back to `head_before` when everything between is the agent's commits
    and HEAD has not moved since; the index follows for those paths, except a path the user staged
    differently since (that stays staged). True when HEAD moved."""
    if not head_before or not head_after or head_before == head_after or head(root) != head_after:
        return False
    commits = git(root, "rev-list", f"{head_before}..{head_after}").split()
    if not commits or not all(trailer_of(root, c) for c in commits):
        return False
    paths = diff_names(root, head_before, head_after)
    staged = set(_staged_since(root, head_after, paths))
    git(root, "update-ref", "-m", "agent: undo", "HEAD", head_before, head_after)
    follow = [p for p in paths if p not in staged]
    if follow:
        git(root, "reset", "-q", head_before, "--", *follow)
    return True


def _staged_since(root: Path, commit: str, paths: list[str]) -> list[str]:
    """Paths whose index entry differs from `commit`."""
    if not paths:
        return []
    out = git(root, "diff", "--cached", "--name-only", "--no-renames", "-z", commit, "--", *paths)
    return [p for p in out.split("\0") if p]


def commit_changes(root: Path, commit: str, parent: str) -> list[Change]:
    """The changes an agent commit holds: each path's blob in the parent and in the commit."""
    changes = []
    for path in diff_names(root, parent, commit):
        changes.append({"path": path, "before": _blob_at(root, parent, path), "after": _blob_at(root, commit, path)})
    return changes


def _blob_at(root: Path, commit: str, path: str) -> str | None:
    out = git(root, "ls-tree", "-z", commit, "--", path).split("\0")[0]
    return out.split()[2] if out else None


@dataclass
class UndoPlan:
    """What `agent undo` would do to the last agent commit: `changes` to revert, `left` paths (changed since)
    that it leaves alone. A shell command's commit (`action` shell, or older commits not marked edit) holds
    whatever changed while the command ran, perhaps the user's own work: reverting it needs consent."""

    commit: str
    parent: str
    subject: str
    action: str
    changes: list[Change]
    left: list[str]

    @property
    def needs_consent(self) -> bool:
        """True when it would revert files the agent's edit tools did not write."""
        return self.action != "edit" and bool(self.changes)

    def lines(self) -> list[str]:
        """What reverting does, one line per file."""
        out = []
        for c in self.changes:
            note = " (new in it)" if c["before"] is None else " (deleted in it)" if c["after"] is None else ""
            out.append(f"  {'delete ' if c['before'] is None else 'restore'} {c['path']}{note}")
        return out + [f"  leave   {p} (changed since: kept as it is)" for p in self.left]


def plan_undo(root: Path) -> UndoPlan:
    """Plan reverting the last agent commit; AgentError when there is none or an edit's file changed since."""
    commit = head(root)
    if commit is None or not trailer_of(root, commit):
        raise AgentError("nothing to undo: the last commit is not an agent commit")
    parents = git(root, "rev-list", "--parents", "-n", "1", commit).split()[1:]
    if len(parents) != 1:
        raise AgentError(f"cannot undo {commit[:10]}: it is a root or merge commit")
    changes = commit_changes(root, commit, parents[0])
    moved = moved_since(root, changes, commit)
    subject = git(root, "log", "-1", "--format=%s", commit).strip()
    action = action_of(root, commit, subject)
    if moved and action == "edit":  # one edit is one action: all of it goes back, or none
        raise AgentError(
            f"not undoing {commit[:10]}: you changed {', '.join(moved)} since; commit or discard that first"
        )
    kept = [c for c in changes if c["path"] not in moved]
    return UndoPlan(commit, parents[0], subject, action, kept, moved)


def action_of(root: Path, commit: str, subject: str) -> str:
    """edit or shell (Agent-Action trailer); a commit from before the trailer: edit only by its subject."""
    marked = git(root, "log", "-1", f"--format=%(trailers:key={ACTION_TRAILER},valueonly)", commit).strip()
    if marked:
        return marked.splitlines()[0]
    return "edit" if subject.startswith("agent: edit ") else "shell"


def apply_undo(root: Path, plan: UndoPlan) -> str:
    """Revert the planned changes, move HEAD back over the commit, keep it under refs/agent/undone."""
    if head(root) != plan.commit:
        raise AgentError(f"not undone: HEAD moved away from {plan.commit[:10]} meanwhile")
    git(root, "update-ref", f"{UNDONE_REFS}/{plan.commit}", plan.commit)  # nothing it held is ever lost
    paths = revert(root, plan.changes, plan.parent, plan.commit) if plan.changes else []
    if not plan.changes:
        uncommit(root, plan.parent, plan.commit)
    done = f"undid {plan.commit[:10]} {plan.subject} ({', '.join(paths) or 'no file reverted'})"
    if plan.left:
        done += f"; left alone, changed since: {', '.join(plan.left)}"
    return done + f"\nkept under {UNDONE_REFS}/: `git checkout {plan.commit[:10]} -- PATH` brings a file of it back"


def consent_refusal(plan: UndoPlan) -> str:
    """The one line `agent undo` answers without --force (or a yes) for a shell command's commit."""
    names = [c["path"] for c in plan.changes]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (
        f"not undone: {plan.commit[:10]} {plan.subject} holds what changed while a command ran ({shown}); "
        "a file you saved meanwhile would be in it too. Check with `git show --stat "
        f"{plan.commit[:10]}`, then `agent undo --force` reverts them"
    )


def undo_last_commit(root: Path, force: bool = False) -> str:
    """`agent undo`: revert the last agent commit exactly (HEAD moves back, its paths restored); refuse when
    unsafe. A shell command's commit needs `force` (the CLI asks in a terminal)."""
    plan = plan_undo(root)
    if plan.needs_consent and not force:
        raise AgentError(consent_refusal(plan))
    return apply_undo(root, plan)


def undo_turn(root: Path, turn: dict[str, Any]) -> list[str]:
    """Chat: take back one turn's recorded edits and its agent commits; return the paths restored."""
    return revert(root, turn.get("changes", []), turn.get("head_before"), turn.get("head_after"))


def undo_last(root: Path, stack: list[dict[str, Any]]) -> list[str]:
    """Undo the newest recorded turn and pop it from `stack`; the one seam /undo goes through."""
    if not stack:
        raise AgentError("nothing to undo")
    restored = undo_turn(root, stack[-1])
    stack.pop()
    return restored
