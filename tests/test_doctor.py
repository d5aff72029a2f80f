"""Environment checks: a repository without a git identity gets one line and exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import agent_cli, init_repo


def test_run_without_a_git_identity_is_one_line_and_exit_2(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    subprocess.run(["git", "config", "--unset", "user.name"], cwd=repo, check=True)
    subprocess.run(["git", "config", "--unset", "user.email"], cwd=repo, check=True)
    script = tmp_path / "s.json"
    script.write_text(json.dumps([{"tool": "finish", "args": {"summary": "done"}}]))
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "HOME": str(empty), "XDG_CONFIG_HOME": str(empty), "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1"}
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        env.pop(key, None)
    proc = agent_cli("run", "task", "--repo", str(repo), "--model", f"scripted:{script}", env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "user.name and user.email" in lines[0] and "git config" in lines[0], proc.stderr
