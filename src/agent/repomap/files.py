"""Which files a map covers: git's view of the tree (.gitignore respected), no binaries, no huge files."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from agent.repomap.languages import language_for

MAX_BYTES = 1_000_000

_TEST_DIRS = {"test", "tests", "testing", "__tests__", "spec", "specs", "__mocks__", "fixtures", "testdata"}
_TEST_NAME = re.compile(r"(^test_|_test\.|_tests\.|\.test\.|\.spec\.|^conftest\.py$|^tests?\.py$)")
_VENDOR_DIRS = {"vendor", "vendored", "_vendor", "third_party", "thirdparty", "node_modules", "external", "extern",
                "cextern"}
_GENERATED_DIRS = {"generated", "migrations", "dist", "build"}
_GENERATED_NAME = re.compile(r"(_pb2(_grpc)?\.py$|\.pb\.go$|\.min\.js$|[._]generated\.)")
_AUX_DIRS = {"docs", "doc", "examples", "example", "samples", "benchmarks", "bench"}

# multiplier applied to a file's score when locating code to change
PENALTY = {"source": 1.0, "aux": 0.5, "test": 0.3, "vendor": 0.2, "generated": 0.2}
# categories whose definitions are parsed when indexing; the others are parsed when a map shows them
PARSED = frozenset({"source", "aux"})


def category(path: str) -> str:
    """Classify a path as source, test, vendor, generated or aux (docs/examples)."""
    parts = path.lower().split("/")
    dirs, name = set(parts[:-1]), parts[-1]
    if dirs & _VENDOR_DIRS:
        return "vendor"
    if dirs & _GENERATED_DIRS or _GENERATED_NAME.search(name):
        return "generated"
    if dirs & _TEST_DIRS or _TEST_NAME.search(name):
        return "test"
    if dirs & _AUX_DIRS:
        return "aux"
    return "source"


def _git_files(root: Path) -> list[str] | None:
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=False,
        )
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return sorted({n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n})


def _walk_files(root: Path) -> list[str]:
    import pathspec

    ignore = root / ".gitignore"
    lines = ignore.read_text(errors="replace").splitlines() if ignore.is_file() else []
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(root).as_posix()
        for f in filenames:
            p = f if rel == "." else f"{rel}/{f}"
            if not spec.match_file(p):
                out.append(p)
    return sorted(out)


def candidate_files(root: Path) -> list[tuple[str, str]]:
    """(path, grammar) for every file a grammar handles; git's listing when `root` is a repo."""
    names = _git_files(root)
    if names is None:
        names = _walk_files(root)
    out = []
    for n in names:
        if n.startswith(".agent/"):
            continue
        lang = language_for(n)
        if lang is not None:
            out.append((n, lang))
    return out


def read_source(path: Path) -> bytes | None:
    """The file's bytes, or None when it is missing, huge or binary."""
    try:
        if path.is_symlink() or path.stat().st_size > MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return None if b"\0" in data[:8192] else data
