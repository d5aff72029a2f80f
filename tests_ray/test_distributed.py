"""agent.runs.distributed on a real local Ray instance. Not part of the main suite (needs the `ray` extra):

PYTHONPATH=src /work/tmp-venvs/ray/bin/python -m pytest tests_ray -q
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import ray

from agent.runs import registry as runs
from agent.runs.distributed import run_on_ray


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_worktree_runs_as_ray_tasks(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "T")
    (repo / "a.py").write_text("a = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    script = tmp_path / "s.json"
    script.write_text(
        json.dumps(
            [
                {
                    "tool_calls": [
                        {"name": "run_shell", "arguments": {"command": 'echo "$PPID" > "out-$(basename "$PWD").txt"'}}
                    ]
                },
                {"tool_calls": [{"name": "finish", "arguments": {"summary": "ok"}}]},
            ]
        )
    )
    overrides = {"backend": {"model": f"scripted:{script}"}, "permissions": {"approve_all": True}}
    try:
        ended = run_on_ray(repo, ["one", "two", "three"], overrides)
    finally:
        ray.shutdown()
    assert sorted(e["status"] for e in ended) == ["done"] * 3
    workers = set()
    for e in ended:
        assert runs.status(repo, e["run_id"]) == "done"  # the worker lives on; the run reads as finished
        names = git(repo, "ls-tree", "--name-only", f"agent/{e['run_id']}").split()
        assert names == ["a.py", f"out-{e['run_id']}.txt"]
        workers.add(int(git(repo, "show", f"agent/{e['run_id']}:out-{e['run_id']}.txt")))
        assert runs.apply(repo, e["run_id"]).startswith("applied 1 commit")
    assert os.getpid() not in workers  # the runs executed in Ray worker processes, not in the driver
    assert sorted(p.name for p in repo.glob("out-*.txt")) == sorted(f"out-{e['run_id']}.txt" for e in ended)
