"""agent hook install/uninstall: commits go through the real hooks; the pre-commit framework runs ours."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, agent_cli, git, init_repo, write

CALC = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
WEAKENED = TESTS.replace("assert add(2, 3) == 5", "assert add(2, 3)")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"calc.py": CALC, "tests/test_calc.py": TESTS})


def commit(repo: Path, message: str | None = "change", **env: str) -> subprocess.CompletedProcess[str]:
    args = ["git", "commit", "-q"] + (["-m", message] if message is not None else [])
    return subprocess.run(
        args, cwd=repo, capture_output=True, text=True, env={**os.environ, "GIT_EDITOR": "true", **env}
    )


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def hook_install(repo: Path, *args: str) -> str:
    proc = agent_cli("hook", "install", "--repo", str(repo), *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_weakened_test_is_flagged_and_blocked_in_strict_mode(repo: Path) -> None:
    hook_install(repo, "--pre-commit")
    write(repo, {"tests/test_calc.py": WEAKENED})
    git(repo, "add", "-A")
    before = head(repo)
    advisory = commit(repo)
    assert advisory.returncode == 0 and head(repo) != before  # advisory: committed, and said why
    assert "assertion_weakened" in advisory.stdout + advisory.stderr
    git(repo, "reset", "-q", "--soft", "HEAD~1")
    hook_install(repo, "--pre-commit", "--strict")
    blocked = commit(repo)
    assert blocked.returncode != 0 and head(repo) == before
    assert "assertion_weakened" in blocked.stderr and "commit blocked" in blocked.stderr
    assert git(repo, "diff", "--cached", "--name-only") == "tests/test_calc.py\n"  # nothing re-staged or changed


def test_honest_commit_passes_in_strict_mode(repo: Path) -> None:
    hook_install(repo, "--strict")
    write(
        repo,
        {
            "calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
            "tests/test_calc.py": TESTS + "\n\ndef test_sub():\n    from calc import sub\n    assert sub(3, 2) == 1\n",
        },
    )
    git(repo, "add", "-A")
    proc = commit(repo, "add sub")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(repo, "log", "-1", "--format=%s") == "add sub\n"
    assert "0 findings" in proc.stdout + proc.stderr


def test_existing_hooks_still_run_and_uninstall_restores_them(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    mine = '#!/bin/sh\necho ran >> "$(git rev-parse --show-toplevel)/../hook.log"\nexit 0\n'
    (hooks / "pre-commit").write_text(mine)
    (hooks / "pre-commit").chmod(0o750)
    out = hook_install(repo)
    assert "moved to pre-commit.pre-agent" in out
    write(repo, {"tests/test_calc.py": WEAKENED})
    git(repo, "add", "-A")
    proc = commit(repo)
    assert (repo.parent / "hook.log").read_text() == "ran\n"  # the user's hook ran
    assert "assertion_weakened" in proc.stdout + proc.stderr  # and so did the review
    hook_install(repo)  # installing again keeps the chain, does not move our own hook aside
    assert (hooks / "pre-commit.pre-agent").read_text() == mine
    assert "restored the previous hook" in agent_cli("hook", "uninstall", "--repo", str(repo)).stdout
    assert (hooks / "pre-commit").read_text() == mine
    assert stat.S_IMODE((hooks / "pre-commit").stat().st_mode) == 0o750
    assert not (hooks / "pre-commit.pre-agent").exists() and not (hooks / "prepare-commit-msg").exists()


def test_a_failing_existing_hook_still_blocks(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\necho 'lint failed' >&2\nexit 3\n")
    (hooks / "pre-commit").chmod(0o755)
    hook_install(repo, "--pre-commit")
    write(repo, {"calc.py": CALC + "\n"})
    git(repo, "add", "-A")
    before = head(repo)
    proc = commit(repo)
    assert proc.returncode != 0 and "lint failed" in proc.stderr and head(repo) == before


def test_core_hooks_path_is_respected(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", "githooks")
    hook_install(repo, "--pre-commit", "--strict")
    assert (repo / "githooks" / "pre-commit").is_file() and not (repo / ".git" / "hooks" / "pre-commit").exists()
    write(repo, {"tests/test_calc.py": WEAKENED})
    git(repo, "add", "tests")
    assert commit(repo).returncode != 0


def test_prepare_commit_msg_proposes_a_message_only_when_none_given(repo: Path) -> None:
    hook_install(repo, "--prepare-commit-msg")
    write(repo, {"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n", "docs/usage.md": "use it\n"})
    git(repo, "add", "-A")
    proc = commit(repo, None)  # no -m: the editor (GIT_EDITOR=true) keeps the proposal
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "log", "-1", "--format=%B").strip() == (
        "Update calc.py; add usage.md\n\n- calc.py (+4 -0)\n- docs/usage.md (+1 -0)"
    )
    write(repo, {"calc.py": CALC})
    git(repo, "add", "-A")
    assert commit(repo, "my own words").returncode == 0
    assert git(repo, "log", "-1", "--format=%B").strip() == "my own words"


def test_hook_survives_a_missing_interpreter(repo: Path) -> None:
    hook_install(repo, "--pre-commit", "--strict")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(hook.read_text().replace(f"PY={sys.executable}", "PY=/nonexistent/python", 1))
    write(repo, {"tests/test_calc.py": WEAKENED})
    git(repo, "add", "-A")
    proc = commit(repo)
    assert proc.returncode == 0 and "nothing reviewed" in proc.stderr


def _hook_repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repo holding this project's .pre-commit-hooks.yaml at a commit, as users reference it."""
    hook_repo = tmp_path / "agent-hooks"
    hook_repo.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hook_repo / ".pre-commit-hooks.yaml")
    git(hook_repo, "init", "-q", "-b", "main")
    git(hook_repo, "add", "-A")
    git(hook_repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "hooks")
    return hook_repo, head(hook_repo)


