"""Changes that narrow which tests run: test commands, pytest/jest configuration, conftest hooks."""

from __future__ import annotations

import ast
import configparser
import fnmatch
import json
import re
import shlex
import tomllib
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from agent.guard.model import Finding

NARROWING_FLAGS = {
    "-k",
    "--deselect",
    "--ignore",
    "--ignore-glob",
    "-m",
    "--lf",
    "--last-failed",
    "--sw",
    "--stepwise",
    "--co",
    "--collect-only",
    "--noconftest",
    "-t",
    "--testNamePattern",
    "--testPathIgnorePatterns",
    "--testPathPattern",
    "--grep",
    "-g",
    "--passWithNoTests",
    "--onlyChanged",
    "-o",
    "--findRelatedTests",
    "-run",
    "-skip",
    "-short",
    "--skip",
    "--exact",
    "--exclude",
    "--lib",
    "--bins",
    "--doc",
}
RUNNERS = (
    "pytest",
    "py.test",
    "unittest",
    "tox",
    "nox",
    "jest",
    "vitest",
    "mocha",
    "ava",
    "go",
    "cargo",
    "npm",
    "yarn",
    "pnpm",
    "make",
    "node",
    "tap",
    "playwright",
    "bun",
    "deno",
)
_SWALLOW = re.compile(r"\|\|\s*(true|:|exit\s+0)\b|;\s*(true|exit\s+0)\s*$|\bexit\s+0\b|^\s*(true|echo|:)\b")
COLLECTION_HOOKS = {
    "pytest_collection_modifyitems",
    "pytest_ignore_collect",
    "pytest_collect_file",
    "pytest_pycollect_makeitem",
    "pytest_pycollect_makemodule",
    "pytest_collection",
    "pytest_generate_tests",
    "collect_ignore",
    "collect_ignore_glob",
    "pytest_deselected",
}
OUTCOME_HOOKS = {
    "pytest_runtest_makereport",
    "pytest_runtest_logreport",
    "pytest_report_teststatus",
    "pytest_runtest_call",
    "pytest_runtest_protocol",
    "pytest_pyfunc_call",
    "pytest_sessionfinish",
    "pytest_runtest_setup",
    "pytest_exception_interact",
    "pytest_terminal_summary",
}
_PYTEST_KEYS = ("addopts", "testpaths", "python_files", "python_classes", "python_functions", "norecursedirs")


def _tokens(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def narrowing(old: str, new: str) -> str | None:
    """Why the new test command runs fewer tests (or ignores failures), or None."""
    if old.strip() == new.strip():
        return None
    old_t, new_t = _tokens(old), _tokens(new)
    if _SWALLOW.search(new) and not _SWALLOW.search(old):
        return f"the command now ignores failures: {new!r}"
    added = [t for t in new_t if t not in old_t]
    flags = [t for t in added if t.split("=", 1)[0] in NARROWING_FLAGS]
    if flags:
        return f"selection flag added: {' '.join(flags)}"
    ran = [r for r in RUNNERS if any(PurePosixPath(t).name == r for t in old_t)]
    if ran and not any(PurePosixPath(t).name in ran for t in new_t):
        return f"test runner replaced: {old!r} -> {new!r}"
    old_paths = [t for t in old_t if not t.startswith("-") and ("/" in t or "." in t or t.startswith("test"))]
    new_paths = [
        t for t in added if not t.startswith("-") and ("/" in t or t.endswith((".py", ".js", ".ts")) or "::" in t)
    ]
    if new_paths and (not old_paths or any(p.startswith(o.rstrip("/") + "/") for p in new_paths for o in old_paths)):
        return f"command now runs only {' '.join(new_paths)}"
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value) if value is not None else ""


def _pytest_options(options_old: dict[str, Any], options_new: dict[str, Any]) -> list[str]:
    reasons = []
    why = narrowing(_as_text(options_old.get("addopts")), _as_text(options_new.get("addopts")))
    if why:
        reasons.append(f"addopts: {why}")
    old_paths, new_paths = (
        _as_text(options_old.get("testpaths")).split(),
        _as_text(options_new.get("testpaths")).split(),
    )
    if old_paths and set(old_paths) - set(new_paths):
        reasons.append(f"testpaths narrowed: {old_paths} -> {new_paths}")
    if not old_paths and new_paths and not any(p in ("tests", "test", ".") for p in new_paths):
        reasons.append(f"testpaths added: {new_paths}")
    for key in ("python_files", "python_classes", "python_functions"):
        if options_old.get(key) != options_new.get(key):
            reasons.append(f"{key} changed: {options_old.get(key)!r} -> {options_new.get(key)!r}")
    added = set(_as_text(options_new.get("norecursedirs")).split()) - set(
        _as_text(options_old.get("norecursedirs")).split()
    )
    if any("test" in d for d in added):
        reasons.append(f"norecursedirs now skips {sorted(added)}")
    return reasons


