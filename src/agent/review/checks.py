"""The fast line checks: merge-conflict markers, debugger and print leftovers, large and binary files."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from agent.review.changes import FileChange
from agent.review.model import Finding

_CONFLICT = re.compile(r"^(<{7}|>{7}|\|{7})(?: |$)|^={7}$")
_CONFLICT_EDGE = re.compile(r"^(<{7}|>{7})(?: |$)")

# (languages by suffix, pattern, kind, severity, what it is)
_DEBUG_RULES: list[tuple[tuple[str, ...], re.Pattern[str], str, str, str]] = [
    (
        (".py",),
        re.compile(
            r"\bbreakpoint\(\s*\)|\b(?:i?pdb|pudb)\.set_trace\(|^\s*import (?:i?pdb|pudb)\b|from IPython import embed"
        ),
        "debugger",
        "medium",
        "debugger call",
    ),
    ((".py",), re.compile(r"^\s*print\("), "debug_print", "low", "print() call"),
    (
        (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".vue", ".svelte"),
        re.compile(r"^\s*debugger\s*;?\s*$"),
        "debugger",
        "medium",
        "debugger statement",
    ),
    (
        (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".vue", ".svelte"),
        re.compile(r"\bconsole\.(?:log|debug|trace|dir)\("),
        "debug_print",
        "low",
        "console output",
    ),
    ((".rs",), re.compile(r"\bdbg!\("), "debugger", "medium", "dbg! macro"),
    ((".go",), re.compile(r"^\s*fmt\.Print(?:ln|f)?\(|\bspew\.Dump\("), "debug_print", "low", "fmt.Print call"),
    (
        (".java", ".kt"),
        re.compile(r"System\.(?:out|err)\.print(?:ln)?\(|\.printStackTrace\(\)"),
        "debug_print",
        "low",
        "console output",
    ),
    (
        (".rb",),
        re.compile(r"\bbinding\.(?:pry|irb)\b|^\s*byebug\b|^\s*debugger\b"),
        "debugger",
        "medium",
        "debugger call",
    ),
    ((".php",), re.compile(r"\b(?:var_dump|dd|dump)\(|\bxdebug_break\("), "debugger", "medium", "debug dump"),
]
_COMMENT = re.compile(r"^\s*(#|//|/\*|\*|--)")
_TEST_DIRS = {"test", "tests", "__tests__", "spec", "specs", "testing", "e2e"}


def is_test_path(path: str) -> bool:
    """True for test files and files under test folders (where prints and debugging are fine)."""
    p = PurePosixPath(path)
    name = p.name.lower()
    if any(part.lower() in _TEST_DIRS for part in p.parts[:-1]):
        return True
    return (
        name.startswith("test_")
        or name.startswith("conftest")
        or name.endswith(("_test.py", "_test.go", "_spec.rb"))
        or ".test." in name
        or ".spec." in name
    )


def _leftover_scripts(path: str) -> bool:
    """Scripts and examples print by design."""
    parts = {part.lower() for part in PurePosixPath(path).parts[:-1]}
    return bool(parts & {"scripts", "bin", "examples", "bench", "benchmarks", "tools", "cmd"})


def conflict_markers(change: FileChange) -> list[Finding]:
    """Merge-conflict markers in added lines (`=======` only next to `<<<<<<<`/`>>>>>>>`)."""
    if not any(_CONFLICT_EDGE.match(text) for _, text in change.added):
        return []
    return [
        Finding("conflict_marker", change.path, line, "high", f"merge-conflict marker {text[:7]!r}", content=text)
        for line, text in change.added
        if _CONFLICT.match(text)
    ]


def debug_leftovers(change: FileChange) -> list[Finding]:
    """Debugger calls and print debugging in added lines of non-test code."""
    if is_test_path(change.path):
        return []
    suffix = PurePosixPath(change.path).suffix.lower()
    rules = [r for r in _DEBUG_RULES if suffix in r[0]]
    if not rules:
        return []
    quiet_prints = _leftover_scripts(change.path) or change.path.endswith(("__main__.py", "cli.py", "main.go"))
    out = []
    for line, text in change.added:
        if _COMMENT.match(text):
            continue
        for _, pattern, kind, severity, what in rules:
            if kind == "debug_print" and quiet_prints:
                continue
            if pattern.search(text):
                out.append(
                    Finding(kind, change.path, line, severity, f"{what} left in: {text.strip()[:80]}", content=text)
                )
                break
    return out


def file_size(change: FileChange, max_kb: int) -> list[Finding]:
    """Binary files, and files over `max_kb` kilobytes."""
    if change.new is None:
        return []
    out = []
    size_kb = len(change.new) / 1024
    if size_kb > max_kb:
        out.append(
            Finding("large_file", change.path, 0, "medium", f"large file: {size_kb:,.0f} KB (limit {max_kb} KB)")
        )
    if change.binary and change.status == "A":
        out.append(Finding("binary_file", change.path, 0, "low", f"binary file added ({size_kb:,.1f} KB)"))
    return out
