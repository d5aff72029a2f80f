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


def _no_identity_env(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "empty-home"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(empty), "XDG_CONFIG_HOME": str(empty), "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1"}
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        env.pop(key, None)
    return env


def test_doctor_in_the_real_venv_reports_the_build_and_finds_no_problem(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    env = {**os.environ, "OPENAI_API_KEY": "sk-secret-value"}
    proc = agent_cli("doctor", "--json", cwd=repo, env=env, timeout=200)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, report["problems"]
    assert report["problems"] == []
    assert "AVX2 = 1" in report["llama_cpp"]["system_info"]
    assert isinstance(report["llama_cpp"]["gpu_offload"], bool) and isinstance(report["llama_cpp"]["gpu_devices"], list)
    assert "GGML_NATIVE=OFF" in report["llama_cpp"]["build"]  # scripts/setup's portable build, from its stamp
    assert report["embedding_dimensions"] == 384  # chromadb imported and the embedding model ran
    assert report["gguf"].endswith(".gguf") and Path(report["gguf"]).is_file()
    assert report["provider_keys"] == ["OPENAI_API_KEY"] and "sk-secret-value" not in proc.stdout
    assert report["git"]["identity"] == {"user.name": True, "user.email": True}


def test_doctor_without_git_identity_or_model_gives_one_fix_line_each_and_exit_1(tmp_path: Path) -> None:
    repo = tmp_path / "bare"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    env = {**_no_identity_env(tmp_path), "AGENT_GGUF": str(tmp_path / "missing.gguf")}
    proc = agent_cli("doctor", cwd=repo, env=env, timeout=200)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    problems = [line for line in proc.stdout.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 2, proc.stdout
    assert any("missing.gguf does not exist" in p for p in problems)
    assert any("user.name and user.email" in p and "git config --global" in p for p in problems)
    assert "Traceback" not in proc.stderr


def test_a_gguf_larger_than_the_available_memory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    huge = tmp_path / "huge.gguf"
    with huge.open("wb") as f:  # sparse: 4 TiB on paper, nothing on disk
        f.truncate(4 * 2**40)
    proc = agent_cli("run", "task", "--repo", str(repo), "--model", f"gguf:{huge}", timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not enough memory for huge.gguf" in lines[0], proc.stderr
