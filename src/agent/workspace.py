"""The repository a run works in: path confinement, file listing, approvals."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.atomic import write_at
from agent.errors import PermissionDenied, ToolError
from agent.git.plumbing import find_repo_root

__all__ = ["Workspace", "deny_all", "find_repo_root"]

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.config import AgentConfig
    from agent.protocols import Approver, MemoryStore


_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def deny_all(kind: str, detail: str) -> bool:
    """The headless approver: never waits for input, always refuses."""
    return False


def _open_child_dir(fd: int, part: str, create: bool, whole: Path) -> int:
    """Open one folder inside `fd` without following a link; refuse a link, report a file."""
    try:
        return os.open(part, _DIR | _NOFOLLOW, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            raise
        try:
            os.mkdir(part, dir_fd=fd)
        except FileExistsError:
            pass
        return _open_child_dir(fd, part, False, whole)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        try:
            is_link = stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode)
        except OSError:
            is_link = True
        if exc.errno == errno.ELOOP or is_link:
            raise PermissionDenied(f"permission denied: {whole} changed into a link while in use") from exc
        raise ToolError(f"{whole}: part of this path is a file, not a folder") from exc


@dataclass
class Workspace:
    """Everything a tool may touch: the repo, the config, the approver and memory."""

    root: Path
    config: AgentConfig
    approve: Approver = deny_all
    memory: MemoryStore | None = None
    on_output: Callable[[str], None] | None = None  # live output of a running command (chat shows its tail)

    def __post_init__(self) -> None:
        self.root = Path(os.path.realpath(self.root))

    def roots(self) -> list[Path]:
        """The repository root, then the extra paths the user allows (permissions.extra_paths)."""
        extra = [Path(os.path.realpath(os.path.expanduser(p))) for p in self.config.permissions.extra_paths]
        return [self.root, *extra]

    def _base(self, real: Path) -> Path | None:
        return next((r for r in self.roots() if real == r or r in real.parents), None)

    def resolve(self, path: str) -> Path:
        """Resolve a user or model supplied path inside the repo; refuse anything outside."""
        if not path or "\x00" in path:
            raise ToolError(f"invalid path: {path!r}")
        candidate = Path(os.path.expanduser(path)) if path.startswith("~") else Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        try:
            os.fsencode(path)
            real = Path(os.path.realpath(candidate))
        except UnicodeEncodeError:
            raise ToolError(f"invalid path: {path!r}") from None
        except OSError as exc:  # a link changed while being resolved
            raise ToolError(f"cannot resolve {path}: {exc.strerror or exc}") from exc
        if self._base(real) is None:
            raise PermissionDenied(f"permission denied: path is outside the repository: {path}")
        return real

    def rel(self, path: Path) -> str:
        """Return `path` relative to the repo root, with forward slashes (absolute for extra paths)."""
        if path == self.root or self.root in path.parents:
            return path.relative_to(self.root).as_posix()
        return path.as_posix()

    def _open_dir(self, real_dir: Path, create: bool = False) -> int:
        """Open a resolved directory by walking from its root with O_NOFOLLOW, so a symlink swapped in
        after `resolve` (a check-then-use race) is refused instead of followed."""
        base = self._base(real_dir)
        if base is None:
            raise PermissionDenied(f"permission denied: path is outside the repository: {real_dir}")
        fd = os.open(base, _DIR)
        try:
            for part in real_dir.relative_to(base).parts:
                nxt = _open_child_dir(fd, part, create, real_dir)
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read_bytes(self, real: Path) -> bytes:
        """Read a resolved file without following a symlink that appeared since it was resolved."""
        dir_fd = self._open_dir(real.parent)
        try:
            fd = os.open(real.name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PermissionDenied(f"permission denied: {real} changed into a link while in use") from exc
            raise
        finally:
            os.close(dir_fd)
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def write_bytes(self, real: Path, data: bytes) -> None:
        """Atomically write a resolved file, creating folders, never through a swapped-in symlink."""
        dir_fd = self._open_dir(real.parent, create=True)
        try:
            write_at(dir_fd, real.name, data)
        finally:
            os.close(dir_fd)

    def write_text(self, real: Path, text: str) -> None:
        """write_bytes for UTF-8 text."""
        self.write_bytes(real, text.encode("utf-8"))

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
        return sorted(n for n in names if (self.root / n).is_file() and self._inside(self.root / n))

    def _inside(self, path: Path) -> bool:
        return not path.is_symlink() or self._base(Path(os.path.realpath(path))) is not None
