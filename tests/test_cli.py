"""The command line: version, help, and one clear line with exit 2 for every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import agent_cli, init_repo

from agent import __version__


def test_version_and_help() -> None:
    assert agent_cli("--version").stdout.strip() == f"agent {__version__}"
    first = agent_cli("--help")
    second = agent_cli("--help")  # served from the help cache the first call wrote
    assert first.returncode == second.returncode == 0
    assert "run" in first.stdout and first.stdout == second.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no-such-provider-model-xyz"], "unknown model"),
        (["--model", "gguf:/nonexistent/model.gguf"], "GGUF file not found"),
        (["--model", "anthropic/claude-sonnet-4-5"], "needs ANTHROPIC_API_KEY"),
        (["--model", "scripted:/nonexistent.json"], "scripted replies file not found"),
        (["--max-steps", "0"], "max-steps"),
    ],
)
def test_bad_model_input(tmp_path: Path, args: list[str], message: str) -> None:
    repo = init_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    proc = agent_cli("run", "do something", "--repo", str(repo), *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (repo / ".agent").exists()


def test_bad_repo_and_task(tmp_path: Path) -> None:
    not_git = tmp_path / "plain"
    not_git.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    repo = init_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    cases = [
        (["run", "task", "--repo", str(tmp_path / "missing")], "does not exist"),
        (["run", "task", "--repo", str(a_file)], "not a directory"),
        (["run", "task", "--repo", str(not_git)], "not a git repository"),
        (["run", "   ", "--repo", str(repo)], "the task is empty"),
    ]
    for args, message in cases:
        proc = agent_cli(*args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (repo / ".agent").exists() and list(not_git.iterdir()) == []


def test_invalid_repo_config_is_a_usage_error(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"pyproject.toml": "[tool.agent.loop]\nmax_steps = 'many'\n"})
    proc = agent_cli("run", "task", "--repo", str(repo), "--model", "scripted:/x.json")
    assert proc.returncode == 2 and "invalid configuration loop.max_steps" in proc.stderr
