"""Runs as things on disk: prepare (in place or in a worktree), execute, detach, status, diff, apply, remove.

A run lives in <repo>/.agent/runs/<id>/: run.json (what to run and where), events.jsonl, pid.json,
checkpoint.json and summary.json (written by the session). A worktree run works in
<repo>/.agent/worktrees/<id> on branch agent/<id>; the user's checkout is never touched until
`apply`, which replays the run's commits in a scratch worktree first so nothing is half-applied.
Run as `python -m agent.runs.registry REPO ID [--resume]` it executes a prepared run (the detached child).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.atomic import atomic_write_text
from agent.errors import AgentError, StoreError, UsageError
from agent.git.commits import commit_paths, dirty_paths, ensure_agent_ignored, git, head, identity_env, run_git
from agent.protocols import EventSink
from agent.trajectory import agent_dir, allocate_run_id, process_alive, process_token, read_events, runs_dir

RUN_FORMAT = 1
BRANCH_PREFIX = "agent/"


@dataclass
class RunInfo:
    """What run.json records about a run."""

    id: str
    task: str
    repo: str
    workdir: str
    branch: str | None = None
    base: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    applied: str | None = None


class ApplyConflict(AgentError):
    """A run's commits do not apply cleanly onto the current branch."""


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so a killed run stops like Ctrl-C: checkpointed and resumable."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_path(root: Path, run_id: str) -> Path:
    """The directory of an existing run; UsageError when there is none."""
    path = runs_dir(root) / run_id
    if not run_id or "/" in run_id or not path.is_dir():
        raise UsageError(f"no such run: {run_id}")
    return path


def save_info(root: Path, info: RunInfo) -> None:
    """Write run.json."""
    atomic_write_text(
        runs_dir(root) / info.id / "run.json", json.dumps({"format": RUN_FORMAT, **asdict(info)}, indent=2)
    )


def load_info(root: Path, run_id: str) -> RunInfo:
    """Read run.json; runs logged without one (older or REPL runs) are rebuilt from their first event."""
    path = run_path(root, run_id)
    try:
        data = json.loads((path / "run.json").read_text())
    except FileNotFoundError:
        first = next(iter(read_events(path)), {}) if (path / "events.jsonl").exists() else {}
        return RunInfo(run_id, str(first.get("task", "")), str(root), str(first.get("repo", root)))
    except (OSError, ValueError) as exc:
        raise StoreError(f"run {run_id}: unreadable run.json: {exc}") from exc
    if data.pop("format", None) != RUN_FORMAT:
        raise StoreError(f"run {run_id}: run.json format is not {RUN_FORMAT}")
    return RunInfo(**data)


def prepare(root: Path, task: str, overrides: dict[str, Any], worktree: bool) -> RunInfo:
    """Allocate a run id and, for a worktree run, its branch agent/<id> and worktree from HEAD."""
    ensure_agent_ignored(root)
    run_id = allocate_run_id(root)
    info = RunInfo(run_id, task, str(root), str(root), overrides=overrides, created=round(time.time(), 3))
    if worktree:
        base = head(root)
        if base is None:
            raise UsageError("a worktree run needs a commit to start from; this repository has none")
        path = root / ".agent" / "worktrees" / run_id
        for attempt in range(3):  # concurrent `worktree add`s can meet on a ref lock
            proc = run_git(root, "worktree", "add", "-q", "-b", BRANCH_PREFIX + run_id, str(path), base)
            if proc.returncode == 0:
                break
            if attempt == 2:
                raise AgentError(f"git worktree add failed: {proc.stderr.strip()}")
            time.sleep(0.2)
        agent_dir(path)  # the run's bookkeeping stays out of its commits (the .gitignore ignores itself too)
        info.workdir, info.branch, info.base = str(path), BRANCH_PREFIX + run_id, base
    save_info(root, info)
    return info


