"""Versions of a repository as plain folders (git archive, the index, the working tree), and ledgers of them."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.errors import UsageError
from agent.guard import gitio
from agent.guard.model import Finding

SHARED_DIRS = (".venv", "venv", "node_modules")


def export_rev(root: Path, rev: str, dest: Path) -> None:
    """Write the tree of commit `rev` into `dest` (git archive; no .git, no worktree bookkeeping)."""
    proc = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", rev], capture_output=True)
    if proc.returncode != 0:
        raise UsageError(f"git archive {rev} failed: {proc.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")


def export_index(root: Path, dest: Path) -> None:
    """Write the staged version of every file into `dest`."""
    gitio.git(root, "checkout-index", "-a", "-f", f"--prefix={dest}/")


def overlay_working_tree(root: Path, dest: Path, since: str = "HEAD") -> None:
    """Copy the files that differ from `since` in the working tree (untracked included) over `dest`."""
    for path in gitio.changed_paths(root, since):
        src, dst = root / path, dest / path
        if src.is_file() or src.is_symlink():
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_symlink() or dst.exists():
                dst.unlink()
            shutil.copy2(src, dst, follow_symlinks=False)
        elif dst.is_file() or dst.is_symlink():
            dst.unlink()


def link_shared(root: Path, dest: Path) -> None:
    """Let `dest` use the repository's virtualenv / node_modules without copying them."""
    for name in SHARED_DIRS:
        if (root / name).is_dir() and not (dest / name).exists():
            (dest / name).symlink_to(root / name)


@contextmanager
def version(root: Path, rev: str | None, *, staged: bool = False) -> Iterator[Path]:
    """A temp folder holding commit `rev`, or the index (staged), or the working tree (rev None)."""
    scratch = Path(tempfile.mkdtemp(prefix="agent-tree-"))
    tree = scratch / "tree"
    tree.mkdir()
    try:
        if staged:
            export_index(root, tree)
        elif rev is not None:
            export_rev(root, rev, tree)
        else:
            export_rev(root, "HEAD", tree)
            overlay_working_tree(root, tree)
        link_shared(root, tree)
        yield tree
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def has_python_tests(tree: Path) -> bool:
    """True when the tree looks like a pytest project (a test module or a pytest configuration)."""
    from agent.guard.paths import is_test_file

    for path in tree.rglob("*.py"):
        rel = path.relative_to(tree).as_posix()
        if not rel.startswith((".venv/", "venv/", "node_modules/")) and is_test_file(rel):
            return True
    return False


def ledger_diff(
    repo: Path, base: str, head: str | None = None, *, staged: bool = False, run: bool = True, timeout_s: float = 300
) -> list[Finding]:
    """Ledger findings for the change base -> head (None: working tree; staged: the index)."""
    from agent.guard.ledger import compare, take

    root = gitio.toplevel(repo)
    base_id = gitio.resolve(root, base)
    head_id = gitio.resolve(root, head) if head is not None else None
    with version(root, base_id) as before:
        if not has_python_tests(before):
            return []
        old = take(before, run=run, timeout_s=timeout_s)
    with version(root, head_id, staged=staged) as after:
        new = take(after, run=run, timeout_s=timeout_s)
    return compare(old, new)
