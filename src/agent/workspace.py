"""The repository a run works in: path confinement, file listing, approvals."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import PermissionDenied, ToolError, UsageError

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.protocols import MemoryStore

Approver = Callable[[str, str], bool]
"""Asked (action kind, detail) when the policy says "ask"; True approves."""


def deny_all(kind: str, detail: str) -> bool:
    """The headless approver: never waits for input, always refuses."""
    return False


def find_repo_root(path: Path) -> Path:
    """Return the top of the git work tree that contains `path`, or raise UsageError."""
    if not path.exists():
        raise UsageError(f"repository path does not exist: {path}")
    if not path.is_dir():
        raise UsageError(f"repository path is not a directory: {path}")
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise UsageError(f"not a git repository: {path}")
    return Path(proc.stdout.strip()).resolve()


@dataclass
class Workspace:
    """Everything a tool may touch: the repo, the config, the approver and memory."""

    root: Path
    config: AgentConfig
    approve: Approver = deny_all
    memory: MemoryStore | None = None
    state: dict[str, Any] = field(default_factory=dict)  # per-run scratch (e.g. files read)

    def resolve(self, path: str) -> Path:
        """Resolve a user or model supplied path inside the repo; refuse anything outside."""
        if not path or "\x00" in path:
            raise ToolError(f"invalid path: {path!r}")
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        real = Path(os.path.realpath(candidate))
        if real != self.root and self.root not in real.parents:
            raise PermissionDenied(f"path is outside the repository: {path}")
        return real

    def rel(self, path: Path) -> str:
        """Return `path` relative to the repo root, with forward slashes."""
        return path.relative_to(self.root).as_posix()

    def files(self) -> list[str]:
        """List the repo's files (tracked and untracked, .gitignore respected), sorted."""
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=self.root,
            capture_output=True,
        )
        if proc.returncode != 0:
            raise ToolError(proc.stderr.decode(errors="replace").strip() or "git ls-files failed")
        names = {n for n in proc.stdout.decode(errors="replace").split("\0") if n}
        return sorted(n for n in names if (self.root / n).is_file())

    def check(self, kind: str, detail: str) -> None:
        """Apply the permission policy to an action; raise PermissionDenied when refused."""
        from agent.permissions import decide

        verdict, reason = decide(self.config.permissions, kind, detail, self)
        if verdict == "allow":
            return
        if verdict == "ask" and self.approve(kind, detail):
            return
        raise PermissionDenied(reason if verdict == "deny" else f"not approved: {reason}")