def status(root: Path, run_id: str) -> str:
    """running | done | failed | limits | error | interrupted | pending (prepared, not started).

    summary.json is written last and removed when a run resumes, so it wins over a live pid (a Ray
    worker or a REPL outlives its runs); without it, a gone process means the run was killed.
    """
    path = run_path(root, run_id)
    try:
        return str(json.loads((path / "summary.json").read_text())["status"])
    except (OSError, ValueError, KeyError):
        pass
    try:
        token = json.loads((path / "pid.json").read_text())
    except (OSError, ValueError):
        return "pending"
    return "running" if process_alive(token) else "interrupted"


def execute(root: Path, run_id: str, on_event: EventSink, resume: bool = False) -> Any:
    """Run a prepared run in this process (foreground, detached child or a Ray worker); return its RunResult."""
    from agent.config import load_config
    from agent.session import Session

    info = load_info(root, run_id)
    workdir = Path(info.workdir)
    if resume:
        (run_path(root, run_id) / "summary.json").unlink(missing_ok=True)
        left = sorted(dirty_paths(workdir)) if info.branch else []
        if left:  # the run's own worktree: whatever is uncommitted there is the killed step's work
            commit_paths(workdir, left, f"agent: keep work left by the interrupted step\n\nAgent-Run: {run_id}\n")
    session = Session(workdir, load_config(workdir, info.overrides))
    return session.run(info.task, on_event, run_id=run_id, log_root=root, resume=resume)


def launch(root: Path, run_id: str, resume: bool = False) -> subprocess.Popen[bytes]:
    """Start a prepared run as a detached child (own session; output to the run dir) and return it."""
    path = run_path(root, run_id)
    package_parent = str(Path(__file__).resolve().parents[2])  # the child imports this very `agent`
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}
    with (path / "stdout.log").open("ab") as out, (path / "stderr.log").open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.runs.registry", str(root), run_id, *(["--resume"] if resume else [])],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            close_fds=True,
        )
    atomic_write_text(path / "pid.json", json.dumps(process_token(proc.pid)))  # "running" from this moment on
    return proc


def run_many(root: Path, tasks: list[str], overrides: dict[str, Any], parallel: int, on_done: EventSink) -> list[str]:
    """Run tasks in their own worktrees, at most `parallel` at once; report each end to `on_done`."""
    infos = deque(prepare(root, t, overrides, worktree=True) for t in tasks)
    ids = [i.id for i in infos]
    active: dict[str, subprocess.Popen[bytes]] = {}
    while infos or active:
        while infos and len(active) < parallel:
            info = infos.popleft()
            active[info.id] = launch(root, info.id)
        time.sleep(0.1)
        for run_id, proc in list(active.items()):
            if proc.poll() is not None:
                del active[run_id]
                on_done(
                    {
                        "type": "run_ended",
                        "run_id": run_id,
                        "status": status(root, run_id),
                        "exit_code": proc.returncode,
                    }
                )
    return ids


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every run, oldest first, with its status."""
    base = runs_dir(root)
    rows = []
    for path in sorted(p for p in base.iterdir() if p.is_dir()) if base.exists() else []:
        try:
            info = load_info(root, path.name)
        except StoreError:
            continue
        rows.append(
            {
                "id": info.id,
                "status": status(root, info.id),
                "task": info.task,
                "branch": info.branch,
                "created": info.created,
                "applied": info.applied,
            }
        )
    return rows


def show(root: Path, run_id: str) -> dict[str, Any]:
    """A run's record, status, summary and event log."""
    path = run_path(root, run_id)
    summary_file = path / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    events = read_events(path) if (path / "events.jsonl").exists() else []
    return {**asdict(load_info(root, run_id)), "status": status(root, run_id), "summary": summary, "events": events}


