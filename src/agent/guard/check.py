"""Run every check over a change: `check_patch` on file contents, `check_diff` on git revisions."""

from __future__ import annotations

import ast
import fnmatch
import functools
import re
from pathlib import Path, PurePosixPath

from agent.guard import effects, gitio
from agent.guard.compare import Broader, TestDiff
from agent.guard.grading import grade
from agent.guard.model import FileTests, Finding
from agent.guard.paths import is_data_file, is_source_file, is_test_config, is_test_file, language_of
from agent.guard.pytests import broader_exception, exception_parents, parse_python_tests
from agent.guard.selection import config_findings
from agent.guard.source import (
    added_lines,
    expectations,
    function_changes,
    hardcoding_findings,
    peeking_findings,
)

MAX_CONTEXT_FILES = 400


def _js_broader(old: str, new: str) -> bool:
    return old != new and (new in ("", "Error") or (old.startswith(("'", '"', "/")) and not new))


def read_tests(path: str, source: str) -> tuple[FileTests, Broader] | None:
    """The tests in one file and how its language compares exception types; None for unknown languages."""
    lang = language_of(path)
    if lang == "python":
        return parse_python_tests(source), broader_exception
    if lang in ("javascript", "typescript", "tsx"):
        from agent.guard.jstests import parse_js_tests

        return parse_js_tests(source, lang), _js_broader
    if lang == "go" and path.endswith("_test.go"):
        from agent.guard.gorust import parse_go_tests

        return parse_go_tests(source), _js_broader
    if lang == "rust":
        from agent.guard.gorust import parse_rust_tests

        return parse_rust_tests(source), _js_broader
    return None


def _holds_tests(path: str, source: str) -> bool:
    return is_test_file(path) or (path.endswith(".rs") and "#[test]" in source)


_PYTHON_FILES = re.compile(r"^\s*python_files\s*=\s*(.+?)\s*$", re.MULTILINE)


def _collection_patterns(files: dict[str, str]) -> list[str]:
    """pytest's python_files patterns: its defaults plus any a config file of this version sets."""
    patterns = ["test_*.py", "*_test.py", "conftest.py"]
    for path, text in files.items():
        if PurePosixPath(path).name in ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml"):
            for m in _PYTHON_FILES.finditer(text):
                patterns += re.findall(r"[\w*?.-]+", m.group(1))  # ini: space-separated; toml: a list of strings
    return patterns


def _collector(files: dict[str, str]) -> functools.partial[bool]:
    return functools.partial(_collected, tuple(_collection_patterns(files)))


def _collected(patterns: tuple[str, ...], path: str) -> bool:
    """Whether pytest would collect tests from this file by its name (non-Python test files: always)."""
    if language_of(path) != "python":
        return language_of(path) is not None  # JS/TS, Go, Rust: their runners' own rules; no language: never
    name = PurePosixPath(path).name
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _changed_classes(path: str, old: str, new: str) -> set[str]:
    """Python classes whose body changed anywhere (a method of theirs, say), by name."""
    if not path.endswith(".py") or "class " not in new:
        return set()
    try:
        before = {n.name: ast.dump(n) for n in ast.parse(old).body if isinstance(n, ast.ClassDef)} if old else {}
        after = {n.name: ast.dump(n) for n in ast.parse(new).body if isinstance(n, ast.ClassDef)}
    except (SyntaxError, ValueError):
        return set()
    return {name for name, dump in after.items() if before.get(name) != dump}


@functools.lru_cache(maxsize=2048)
def _parents_of(text: str) -> dict[str, set[str]]:
    return exception_parents([text])


def _hierarchy(*versions: dict[str, str]) -> dict[str, set[str]]:
    """The project's exception classes and their bases, from every Python file known to the change."""
    out: dict[str, set[str]] = {}
    for files in versions:
        for path, text in files.items():
            if path.endswith(".py") and ("Error" in text or "Exception" in text):
                for name, bases in _parents_of(text).items():
                    out.setdefault(name, set()).update(bases)
    return out


