"""Git hooks that run `agent review --staged` and propose commit messages, chained with hooks already there."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import agent
from agent.atomic import atomic_write_text
from agent.errors import UsageError
from agent.review.changes import git

MARKER = "# agent-hook: 1"
SAVED_SUFFIX = ".pre-agent"
HOOKS = ("pre-commit", "prepare-commit-msg")

_HEAD = """#!/bin/sh
{marker} (written by `agent hook install`; `agent hook uninstall` removes it and restores {name}{saved})
hookdir=$(dirname "$0")
if [ -x "$hookdir/{name}{saved}" ]; then
    "$hookdir/{name}{saved}" "$@" || exit $?
fi
PY={python}
if [ ! -x "$PY" ]; then
    echo "agent: hook: $PY is gone, nothing reviewed (run \\`agent hook install\\` again)" >&2
    exit 0
fi
export PYTHONPATH={pythonpath}${{PYTHONPATH:+:$PYTHONPATH}}
"""
_PRE_COMMIT = """"$PY" -m agent review --staged{args}
rc=$?
if [ "$rc" -eq 1 ]; then
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    echo "agent: hook: the review could not run (exit $rc); commit not blocked" >&2
fi
exit 0
"""
_PREPARE = """"$PY" -m agent hook message "$@" || echo "agent: hook: no commit message proposed" >&2
exit 0
"""


def hooks_dir(root: Path) -> Path:
    """The hooks directory git uses for `root` (respects core.hooksPath and worktrees)."""
    out = git(root, "rev-parse", "--git-path", "hooks").decode().strip()
    path = Path(out)
    return path if path.is_absolute() else (root / path).resolve()


def script(name: str, review_args: list[str]) -> str:
    """The text of our hook `name`, bound to this interpreter and this copy of agent."""
    head = _HEAD.format(
        marker=MARKER,
        name=name,
        saved=SAVED_SUFFIX,
        python=shlex.quote(sys.executable),
        pythonpath=shlex.quote(str(Path(agent.__file__).resolve().parents[1])),
    )
    args = "".join(" " + shlex.quote(a) for a in review_args)
    return head + (_PRE_COMMIT.format(args=args) if name == "pre-commit" else _PREPARE)


def is_ours(path: Path) -> bool:
    """True when the hook file at `path` was written by `agent hook install`."""
    try:
        return MARKER in path.read_text(errors="replace").splitlines()[1:2][0]
    except (OSError, IndexError):
        return False


def install(root: Path, names: list[str], review_args: list[str]) -> list[str]:
    """Write our hooks; a foreign hook is moved to `<name>.pre-agent` and still runs first. Returns what was done."""
    directory = hooks_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    done = []
    for name in names:
        path, saved = directory / name, directory / f"{name}{SAVED_SUFFIX}"
        if path.exists() and not is_ours(path):
            if saved.exists():
                raise UsageError(f"{saved} already exists: move it away before installing over {path}")
            os.replace(path, saved)
            done.append(f"{name}: installed; the existing hook moved to {saved.name} and still runs first")
        else:
            done.append(f"{name}: installed" + (f" (chained with {saved.name})" if saved.exists() else ""))
        atomic_write_text(path, script(name, review_args))
        path.chmod(0o755)
    return done


def uninstall(root: Path) -> list[str]:
    """Remove our hooks and put back the hooks they replaced, unchanged. Returns what was done."""
    directory = hooks_dir(root)
    done = []
    for name in HOOKS:
        path, saved = directory / name, directory / f"{name}{SAVED_SUFFIX}"
        if path.exists() and not is_ours(path):
            done.append(f"{name}: left alone (not written by agent)")
            continue
        if path.exists():
            path.unlink()
            done.append(f"{name}: removed")
        if saved.exists():
            os.replace(saved, path)
            done.append(f"{name}: restored the previous hook")
    return done
