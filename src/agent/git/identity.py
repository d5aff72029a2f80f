"""Environment checks before the agent commits: git new enough, and a git identity set.

Chosen behaviour: no fallback identity. Agent commits are the user's history, so a missing user.name/user.email is
a one-line usage error (exit 2) telling the user how to set it, instead of a traceback from the commit layer.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from agent.errors import UsageError

MIN_GIT = (2, 25)


def git_version() -> tuple[int, ...] | None:
    try:
        out = subprocess.run(["git", "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)\.(\d+)", out)
    return tuple(int(n) for n in found.groups()) if found else None


def identity(root: Path) -> dict[str, str]:
    values = {}
    for key in ("user.name", "user.email"):
        proc = subprocess.run(["git", "config", "--get", key], cwd=root, capture_output=True, text=True, timeout=30)
        values[key] = proc.stdout.strip()
    return values


def check_git(root: Path) -> None:
    """Raise a one-line UsageError when git is missing, too old, or has no identity for this repository."""
    version = git_version()
    if version is None:
        raise UsageError("git is not installed or not on PATH: install git 2.25 or newer")
    if version < MIN_GIT:
        raise UsageError(f"git {'.'.join(map(str, version))} is too old: agent needs git 2.25 or newer")
    missing = [key for key, value in identity(root).items() if not value]
    if missing:
        raise UsageError(f"git has no {' and '.join(missing)} set, so the agent cannot commit: run "
                         "git config --global user.name 'Your Name' && git config --global user.email you@example.com")
