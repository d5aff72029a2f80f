"""Small, exact views of a work tree's state through git plumbing."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from agent.errors import GitError, UsageError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's id of the tree with no entries
# What the agent's own git commands run without: no hooks, no fsmonitor (both are code a repository names).
QUIET_GIT = (("core.hooksPath", "/dev/null"), ("core.fsmonitor", "false"))


def quiet_git_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """GIT_CONFIG_PARAMETERS (what `git -c` hands its children) giving every git started with it QUIET_GIT."""
    if "AGENT_QUIET_GIT" in environ:
        return {}
    before = environ.get("GIT_CONFIG_PARAMETERS", "")
    ours = " ".join(f"'{key}={value}'" for key, value in QUIET_GIT)
    return {"GIT_CONFIG_PARAMETERS": f"{before} {ours}".strip(), "AGENT_QUIET_GIT": before}


def without_quiet_git(environ: dict[str, str]) -> dict[str, str]:
    """`environ` less what quiet_git_env added: the model's commands (sandboxed) run git as the user's would."""
    if "AGENT_QUIET_GIT" not in environ:
        return environ
    out = {k: v for k, v in environ.items() if k not in ("AGENT_QUIET_GIT", "GIT_CONFIG_PARAMETERS")}
    if environ["AGENT_QUIET_GIT"]:
        out["GIT_CONFIG_PARAMETERS"] = environ["AGENT_QUIET_GIT"]
    return out


__all__ = [
    "EMPTY_TREE", "changed_paths", "find_repo_root", "git", "leave_out_secret_files", "quiet_git_env", "snapshot_commit",
    "snapshot_tree", "without_quiet_git",
]


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a git command in `root` and return stdout; raise GitError with git's message on failure."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, errors="surrogateescape", env=env
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from exc
    if proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


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


SECRET_FILES = (".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa*", "id_dsa*", "id_ecdsa*",
                "id_ed25519*", ".netrc", ".npmrc", ".pypirc", ".git-credentials", "credentials*.json", "*.keystore")


def snapshot_tree(root: Path) -> str:
    """Write the whole work tree (untracked files too, .gitignore respected) as a tree object; return its id.

    Uses a throw-away index, so the user's index and work tree are untouched. Files git ignores are never
    in it, nor untracked files that hold secrets by their name (.env, keys: SECRET_FILES).
    """
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        env = {**os.environ, "GIT_INDEX_FILE": str(index)}
        git(root, "add", "-A", "--", ".", env=env)
        leave_out_secret_files(root, env)
        return git(root, "write-tree", env=env).strip()


SKIP_DIRS = {".git", ".agent", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", "dist", "build"}


def secret_files(root: Path, depth: int = 3, most: int = 50) -> list[Path]:
    """Files near the top of the work tree that hold secrets by their name (SECRET_FILES), ignored ones too."""
    import fnmatch

    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root)
        dirs[:] = [] if len(rel.parts) >= depth else [d for d in dirs if d not in SKIP_DIRS]
        found += [Path(folder) / f for f in files if any(fnmatch.fnmatch(f, g) for g in SECRET_FILES)]
        if len(found) >= most:
            break
    return sorted(found)[:most]


def leave_out_secret_files(root: Path, env: dict[str, str]) -> list[str]:
    """Take untracked secret files (SECRET_FILES, by name) out of the index in `env`; return their paths."""
    import fnmatch

    untracked = git(root, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
    found = [p for p in untracked if p and any(fnmatch.fnmatch(p.rsplit("/", 1)[-1], g) for g in SECRET_FILES)]
    if found:
        git(root, "rm", "-q", "--cached", "--ignore-unmatch", "--", *(f":(literal){p}" for p in found), env=env)
    return found


def changed_paths(root: Path, before: str, after: str) -> list[str]:
    """Paths that differ between two tree objects."""
    out = git(root, "diff", "--name-only", "--no-renames", "-z", before, after)
    return sorted(p for p in out.split("\0") if p)


def snapshot_commit(root: Path, message: str) -> str:
    """Record the whole work tree as a commit (parent HEAD, if any) without touching branches or the index."""
    tree = snapshot_tree(root)
    head = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=root, capture_output=True, text=True)
    parents = ["-p", head.stdout.strip()] if head.returncode == 0 else []
    return git(root, "commit-tree", tree, *parents, "-m", message).strip()
