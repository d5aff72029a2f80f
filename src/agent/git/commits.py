"""Git safety for the agent's edits: commits holding only the agent's changes, shell snapshots (undo: agent.git.undo).

Everything goes through the git binary's plumbing rather than gitpython: a commit is built in a
throw-away index (GIT_INDEX_FILE) from HEAD plus the agent's paths, so the user's index, staged work
and uncommitted changes are never read into a commit, reset, stashed or overwritten, and HEAD moves
by compare-and-swap (`update-ref NEW OLD`). gitpython would wrap the same binary with more surface
and its own index handling, which is exactly what must not touch the user's index.

Commits happen after each successful tool call of kind edit, shell or test (agent.tools.Effect),
not at the end of a step: every commit is one action, so undo is exact at that grain, any file that
is dirty when the agent is about to edit it can only be the user's, and a killed run loses at most
the action in flight.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config import GitConfig
from agent.errors import GitError
from agent.git.plumbing import EMPTY_TREE, leave_out_secret_files
from agent.protocols import Decision, Event, EventSink, ToolCall, ToolResult
from agent.redact import redact

if TYPE_CHECKING:
    from agent.toolchain import CallContext

TRAILER = "Agent-Run"
ACTION_TRAILER = "Agent-Action"  # edit: the agent's edit tools wrote it; shell: it changed while a command ran
SNAPSHOT_REFS = "refs/agent/snapshots"
ZERO = "0" * 40


def run_git(
    root: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git with literal pathspecs and return the completed process (never raises on a git failure)."""
    full = {**os.environ, **(env or {}), "GIT_LITERAL_PATHSPECS": "1", "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, errors="surrogateescape", env=full, input=stdin
    )


def git(root: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    """Run git (literal pathspecs) and return stdout; raise GitError with git's message on failure."""
    proc = run_git(root, *args, env=env, stdin=stdin)
    if proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: {(proc.stderr or proc.stdout).strip()}")
    return proc.stdout


def head(root: Path) -> str | None:
    """The commit HEAD points at, or None in a repository without commits."""
    proc = run_git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}")
    return proc.stdout.strip() or None


def identity_env(root: Path) -> dict[str, str]:
    """Author/committer variables: the user's identity when configured, else a neutral agent one."""
    if run_git(root, "var", "GIT_COMMITTER_IDENT").returncode == 0:
        return {}
    return {
        "GIT_AUTHOR_NAME": "agent",
        "GIT_AUTHOR_EMAIL": "agent@localhost",
        "GIT_COMMITTER_NAME": "agent",
        "GIT_COMMITTER_EMAIL": "agent@localhost",
    }


def ensure_agent_ignored(root: Path) -> None:
    """Make `.agent/.gitignore` ignore run logs, sessions, caches and worktrees."""
    from agent.trajectory import agent_dir

    agent_dir(root)


def dirty_paths(root: Path, paths: list[str] | None = None) -> set[str]:
    """Paths whose index or work-tree state differs from HEAD, untracked files included."""
    args = ["status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all"]
    out = git(root, *args, *(["--", *paths] if paths else []))
    return {entry[3:] for entry in out.split("\0") if len(entry) > 3}