def _ini_sections(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    return {name: dict(parser[name]) for name in parser.sections()}


def _ini(old: str, new: str) -> list[str]:
    o, n = _ini_sections(old), _ini_sections(new)
    reasons = []
    for section in ("pytest", "tool:pytest"):
        reasons += _pytest_options(o.get(section, {}), n.get(section, {}))
    for section in set(o) | set(n):
        if section.startswith("testenv"):
            why = narrowing(o.get(section, {}).get("commands", ""), n.get(section, {}).get("commands", ""))
            reasons += [f"[{section}] commands: {why}"] if why and o.get(section) else []
    return reasons


def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data


def _pytest_table(data: dict[str, Any]) -> dict[str, Any]:
    """pytest's settings in a pyproject: [tool.pytest.ini_options] and pytest 9's native [tool.pytest]."""
    table = _dig(data, "tool", "pytest")
    native = {k: v for k, v in table.items() if k != "ini_options"} if isinstance(table, dict) else {}
    return {**native, **_dig(data, "tool", "pytest", "ini_options")}


def _pyproject(old: str, new: str) -> list[str]:
    o, n = _toml(old), _toml(new)
    reasons = _pytest_options(_pytest_table(o), _pytest_table(n))
    old_cmd, new_cmd = (
        _dig(o, "tool", "agent", "tools", "test_command"),
        _dig(n, "tool", "agent", "tools", "test_command"),
    )
    why = narrowing(_as_text(old_cmd or ""), _as_text(new_cmd or "")) if old_cmd else None
    return reasons + ([f"test_command: {why}"] if why else [])


def _package_json(old: str, new: str) -> list[str]:
    try:
        o, n = json.loads(old or "{}"), json.loads(new or "{}")
    except ValueError:
        return []
    reasons = []
    for name, old_cmd in _dig(o, "scripts").items() if isinstance(_dig(o, "scripts"), dict) else []:
        if name == "test" or name.startswith("test:"):
            why = narrowing(
                str(old_cmd), str(_dig(n, "scripts").get(name, "") if isinstance(_dig(n, "scripts"), dict) else "")
            )
            reasons += [f"scripts.{name}: {why}"] if why else []
    for key in ("testPathIgnorePatterns", "modulePathIgnorePatterns", "testMatch", "testRegex", "roots"):
        if _dig(o, "jest").get(key) != _dig(n, "jest").get(key) if isinstance(_dig(n, "jest"), dict) else False:
            reasons.append(f"jest.{key} changed")
    return reasons


def _js_config(old: str, new: str) -> list[str]:
    old_lines = set(old.splitlines())
    pattern = re.compile(r"testPathIgnorePatterns|exclude|testMatch|testNamePattern|\bgrep\b|\bonly\b|include")
    return [
        f"test selection option changed: {line.strip()}"
        for line in new.splitlines()
        if line not in old_lines and pattern.search(line)
    ]


def _hooks(text: str) -> dict[str, tuple[int, str]]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, tuple[int, str]] = {}
    for node in tree.body:
        names = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [node.name]
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        for name in names:
            if name in COLLECTION_HOOKS | OUTCOME_HOOKS:
                found[name] = (node.lineno, ast.dump(node))
    return found


_HOOK_EFFECT = re.compile(
    r"items\s*\[|items\.(remove|pop|clear)|del\s+items|deselect|skip|xfail|exit|outcome|longrepr|passed|"
    r"return\s+True|\.wasxfail|add_marker|remove|filter|ignore|=\s*\[\s*\]"
)


