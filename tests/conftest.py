"""Shared fixtures: small real git repositories in tmp_path."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`, failing the test on error."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return proc.stdout


def write(repo: Path, files: dict[str, str]) -> None:
    """Write files under `repo`, creating folders."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A factory: a git repo whose first commit holds `files`."""

    def make(files: dict[str, str]) -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.email", "t@example.com")
        git(repo, "config", "user.name", "T")
        git(repo, "config", "commit.gpgsign", "false")
        write(repo, files)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "base")
        return repo

    return make