@functools.cache
def _sweep_index_dirs() -> None:
    """Once per process: remove the throw-away index folders of agent processes that died (a kill -9)."""
    for path in Path(tempfile.gettempdir()).glob("agent-index-*-*"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def temp_index(root: Path, seed: str | None = None) -> Iterator[dict[str, str]]:
    """An environment with a throw-away index: a copy of the real one (`seed="copy"`), a tree, or empty."""
    if Path("/proc/self").exists():
        _sweep_index_dirs()
    with tempfile.TemporaryDirectory(prefix=f"agent-index-{os.getpid()}-") as tmp:
        index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        if seed == "copy":
            real = Path(git(root, "rev-parse", "--git-path", "index").strip())
            real = real if real.is_absolute() else root / real
            if real.exists():
                shutil.copyfile(real, index)  # keeps stat data, so `add -A` rehashes only what changed
        elif seed:
            git(root, "read-tree", seed, env=env)
        yield env


def work_tree(root: Path) -> str:
    """The whole work tree (untracked files too, .gitignore respected) as a tree object id."""
    with temp_index(root, "copy") as env:
        git(root, "add", "-A", "--", ".", env=env)
        leave_out_secret_files(root, {**os.environ, **env})  # .env, keys: never copied into a snapshot
        return git(root, "write-tree", env=env).strip()


def tree_of(root: Path, commit: str | None) -> str:
    """The tree of a commit (the empty tree for None)."""
    return git(root, "rev-parse", f"{commit}^{{tree}}").strip() if commit else EMPTY_TREE


def diff_names(root: Path, a: str, b: str) -> list[str]:
    """Paths that differ between two trees or commits."""
    out = git(root, "diff", "--name-only", "--no-renames", "-z", a, b)
    return sorted(p for p in out.split("\0") if p)


def _not_ignored(root: Path, paths: list[str]) -> list[str]:
    proc = run_git(root, "check-ignore", "-z", "--stdin", stdin="\0".join(paths))
    ignored = set(proc.stdout.split("\0")) if proc.returncode == 0 else set()
    return [p for p in paths if p not in ignored]


def commit_paths(root: Path, paths: list[str], message: str) -> str | None:
    """Commit the work-tree state of exactly `paths` on top of HEAD; None when nothing changed.

    The user's real index is then brought in line for these paths only (they were clean before).
    """
    message = redact(message)  # its body quotes the model's text and the task
    parent = head(root)
    known = set(diff_names(root, EMPTY_TREE, parent)) if parent else set()
    paths = _not_ignored(root, sorted({p for p in paths if (root / p).exists() or p in known}))
    if not paths:
        return None
    with temp_index(root, parent) as env:
        git(root, "add", "-A", "--", *paths, env=env)
        tree = git(root, "write-tree", env=env).strip()
    if tree == tree_of(root, parent):
        return None
    env = identity_env(root)
    commit = git(
        root, "commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-", env=env, stdin=message
    ).strip()
    git(root, "update-ref", "-m", "agent: commit", "HEAD", commit, parent or ZERO)
    git(root, "reset", "-q", "--", *paths)
    return commit


def save_snapshot(root: Path, ref: str, tree: str, message: str) -> str:
    """Keep a work-tree tree reachable under `ref` (a commit whose parent is HEAD); return the commit."""
    parent = head(root)
    commit = git(
        root, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", redact(message), env=identity_env(root)
    ).strip()
    git(root, "update-ref", ref, commit)
    return commit


def trailer_of(root: Path, commit: str) -> str:
    """The Agent-Run trailer's value of a commit ('' when it is not the agent's)."""
    return git(root, "log", "-1", f"--format=%(trailers:key={TRAILER},valueonly)", commit).strip()


@dataclass
class GitGuard:
    """The git-safety hook of the tool chain: refuses or asks before touching the user's dirty files,
    commits each edit through a private index, snapshots the work tree around shell and test commands."""

    root: Path
    config: GitConfig
    run_id: str
    task: str
    emit: EventSink
    allowed_dirty: set[str] = field(default_factory=set)
    reason: str = ""
    snapshots: int = 0
    unborn_start: str | None = None  # a repository without commits at the start: the work tree's tree then
    intent: Path | None = None  # where the action in flight is recorded (the run's intent.json), for --resume
    in_flight: dict[str, Any] = field(default_factory=dict)  # on --resume: the record recover() found

    def _intend(self, record: dict[str, object]) -> None:
        """Record an action before it changes files, so a run killed before its commit can be recovered."""
        if self.intent is not None:
            from agent.atomic import atomic_write_text

            atomic_write_text(self.intent, json.dumps(record))

    def recover(self) -> list[str]:
        """On --resume: commit what the action in flight when the run stopped changed; returns those paths.

        `in_flight` keeps the record: which call it was and whether it had finished ("done")."""
        if self.intent is None or not self.intent.exists():
            return []
        try:
            record = json.loads(self.intent.read_text(encoding="utf-8", errors="surrogateescape"))
        except (OSError, ValueError):
            record = {}
        self.intent.unlink(missing_ok=True)
        self.in_flight = record if isinstance(record, dict) else {}
        record = self.in_flight
        if record.get("kind") == "edit":
            paths = sorted(dirty_paths(self.root, list(record.get("paths") or [])))
        elif record.get("kind") == "shell" and record.get("before"):
            before = str(record["before"])
            changed = diff_names(self.root, before, work_tree(self.root))
            users = self._users(set(diff_names(self.root, tree_of(self.root, head(self.root)), before)), before)
            paths = [p for p in changed if p not in users]
        else:
            paths = []
        if paths:
            self.commit(f"{record.get('kind')} {', '.join(paths)} (recovered on resume)", paths)
        return paths

    def _users(self, paths: set[str], tree: str | None = None) -> set[str]:
        """Of `paths` that differ from HEAD (in `tree`, default the work tree), those that are the user's changes.

        In a repository that had no commits when the run started, a file as it was at the start is not a
        change of the user's: it is the user's only version, kept in the start snapshot.
        """
        if self.unborn_start is None or not paths:
            return paths
        return paths & set(diff_names(self.root, self.unborn_start, tree or work_tree(self.root)))

    def observe(self, event: Event) -> None:
        """Remember the model's latest reply text: it is the "why" of the next commit."""
        if event["type"] == "model_reply":
            self.reason = str(event.get("content") or "")

    def before(self, call: ToolCall, ctx: CallContext) -> Decision:
        """Edits: the dirty-file rule; shell and test commands: snapshot the work tree first."""
        if ctx.kind == "edit":
            decision = self.check_dirty(ctx.paths)
            if decision.verdict == "allow":
                paths = [p for p in ctx.paths if p not in self.allowed_dirty]
                self._intend({"kind": "edit", "call": call.id, "paths": paths})
            return decision
        if ctx.kind in ("shell", "test"):
            ctx.scratch["git_before"] = self.before_shell(ctx.detail)
            ctx.scratch["git_started"] = time.time()
            if ctx.scratch["git_before"] is not None:
                self._intend({"kind": "shell", "call": call.id, "before": ctx.scratch["git_before"]})
        return Decision.allow()

    def after(self, call: ToolCall, ctx: CallContext, result: ToolResult) -> ToolResult:
        """Commit what the call changed (an edit only when it succeeded), noting user files left alone."""
        if ctx.kind == "edit" and result.ok:
            self.commit(f"edit {', '.join(ctx.paths)}", [p for p in ctx.paths if p not in self.allowed_dirty])
        elif ctx.kind in ("shell", "test"):
            note = self.after_shell(ctx.scratch.get("git_before"), ctx.detail, ctx.scratch.get("git_started"))
            if result.ok:
                result.output += note
        self._intend({"kind": "done", "call": call.id})  # committed: a resumed run must not run it again
        return result

    def check_dirty(self, paths: list[str]) -> Decision:
        """Refuse (or ask about) paths that hold uncommitted changes the agent did not make."""
        dirty = sorted(self._users(dirty_paths(self.root, paths)) - self.allowed_dirty) if paths else []
        mode = self.config.dirty_files
        if not dirty:
            return Decision.allow()
        names = ", ".join(dirty)
        refusal = (
            f"refusing to edit {names}: uncommitted changes that are not the agent's (git.dirty_files = {mode}); "
            "work on other files or ask the user to commit them first"
        )
        if mode == "allow":
            self.allowed_dirty.update(dirty)
            return Decision.allow()
        if mode == "ask":
            question = f"{names}: uncommitted changes of yours; let the agent edit (they stay uncommitted)?"
            return Decision.ask(f"{names} has uncommitted changes", "dirty_file", question, refusal,
                                on_approve=lambda: self.allowed_dirty.update(dirty))
        return Decision.deny(f"{names} has uncommitted changes", refusal)

    def commit(self, action: str, paths: list[str], kind: str = "edit", note: str = "") -> str | None:
        """Commit `paths` as one agent action (`kind` edit or shell, a trailer) and report a git_commit event."""
        if not self.config.commit or not paths:
            return None
        why = " ".join(self.reason.split())[:600] or "(no reason given by the model)"
        task = " ".join(self.task.split())[:200]
        subject = f"agent: {' '.join(action.split())}"
        subject = subject if len(subject) <= 72 else subject[:71] + "…"
        note = f"{note}\n\n" if note else ""
        message = f"{subject}\n\n{why}\n\nTask: {task}\n\n{note}{TRAILER}: {self.run_id}\n{ACTION_TRAILER}: {kind}\n"
        sha = commit_paths(self.root, paths, message)
        if sha:
            self.emit({"type": "git_commit", "commit": sha, "subject": subject, "paths": sorted(paths)})
        return sha

    def before_shell(self, command: str) -> str | None:
        """The work tree before a shell command, saved under a snapshot ref; None when neither is on."""
        if not (self.config.commit or self.config.snapshots):
            return None
        tree = work_tree(self.root)
        if self.config.snapshots:
            self.snapshots += 1
            ref = f"{SNAPSHOT_REFS}/{self.run_id}/{self.snapshots}"
            save_snapshot(self.root, ref, tree, f"agent snapshot before: {command[:200]}\n\n{TRAILER}: {self.run_id}\n")
        return tree

    def after_shell(self, before: str | None, command: str, started: float | None = None) -> str:
        """Commit what changed while a shell command ran, except files with user changes (noted for the model).

        Which process wrote a file cannot be known from here: a file the user saved in another shell meanwhile
        lands in the same commit. So the commit says so (trailer Agent-Action: shell, the time window), and
        `agent undo` asks before reverting such a commit (agent.git.undo)."""
        if before is None:
            return ""
        changed = diff_names(self.root, before, work_tree(self.root))
        if not changed:
            return ""
        differs = self._users(set(diff_names(self.root, tree_of(self.root, head(self.root)), before)), before)
        users = (differs | self.allowed_dirty) & set(changed)
        self.commit(f"shell `{command[:60]}`", [p for p in changed if p not in users], "shell", _window(started))
        if not users:
            return ""
        saved = (
            f" (their state before it: {SNAPSHOT_REFS}/{self.run_id}/{self.snapshots})" if self.config.snapshots else ""
        )
        names = ", ".join(sorted(users))
        return f"\nnote: the command changed files with uncommitted user changes, not committed: {names}{saved}"


def _window(started: float | None) -> str:
    """The commit-message note for what changed while a command ran."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if started else "?"
    return (
        f"Changed while the command ran ({stamp} to {time.strftime('%H:%M:%S')}): the command's writes, and any file"
        "\nsomeone else changed meanwhile (they cannot be told apart); `agent undo` asks before reverting them."
    )