def diff(root: Path, run_id: str) -> str:
    """The run's changes: base..branch for a worktree run, its commits' patches for an in-place run."""
    info = load_info(root, run_id)
    if info.branch:
        return git(root, "diff", info.base or "HEAD", info.branch)
    return git(root, "log", "-p", "--reverse", "--format=commit %H%n%n    %s%n", f"--grep=^Agent-Run: {run_id}$")


def _cherry_pick(root: Path, onto: str, info: RunInfo) -> str:
    """Replay the run's commits onto `onto` in a scratch worktree; return the new tip or raise ApplyConflict."""
    scratch = Path(tempfile.mkdtemp(prefix="agent-apply-"))
    try:
        git(root, "worktree", "add", "-q", "--detach", str(scratch), onto)
        proc = run_git(
            scratch,
            "cherry-pick",
            "--allow-empty",
            "--keep-redundant-commits",
            f"{info.base}..{info.branch}",
            env=identity_env(root),
        )
        if proc.returncode != 0:
            conflicts = git(scratch, "diff", "--name-only", "--diff-filter=U").split()
            run_git(scratch, "cherry-pick", "--abort")
            raise ApplyConflict(
                f"run {info.id} does not apply onto the current branch: conflict in "
                f"{', '.join(conflicts) or proc.stderr.strip()}; nothing was changed"
            )
        return git(scratch, "rev-parse", "HEAD").strip()
    finally:
        run_git(root, "worktree", "remove", "--force", str(scratch))
        shutil.rmtree(scratch, ignore_errors=True)
        run_git(root, "worktree", "prune")


def apply(root: Path, run_id: str) -> str:
    """Put a finished worktree run's commits onto the current branch, all or nothing; return a summary."""
    info = load_info(root, run_id)
    if not info.branch:
        raise UsageError(f"run {run_id} ran in place; its commits are already on its branch")
    if status(root, run_id) == "running":
        raise UsageError(f"run {run_id} is still running")
    count = int(git(root, "rev-list", "--count", f"{info.base}..{info.branch}").strip())
    if count == 0:
        return f"run {run_id} made no commits; nothing to apply"
    current = head(root)
    if current is None:
        raise UsageError("the current branch has no commit to apply onto")
    tip = _cherry_pick(root, current, info)
    proc = run_git(root, "merge", "--ff-only", "-q", tip)
    if proc.returncode != 0:
        raise ApplyConflict(f"cannot update your checkout: {(proc.stderr or proc.stdout).strip()}; nothing was changed")
    info.applied = tip
    save_info(root, info)
    return f"applied {count} commit(s) of run {run_id}; HEAD is now {tip[:10]}"


def remove(root: Path, run_id: str) -> str:
    """Delete a run: its worktree, branch, snapshot refs and log."""
    info = load_info(root, run_id)
    if status(root, run_id) == "running":
        raise UsageError(f"run {run_id} is still running; stop it first (kill the pid in its pid.json)")
    if info.branch:
        if Path(info.workdir).exists():
            git(root, "worktree", "remove", "--force", info.workdir)
        run_git(root, "worktree", "prune")
        run_git(root, "branch", "-D", info.branch)
    for ref in git(root, "for-each-ref", "--format=%(refname)", f"refs/agent/snapshots/{run_id}/").split():
        git(root, "update-ref", "-d", ref)
    shutil.rmtree(run_path(root, run_id))
    return f"removed run {run_id}" + (f" (worktree and branch {info.branch})" if info.branch else "")


def _print_event(event: dict[str, Any]) -> None:
    if event["type"] != "text_delta":
        print(json.dumps(event, default=str), flush=True)


def _main(argv: list[str]) -> int:
    """Entry point of a detached child: execute the run, events as JSON lines on stdout."""

    stop_on_sigterm()
    root, run_id, resume = Path(argv[0]), argv[1], "--resume" in argv[2:]
    try:
        result = execute(root, run_id, _print_event, resume)
    except AgentError as exc:
        print(f"agent: error: {exc}", file=sys.stderr)
        return 1
    return int(result.exit_code)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
