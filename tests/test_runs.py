"""Worktree runs on real repositories: detached and parallel runs, apply with conflicts, SIGKILL and resume."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from conftest import agent_cli, git, init_repo

from agent.runs import registry

FILES = {"a.py": "a = 1\n", "b.py": "b = 1\n"}


def call(name: str, **arguments: object) -> dict:
    return {"name": name, "arguments": arguments}


def edit(path: str, old: str, new: str) -> dict:
    return call("edit_file", edits=[{"path": path, "old": old, "new": new}])


def script(path: Path, replies: list[dict]) -> str:
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


def runs_json(repo: Path) -> dict[str, dict]:
    proc = agent_cli("runs", "list", "--repo", str(repo), "--json")
    assert proc.returncode == 0, proc.stderr
    return {r["id"]: r for r in json.loads(proc.stdout)}


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def user_state(repo: Path) -> tuple[str, str, str]:
    status = git(repo, "status", "--porcelain", "--untracked-files=all", "--", ".", ":!.agent")
    return git(repo, "rev-parse", "HEAD"), status, (repo / "a.py").read_text()


def test_parallel_worktree_runs_on_one_file_then_apply_reports_the_conflict(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "b.py").write_text("b = 1  # user's uncommitted work\n")
    before = user_state(repo)
    ids = []
    for value in ("2", "3"):
        model = script(
            tmp_path / f"s{value}.json",
            [
                {"tool_calls": [call("run_shell", command="sleep 1")]},  # both runs are in flight at once
                {"content": f"a must be {value}", "tool_calls": [edit("a.py", "a = 1", f"a = {value}")]},
                {"tool_calls": [call("finish", summary=f"set a to {value}")]},
            ],
        )
        started = time.monotonic()
        proc = agent_cli("run", f"set a to {value}", "--repo", str(repo), "--model", model, "--yes", "--detach")
        assert proc.returncode == 0, proc.stderr
        assert time.monotonic() - started < 10
        ids.append(proc.stdout.strip())
    assert ids[0] != ids[1]
    assert {runs_json(repo)[i]["status"] for i in ids} <= {"running", "done"}
    wait_for(lambda: all(registry.status(repo, i) != "running" for i in ids))
    rows = runs_json(repo)
    assert [rows[i]["status"] for i in ids] == ["done", "done"]
    assert user_state(repo) == before  # the user's checkout was never touched
    for run_id, value in zip(ids, ("2", "3"), strict=True):
        assert git(repo, "show", f"agent/{run_id}:a.py") == f"a = {value}\n"
        assert git(repo, "show", f"agent/{run_id}:b.py") == "b = 1\n"
        assert (
            f"+a = {value}" in agent_cli("runs", "diff", ids[0] if value == "2" else ids[1], "--repo", str(repo)).stdout
        )
    first = agent_cli("runs", "apply", ids[0], "--repo", str(repo))
    assert first.returncode == 0, first.stderr
    assert (repo / "a.py").read_text() == "a = 2\n" and (
        repo / "b.py"
    ).read_text() == "b = 1  # user's uncommitted work\n"
    applied = git(repo, "rev-parse", "HEAD")
    second = agent_cli("runs", "apply", ids[1], "--repo", str(repo))
    assert second.returncode == 1
    assert (
        "conflict in a.py" in second.stderr
        and "nothing was changed" in second.stderr
        and "Traceback" not in second.stderr
    )
    assert git(repo, "rev-parse", "HEAD") == applied and (repo / "a.py").read_text() == "a = 2\n"
    # only the user's own change remains; .agent/.gitignore ignores itself
    assert git(repo, "status", "--porcelain", "--untracked-files=all").split() == ["M", "b.py"]
    assert len(git(repo, "worktree", "list").splitlines()) == 3  # no scratch worktree left behind


def test_tasks_file_runs_in_parallel_and_each_applies(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    tasks = tmp_path / "tasks.txt"
    tasks.write_text('first task\n\n# a comment\n{"task": "second task"}\nthird task\n')
    model = script(
        tmp_path / "s.json",
        [
            {"tool_calls": [call("run_shell", command='echo "$PWD" > "out-$(basename "$PWD").txt"')]},
            {"tool_calls": [call("finish", summary="wrote my file")]},
        ],
    )
    proc = agent_cli(
        "run", "--tasks", str(tasks), "--parallel", "2", "--repo", str(repo), "--model", model, "--yes", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    ended = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(e["status"] for e in ended) == ["done"] * 3
    rows = runs_json(repo)
    assert sorted(r["task"] for r in rows.values()) == ["first task", "second task", "third task"]
    for run_id in rows:
        assert git(repo, "ls-tree", "--name-only", f"agent/{run_id}").split() == ["a.py", "b.py", f"out-{run_id}.txt"]
        assert agent_cli("runs", "apply", run_id, "--repo", str(repo)).returncode == 0
    assert sorted(p.name for p in repo.glob("out-*.txt")) == sorted(f"out-{i}.txt" for i in rows)
    for run_id in rows:
        removed = agent_cli("runs", "rm", run_id, "--repo", str(repo))
        assert removed.returncode == 0, removed.stderr
    assert runs_json(repo) == {}
    assert git(repo, "branch", "--list", "agent/*") == "" and len(git(repo, "worktree", "list").splitlines()) == 1
    assert git(repo, "for-each-ref", "refs/agent") == ""


def test_sigkill_mid_run_then_resume(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    slow = "if [ -e partial.txt ]; then echo resumed; else echo partial > partial.txt; sleep 20; fi"
    model = script(
        tmp_path / "s.json",
        [
            {"tool_calls": [edit("a.py", "a = 1", "a = 2")]},
            {"tool_calls": [call("run_shell", command=slow)]},
            {"tool_calls": [edit("b.py", "b = 1", "b = 2")]},
            {"tool_calls": [call("finish", summary="both")]},
        ],
    )
    proc = agent_cli("run", "change a and b", "--repo", str(repo), "--model", model, "--yes", "--detach")
    run_id = proc.stdout.strip()
    run_dir = repo / ".agent" / "runs" / run_id
    wait_for(lambda: (run_dir / "events.jsonl").exists() and '"run_shell"' in (run_dir / "events.jsonl").read_text())
    time.sleep(0.3)
    os.kill(json.loads((run_dir / "pid.json").read_text())["pid"], signal.SIGKILL)
    wait_for(lambda: registry.status(repo, run_id) != "running", 10)
    assert runs_json(repo)[run_id]["status"] == "interrupted"
    assert git(repo, "show", f"agent/{run_id}:a.py") == "a = 2\n"  # the finished step is committed
    assert git(repo, "show", f"agent/{run_id}:b.py") == "b = 1\n"
    resumed = agent_cli("run", "--resume", run_id, "--repo", str(repo), "--json", timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert events[0]["type"] == "run_resumed" and events[-1]["status"] == "done"
    # the command the kill caught is not run again: the model is told it was interrupted (its changes committed)
    assert not any(e["type"] == "tool_result" and e["name"] == "run_shell" for e in events)
    saved = json.loads((run_dir / "checkpoint.json").read_text())
    assert any("stopped while this call ran" in str(m.get("content")) for m in saved["messages"])
    assert runs_json(repo)[run_id]["status"] == "done"
    branch = f"agent/{run_id}"
    assert git(repo, "show", f"{branch}:a.py") == "a = 2\n" and git(repo, "show", f"{branch}:b.py") == "b = 2\n"
    assert git(repo, "show", f"{branch}:partial.txt") == "partial\n"
    assert git(repo, "show", "--name-only", "--format=", f"{branch}~1").split() == ["partial.txt"]
    assert git(repo / ".agent" / "worktrees" / run_id, "status", "--porcelain", "--untracked-files=all") == ""
    subjects = git(repo, "log", "--format=%s", f"main..{branch}").splitlines()
    assert subjects == ["agent: edit b.py", "agent: keep work left by the interrupted step", "agent: edit a.py"]
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    types = [
        e["type"] for e in json.loads(agent_cli("runs", "show", run_id, "--repo", str(repo), "--json").stdout)["events"]
    ]
    assert types.count("run_started") == 1 and types.count("run_resumed") == 1 and types[-1] == "run_finished"
    again = agent_cli("run", "--resume", run_id, "--repo", str(repo))
    assert again.returncode == 2 and "is done" in again.stderr


def test_apply_refuses_to_overwrite_the_users_dirty_file(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    model = script(
        tmp_path / "s.json",
        [
            {"tool_calls": [edit("a.py", "a = 1", "a = 5")]},
            {"tool_calls": [call("finish", summary="ok")]},
        ],
    )
    proc = agent_cli("run", "set a", "--repo", str(repo), "--model", model, "--worktree", "--json")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout.splitlines()[-1])["run_id"]
    (repo / "a.py").write_text("a = 1  # mine\n")
    head = git(repo, "rev-parse", "HEAD")
    refused = agent_cli("runs", "apply", run_id, "--repo", str(repo))
    assert refused.returncode == 1 and "nothing was changed" in refused.stderr
    assert (repo / "a.py").read_text() == "a = 1  # mine\n" and git(repo, "rev-parse", "HEAD") == head
    shown = agent_cli("runs", "show", run_id, "--repo", str(repo))
    assert shown.returncode == 0 and "done" in shown.stdout
    missing = agent_cli("runs", "show", "nope", "--repo", str(repo))
    assert missing.returncode == 2 and "no such run: nope" in missing.stderr
