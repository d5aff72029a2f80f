"""The few git commands the guard needs, run with subprocess; failures become UsageError."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agent.errors import UsageError

MAX_FILE_BYTES = 1_000_000


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in `repo` and return stdout; a failure raises UsageError with git's message."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"cannot run git: {exc}") from exc
    if check and proc.returncode != 0:
        raise UsageError(f"git {' '.join(args[:2])} failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def toplevel(repo: Path) -> Path:
    """The root of the work tree that contains `repo`."""
    if not repo.exists():
        raise UsageError(f"{repo} does not exist")
    out = git(repo, "rev-parse", "--show-toplevel", check=False).strip()
    if not out:
        raise UsageError(f"{repo} is not inside a git repository")
    return Path(out)


def resolve(repo: Path, rev: str) -> str:
    """The commit id of `rev`; UsageError when it names no commit."""
    out = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
    if not out:
        raise UsageError(f"unknown revision: {rev}")
    return out


def show(repo: Path, spec: str) -> str | None:
    """The content of `rev:path` (or `:path` for the index), or None when absent or binary."""
    proc = subprocess.run(["git", "-C", str(repo), "show", spec], capture_output=True)
    if proc.returncode != 0 or b"\0" in proc.stdout[:8000] or len(proc.stdout) > MAX_FILE_BYTES:
        return None
    return proc.stdout.decode("utf-8", "replace")


def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8000] or len(data) > MAX_FILE_BYTES:
        return None
    return data.decode("utf-8", "replace")


def changed_paths(repo: Path, base: str, head: str | None = None, *, staged: bool = False) -> list[str]:
    """Paths that differ between `base` and `head` / the index / the working tree (untracked files included)."""
    args = ["diff", "--name-only", "--no-renames", "-z", base]
    if staged:
        args.insert(4, "--cached")
    elif head is not None:
        args.append(head)
    paths = [p for p in git(repo, *args).split("\0") if p]
    if head is None and not staged:
        untracked = git(repo, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
        paths += [p for p in untracked if p]
    return sorted(set(paths))


def changed_contents(
    repo: Path, base: str, head: str | None = None, *, staged: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """(old, new) contents of every changed text file; absent files are missing keys."""
    root = toplevel(repo)
    base_id = resolve(root, base)
    head_id = resolve(root, head) if head is not None else None
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for path in changed_paths(root, base_id, head_id, staged=staged):
        before = show(root, f"{base_id}:{path}")
        if staged:
            after = show(root, f":{path}")
        elif head_id is not None:
            after = show(root, f"{head_id}:{path}")
        else:
            after = _read(root / path)
        if before is not None:
            old[path] = before
        if after is not None:
            new[path] = after
    return old, new


def test_files_at(repo: Path, rev: str, limit: int) -> dict[str, str]:
    """Up to `limit` test files (of languages the guard reads) at `rev`, and the test configuration at the
    repository's root (pytest.ini, tox.ini, setup.cfg, pyproject.toml: how pytest names and finds tests),
    by path, read in one git call."""
    from agent.guard.paths import ROOT_TEST_CONFIG, is_test_file, language_of

    root = toplevel(repo)
    commit = resolve(root, rev)
    names = git(root, "ls-tree", "-r", "-z", "--name-only", commit).split("\0")
    wanted = [n for n in names if n in ROOT_TEST_CONFIG]
    wanted += [n for n in names if n and is_test_file(n) and language_of(n)][:limit]
    if not wanted:
        return {}
    request = "".join(f"{commit}:{n}\n" for n in wanted).encode()
    proc = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"], input=request, capture_output=True)
    out: dict[str, str] = {}
    data, pos = proc.stdout, 0
    for name in wanted:
        header_end = data.index(b"\n", pos)
        parts = data[pos:header_end].split()
        pos = header_end + 1
        if len(parts) < 3 or parts[1] != b"blob":
            continue
        size = int(parts[2])
        blob = data[pos : pos + size]
        pos += size + 1
        if size <= MAX_FILE_BYTES and b"\0" not in blob[:8000]:
            out[name] = blob.decode("utf-8", "replace")
    return out
