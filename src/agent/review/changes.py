"""Read a change from git: the staged change (blobs from the index) or the working tree against HEAD."""

from __future__ import annotations

import codecs
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import GitError
from agent.git.plumbing import EMPTY_TREE, find_repo_root

_NULL_SHA = "0" * 40
_SKIPPED_MODES = ("160000", "120000")  # submodules and symlinks carry no file content to check


@dataclass
class FileChange:
    """One changed file: its bytes before and after, and the lines the change adds."""

    path: str
    status: str  # A added, M modified, D deleted, T type changed
    old: bytes | None = None
    new: bytes | None = None
    added: list[tuple[int, str]] = field(default_factory=list)  # (1-based line in the new file, text)

    @property
    def binary(self) -> bool:
        """True when the new content looks binary (a NUL byte near the start)."""
        return self.new is not None and b"\0" in self.new[:8000]

    def text(self, which: str = "new") -> str | None:
        """The old or new content as text; None when absent or binary."""
        data = self.new if which == "new" else self.old
        if data is None or b"\0" in data[:8000]:
            return None
        return data.decode("utf-8", "replace")


def git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    """Run git in `root` (bytes in and out); a failure raises GitError with git's message."""
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip() or f"exit {proc.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed: {message}")
    return proc.stdout


def repo_root(path: Path) -> Path:
    """The top of the work tree containing `path` (a file or a folder)."""
    return find_repo_root(path.parent if path.is_file() else path)


def base_rev(root: Path) -> str:
    """HEAD's commit id, or the empty tree before the first commit."""
    proc = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], capture_output=True, text=True
    )
    return proc.stdout.strip() or EMPTY_TREE


def read_blobs(root: Path, shas: list[str]) -> dict[str, bytes]:
    """The contents of many blobs with one `git cat-file --batch`."""
    wanted = list(dict.fromkeys(s for s in shas if s and s != _NULL_SHA))
    if not wanted:
        return {}
    out = git(root, "cat-file", "--batch", data=("\n".join(wanted) + "\n").encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for sha in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if len(header) < 3:  # "<sha> missing"
            pos = end + 1
            continue
        size = int(header[2])
        blobs[sha] = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return blobs


def _raw_entries(root: Path, base: str, staged: bool) -> list[tuple[str, str, str, str, str, str]]:
    args = ["diff-index", "-z", "--no-renames", "--raw"] + (["--cached"] if staged else []) + [base, "--"]
    parts = git(root, *args).decode("utf-8", "surrogateescape").split("\0")
    entries = []
    for meta, path in zip(parts[0::2], parts[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split()
        entries.append((old_mode, new_mode, old_sha, new_sha, status[0], path))
    return entries


_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _diff_path(line: bytes) -> str:
    raw = line[4:].removesuffix(b"\t")  # git ends a name holding spaces with a tab
    if raw.startswith(b'"'):  # C-quoted by git: unusual characters in the name
        raw = codecs.escape_decode(raw[1:-1])[0]
    text = raw.decode("utf-8", "surrogateescape")
    return text[2:] if text.startswith("b/") else text


def parse_added(patch: bytes) -> dict[str, list[tuple[int, str]]]:
    """Added lines per file of a `git diff -U0` patch; hunk lengths decide what is content, not its first bytes."""
    added: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    number = old_left = new_left = 0
    for line in patch.split(b"\n"):
        if old_left or new_left:
            if line.startswith(b"+"):
                if current is not None:
                    current.append((number, line[1:].rstrip(b"\r").decode("utf-8", "replace")))
                number, new_left = number + 1, new_left - 1
            elif line.startswith(b"-"):
                old_left -= 1
        elif line.startswith(b"+++ "):
            current = None if line == b"+++ /dev/null" else added.setdefault(_diff_path(line), [])
        elif match := _HUNK.match(line):
            old_left = int(match.group(1) or 1)
            number, new_left = int(match.group(2)), int(match.group(3) or 1)
    return added


def added_lines_by_file(root: Path, base: str, staged: bool) -> dict[str, list[tuple[int, str]]]:
    """Lines each file gains, with their 1-based numbers, from one `git diff -U0` (git's own diff algorithm)."""
    args = ["-c", "core.quotePath=false", "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames"]
    return parse_added(git(root, *args, *(["--cached"] if staged else []), base, "--"))


def read_changes(root: Path, staged: bool = True) -> list[FileChange]:
    """Every changed file with content: staged (index vs HEAD) or working tree vs HEAD."""
    base = base_rev(root)
    entries = [e for e in _raw_entries(root, base, staged) if e[0] not in _SKIPPED_MODES and e[1] not in _SKIPPED_MODES]
    blobs = read_blobs(root, [e[2] for e in entries] + [e[3] for e in entries])
    changes = []
    for _old_mode, _new_mode, old_sha, new_sha, status, path in entries:
        change = FileChange(path, status, blobs.get(old_sha))
        if status != "D":
            change.new = blobs.get(new_sha) if new_sha != _NULL_SHA else _read_worktree(root / path)
        changes.append(change)
    if any(not c.binary and c.new is not None for c in changes):
        added = added_lines_by_file(root, base, staged)
        for change in changes:
            if not change.binary:
                change.added = added.get(change.path, [])
    return sorted(changes, key=lambda c: c.path)


def _read_worktree(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def unified_diff(root: Path, staged: bool = True) -> str:
    """The change as `git diff` shows it (for the model), without colour or external diff tools."""
    args = ["diff", "--no-color", "--no-ext-diff", "--no-renames"] + (["--cached"] if staged else [])
    return git(root, *args, base_rev(root), "--").decode("utf-8", "replace")