def test_pre_commit_framework_runs_the_agent_review_hook(repo: Path, tmp_path: Path) -> None:
    hook_repo, rev = _hook_repo(tmp_path)
    # `language: python` would make pre-commit pip-install this project and its dependencies from the
    # network; the override runs the same hook (id, entry, pass_filenames from .pre-commit-hooks.yaml)
    # with the agent already installed, as `language: system`.
    write(
        repo,
        {
            ".pre-commit-config.yaml": (
                f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n  - id: agent-review\n"
                "    language: system\n    args: [--strict]\n"
            )
        },
    )
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "agent").write_text(f'#!/bin/sh\nPYTHONPATH={ROOT / "src"} exec {sys.executable} -m agent "$@"\n')
    (shim / "agent").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
    }
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True, capture_output=True, env=env)
    git(repo, "add", ".pre-commit-config.yaml")
    write(repo, {"tests/test_calc.py": WEAKENED})
    git(repo, "add", "-A")
    before = head(repo)
    blocked = commit(repo, **{k: v for k, v in env.items() if k in ("PATH", "PRE_COMMIT_HOME")})
    assert blocked.returncode != 0 and head(repo) == before, blocked.stdout + blocked.stderr
    assert "agent review" in blocked.stdout + blocked.stderr and "assertion_weakened" in blocked.stdout + blocked.stderr
    write(repo, {"tests/test_calc.py": TESTS + "\n\ndef test_more():\n    assert add(1, 1) == 2\n"})
    git(repo, "add", "-A")
    passed = commit(repo, **{k: v for k, v in env.items() if k in ("PATH", "PRE_COMMIT_HOME")})
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout + passed.stderr and head(repo) != before


def test_prepare_commit_msg_uses_the_model_when_configured(repo: Path, tmp_path: Path) -> None:
    import json

    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([{"content": "Add sub() to the calculator\n\nSubtraction, with its test.\n"}]))
    write(repo, {".agent/config.toml": f'[review]\nmodel = "scripted:{replies}"\n'})
    hook_install(repo, "--prepare-commit-msg")
    write(repo, {"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n"})
    git(repo, "add", "calc.py")
    proc = commit(repo, None)
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "log", "-1", "--format=%B").strip() == "Add sub() to the calculator\n\nSubtraction, with its test."


def test_commit_all_reviews_what_git_is_about_to_commit(repo: Path) -> None:
    hook_install(repo, "--pre-commit", "--strict")
    write(repo, {"tests/test_calc.py": WEAKENED})  # not staged: `commit -a` stages it in a temporary index
    before = head(repo)
    proc = subprocess.run(["git", "commit", "-qam", "weaken"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode != 0 and head(repo) == before and "assertion_weakened" in proc.stderr
