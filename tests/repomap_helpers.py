"""Shared helpers for the repo map tests: fixture repositories as real git repos."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "repomap"


def git_repo(path: Path) -> Path:
    """Make `path` a git repository with everything committed."""
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], check=True
    )
    return path


def fixture_repo(lang: str, tmp_path: Path) -> Path:
    """A git repository holding a copy of the fixture tree of `lang`."""
    dest = tmp_path / lang
    shutil.copytree(FIXTURES / lang, dest)
    return git_repo(dest)