def check_patch(old_files: dict[str, str], new_files: dict[str, str], *, message: str = "") -> list[Finding]:
    """Findings for a change given as file contents before and after.

    A missing key: the file is absent in that version; a file with equal content in both is unchanged
    context (its tests still count when looking for hard-coded answers in source changes).
    """
    paths = sorted(set(old_files) | set(new_files))
    changed = [p for p in paths if old_files.get(p) != new_files.get(p)]
    old_tests: dict[str, FileTests] = {}
    new_tests: dict[str, FileTests] = {}
    broader: dict[str, Broader] = {}
    parents = _hierarchy(old_files, new_files)
    python_broader = functools.partial(broader_exception, parents=parents)
    for path in changed:
        old, new = old_files.get(path), new_files.get(path)
        if old is None and new and "def test" in new and language_of(path) in (None, "python"):
            if language_of(path) is None or not _holds_tests(path, new):
                found_tests = parse_python_tests(new)  # tests moved out of the test folders, or to x.py.disabled
                if found_tests.tests:
                    new_tests[path] = found_tests
                continue
        if not _holds_tests(path, old or "") and not _holds_tests(path, new or ""):
            continue
        for version, store in ((old, old_tests), (new, new_tests)):
            found = read_tests(path, version) if version is not None else None
            if found is not None:
                store[path], broader[path] = found
                if language_of(path) == "python":
                    broader[path] = python_broader
    plain_source = [p for p in changed if is_source_file(p) and not _holds_tests(p, new_files.get(p) or "")]
    changed_defs: set[str] = set()
    removed_defs: set[str] = set()
    for path in plain_source:
        grown, gone = function_changes(old_files.get(path) or "", new_files.get(path) or "")
        grown |= _changed_classes(path, old_files.get(path) or "", new_files.get(path) or "")
        changed_defs |= grown
        removed_defs |= gone
    data = [p for p in changed if is_data_file(p)]
    source_added = "\n".join(
        text for p in plain_source + data for _, text in added_lines(old_files.get(p) or "", new_files.get(p) or "")
    )
    source_removed = "\n".join(
        text for p in plain_source for _, text in added_lines(new_files.get(p) or "", old_files.get(p) or "")
    )
    context = {p: read_tests(p, old_files[p]) for p in paths if p not in changed and _holds_tests(p, old_files[p])}
    unchanged = {p: found[0] for p, found in context.items() if found is not None}
    collected = _collector(new_files)
    diff = TestDiff(
        old_tests, new_tests, source_added, changed_defs, removed_defs - changed_defs, unchanged, collected,
        source_changed=bool(plain_source or data),
        source_removed=source_removed,
        added_test_text="\n".join(
            text for p in changed if is_test_file(p) for _, text in added_lines(old_files.get(p) or "", new_files.get(p) or "")
        ),
    )
    findings = diff.run(broader)
    wanted = expectations(old_tests | unchanged)
    roots = effects.project_roots(paths)

    @functools.cache
    def test_texts() -> str:
        return "\n".join(t for p, t in new_files.items() if is_test_file(p) and p.endswith(".py") and "conftest" not in p)

    for path in changed:
        old, new = old_files.get(path) or "", new_files.get(path) or ""
        findings += effects.command_findings(path, old, new)
        if is_test_config(path):
            findings += config_findings(path, old, new, [p for p in new_files if is_test_file(p)])
        if is_source_file(path):
            findings += peeking_findings(path, old, new)
            findings += hardcoding_findings(path, old, new, wanted)
            findings += effects.runner_findings(path, old, new)
        elif path.endswith(".py") and is_test_file(path) and new:
            findings += effects.collection_findings(path, old, new, collected)
            findings += effects.skip_exit_findings(path, old, new)
            findings += effects.mock_findings(path, old, new, roots, test_texts)
    return grade(_dedupe(findings), old_files, new_files, message)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per (kind, file, line), the most severe kept."""
    best: dict[tuple[str, str, int], Finding] = {}
    rank = {"high": 2, "medium": 1}
    for f in findings:
        key = (f.kind, f.file, f.line)
        if key not in best or rank.get(f.severity, 0) > rank.get(best[key].severity, 0):
            best[key] = f
    return sorted(best.values(), key=lambda f: (f.file, f.line, f.kind))


def check_diff(  # noqa: PLR0913 (each is one CLI option)
    repo: Path,
    base: str,
    head: str | None = None,
    *,
    staged: bool = False,
    static: bool = True,
    ledger: str | None = None,
    timeout_s: float = 300.0,
) -> list[Finding]:
    """Findings for the change from `base` to `head` (None: the working tree; staged=True: the index).

    static=False leaves out every rule that reads the diff; ledger="collect" or "run" adds the test ledger
    (pytest at the base and at the change: collected ids only, or every test run and its outcome).
    """
    found = _static_diff(repo, base, head, staged) if static else []
    if ledger in ("collect", "run"):
        from agent.guard.trees import ledger_diff

        found += ledger_diff(repo, base, head, staged=staged, run=ledger == "run", timeout_s=timeout_s)
    return found


def _static_diff(repo: Path, base: str, head: str | None, staged: bool) -> list[Finding]:
    old_files, new_files = gitio.changed_contents(repo, base, head, staged=staged)
    if any(is_source_file(p) or is_test_file(p) for p in set(old_files) | set(new_files)):
        for path, text in gitio.test_files_at(repo, base, MAX_CONTEXT_FILES).items():
            if path not in old_files and path not in new_files:
                old_files[path] = new_files[path] = text
    return check_patch(old_files, new_files)