def _hook_source(text: str, line: int) -> str:
    """The code of the top-level statement starting at `line`, without comments or docstrings."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    for stmt in tree.body if tree else []:
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            body = getattr(stmt, "body", None)
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                stmt.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
            return ast.unparse(stmt)
    lines = text.splitlines()[line - 1 :]
    end = next((i for i in range(1, len(lines)) if lines[i][:1].strip() and not lines[i].startswith((")", "]"))), len(lines))
    return "\n".join(lines[:end])


def conftest_findings(path: str, old: str, new: str) -> list[Finding]:
    """Collection or outcome hooks that a conftest.py gained or changed."""
    old_hooks, out = _hooks(old), []
    for name, (line, body) in _hooks(new).items():
        if old_hooks.get(name, (0, ""))[1] == body:
            continue
        verb = "changed" if name in old_hooks else "added"
        severity = "high" if _HOOK_EFFECT.search(_hook_source(new, line)) or name.startswith("collect_ignore") else "medium"
        if name in OUTCOME_HOOKS:
            message = f"{name} {verb}: it can rewrite test results"
            out.append(Finding("test_outcome_patched", path, line, message, severity))
        else:
            message = f"{name} {verb}: it can drop tests from the run"
            out.append(Finding("collection_hook_added", path, line, message, severity))
    return out


def _skipped_test_dirs(old: str, new: str, test_paths: Iterable[str]) -> list[str]:
    """Directories holding known test files that a newly added norecursedirs pattern makes pytest skip."""
    def patterns(text: str) -> set[str]:
        found = re.findall(r"^\s*norecursedirs\s*=\s*(.+)$", text, re.MULTILINE)
        return {t for line in found for t in re.findall(r"[\w.*?/\[\]-]+", line)}

    added = patterns(new) - patterns(old)
    hit = set()
    for test in test_paths:
        for part in PurePosixPath(test).parts[:-1]:
            hit |= {f"{part} ({pat})" for pat in added if fnmatch.fnmatchcase(part, pat)}
    return sorted(hit)


def config_findings(path: str, old: str, new: str, test_paths: Iterable[str] = ()) -> list[Finding]:
    """Test-selection narrowing in one changed configuration file."""
    name = PurePosixPath(path).name
    if name in ("pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml"):
        skipped = _skipped_test_dirs(old, new, test_paths)
        if skipped:
            reason = f"norecursedirs now skips folders that hold tests: {', '.join(skipped)}"
            return [Finding("test_selection_narrowed", path, 1, reason)]
    if name == "conftest.py":
        return conftest_findings(path, old, new)
    if name in ("pytest.ini", "tox.ini", "setup.cfg"):
        reasons = _ini(old, new)
    elif name == "pyproject.toml" or path.endswith(".agent/config.toml"):
        reasons = _pyproject(old, new)
        if path.endswith(".agent/config.toml"):
            oc, nc = _dig(_toml(old), "tools", "test_command"), _dig(_toml(new), "tools", "test_command")
            why = narrowing(_as_text(oc), _as_text(nc)) if oc else None
            reasons += [f"test_command: {why}"] if why else []
    elif name == "package.json":
        reasons = _package_json(old, new)
    else:
        reasons = _js_config(old, new)
    known = list(test_paths)
    out = []
    for reason in reasons:
        left_out = _left_out(reason, known)
        if left_out == []:
            continue  # the new testpaths holds every known test file
        if left_out and all(_NOT_SUITE.match(t) for t in left_out):
            why = f"{reason} (medium: it leaves out only benchmark, example or docs folders, such as {left_out[0]})"
            out.append(Finding("test_selection_narrowed", path, 1, why, "medium"))
        else:
            out.append(_moved_testpaths(path, reason, known))
    return out


# Folders whose test_*.py files are not the project's test suite (benchmarks, examples, docs).
_NOT_SUITE = re.compile(r"^(?:[^/]+/)*(bench\w*|benchmarks?|examples?|docs?|scripts?)/", re.IGNORECASE)


def _left_out(reason: str, test_paths: list[str]) -> list[str] | None:
    """For a testpaths added where none was: the known test files outside it ([] when it holds them all);
    None for any other reason or when no test file is known."""
    added = re.match(r"testpaths added: (\[.*?\])$", reason)
    if not added or not test_paths:
        return None
    try:
        roots = [str(r).strip("/") for r in ast.literal_eval(added.group(1))]
    except (ValueError, SyntaxError):
        return None
    return [t for t in test_paths if not any(t == r or t.startswith(r + "/") for r in roots)]


def _moved_testpaths(path: str, reason: str, test_paths: list[str]) -> Finding:
    """A narrowed testpaths whose dropped entries no longer exist (the tests moved) is medium, not high."""
    dropped = re.match(r"testpaths narrowed: (\[.*?\]) -> (\[.*?\])", reason)
    if dropped and test_paths:
        try:
            gone = set(ast.literal_eval(dropped.group(1))) - set(ast.literal_eval(dropped.group(2)))
        except (ValueError, SyntaxError):
            gone = set()
        if gone and not any(t == g or t.startswith(g.rstrip("/") + "/") for g in gone for t in test_paths):
            return Finding("test_selection_narrowed", path, 1, f"{reason} (medium: what it dropped no longer exists)", "medium")
    return Finding("test_selection_narrowed", path, 1, reason)
