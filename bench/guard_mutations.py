"""Tampering mutations for the real-history corpus: one function per surface form, over the issue's families.

Each form takes a real commit (its after-state) and returns the files it changes ({path: text, or None for a
deleted file}), or None when the commit offers nothing to apply it to. Used by bench/guard_corpus.py.
"""

from __future__ import annotations

import ast
import random
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.guard.paths import is_test_file

Change = dict[str, "str | None"]


@dataclass
class Commit:
    """One upstream commit: changed files before and after, unchanged tests, the tree, the mirror."""

    repo: str
    sha: str
    subject: str
    body: str
    before: dict[str, str]
    after: dict[str, str]
    context: dict[str, str]
    tree: list[str]
    mirror: Path
    _cache: dict[str, str | None] = field(default_factory=dict)

    def read(self, path: str) -> str | None:
        """A file at the commit (changed or not)."""
        if path in self.after:
            return self.after[path]
        if path not in self._cache:
            proc = subprocess.run(["git", "-C", str(self.mirror), "show", f"{self.sha}:{path}"], capture_output=True)
            self._cache[path] = proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None
        return self._cache[path]


@dataclass
class Pick:
    """A test function with assertions, in a changed test file of the commit."""

    path: str
    text: str
    func: ast.FunctionDef
    cls: ast.ClassDef | None
    tree: ast.Module

    @property
    def lines(self) -> list[str]:
        """The file's lines."""
        return self.text.split("\n")

    @property
    def indent(self) -> str:
        """Indentation of the def line."""
        line = self.lines[self.func.lineno - 1]
        return line[: len(line) - len(line.lstrip())]

    @property
    def body_indent(self) -> str:
        """Indentation of the first body statement."""
        line = self.lines[self.func.body[0].lineno - 1]
        return line[: len(line) - len(line.lstrip())]

    @property
    def test_id(self) -> str:
        """pytest's node id."""
        return f"{self.path}::{self.cls.name + '::' if self.cls else ''}{self.func.name}"


def _has_check(func: ast.FunctionDef) -> bool:
    for node in ast.walk(func):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("assert"):
            return True
    return False


def picks(c: Commit) -> list[Pick]:
    """Every test function with a check in the commit's changed Python test files."""
    out = []
    for path, text in sorted(c.after.items()):
        if not (path.endswith(".py") and is_test_file(path)) or path.endswith("conftest.py"):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for stmt in tree.body:
            items = [(stmt, None)] if isinstance(stmt, ast.FunctionDef) else []
            if isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
                items = [(f, stmt) for f in stmt.body if isinstance(f, ast.FunctionDef)]
            old = c.before.get(path, "")
            for func, cls in items:
                existed = f"def {func.name}(" in old  # tamper with tests that existed before the commit
                if existed and func.name.startswith("test") and func.body and _has_check(func) and func.end_lineno:
                    out.append(Pick(path, text, func, cls, tree))
    return out


def pick(c: Commit, rng: random.Random, where: Callable[[Pick], bool] = lambda p: True) -> Pick | None:
    """One test, chosen at random among those `where` accepts."""
    found = [p for p in picks(c) if where(p)]
    return rng.choice(found) if found else None


def _splice(text: str, line: int, new: list[str]) -> str:
    """Insert `new` lines before 1-based `line`."""
    lines = text.split("\n")
    return "\n".join(lines[: line - 1] + new + lines[line - 1 :])


def _first_line(p: Pick) -> int:
    return p.func.decorator_list[0].lineno if p.func.decorator_list else p.func.lineno


def _after_imports(tree: ast.Module) -> int:
    """1-based line after the module docstring, __future__ imports and the leading imports."""
    line = 1
    for stmt in tree.body:
        is_doc = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        if isinstance(stmt, ast.Import | ast.ImportFrom) or (is_doc and line == 1):
            line = (stmt.end_lineno or stmt.lineno) + 1
        else:
            break
    return line


def _with_import(text: str, tree: ast.Module, *imports: str) -> str:
    return _splice(text, _after_imports(tree), list(imports))


def decorate(p: Pick, decorator: str, *imports: str, prelude: tuple[str, ...] = ()) -> Change:
    """Put a decorator on the test (and imports / module-level lines above it)."""
    text = _splice(p.text, _first_line(p), [p.indent + decorator])
    if imports or prelude:
        text = _with_import(text, p.tree, *imports, *prelude)
    return {p.path: text}


def prefix_body(p: Pick, lines: list[str], *imports: str) -> Change:
    """Insert statements at the start of the test body."""
    first = p.func.body[0]
    at = first.end_lineno + 1 if _is_doc(first) else first.lineno
    text = _splice(p.text, at, [p.body_indent + ln for ln in lines])
    return {p.path: _with_import(text, p.tree, *imports) if imports else text}


def _is_doc(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def rename_def(p: Pick, new_name: str) -> Change:
    """Rename the test function on its def line."""
    lines = p.lines
    idx = p.func.lineno - 1
    lines[idx] = lines[idx].replace(f"def {p.func.name}(", f"def {new_name}(", 1)
    return {p.path: "\n".join(lines)}


def append(p: Pick, lines: list[str]) -> Change:
    """Lines at the end of the test module."""
    return {p.path: p.text.rstrip("\n") + "\n\n\n" + "\n".join(lines) + "\n"}


def add_param(p: Pick, name: str) -> str:
    """The test's text with one more parameter (after self for methods)."""
    lines = p.lines
    idx = p.func.lineno - 1
    line = lines[idx]
    if f"def {p.func.name}()" in line:
        lines[idx] = line.replace(f"def {p.func.name}()", f"def {p.func.name}({name})", 1)
    elif f"def {p.func.name}(self)" in line:
        lines[idx] = line.replace("(self)", f"(self, {name})", 1)
    elif f"def {p.func.name}(self, " in line:
        lines[idx] = line.replace("(self, ", f"(self, {name}, ", 1)
    elif f"def {p.func.name}(" in line:
        lines[idx] = line.replace(f"def {p.func.name}(", f"def {p.func.name}({name}, ", 1)
    else:
        raise ValueError("signature not on one line")
    return "\n".join(lines)


# --- the code under test -------------------------------------------------------------------------------------


def project_imports(p: Pick, c: Commit) -> list[tuple[str, str]]:
    """(module, name) for `from MODULE import NAME` in the test file where MODULE is the project's own."""
    roots = {t.split("/")[0] for t in c.tree} | {t.split("/")[1] for t in c.tree if t.startswith("src/")}
    out = []
    for stmt in p.tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
            if stmt.module.split(".")[0] in roots and "test" not in stmt.module:
                out += [(stmt.module, a.name) for a in stmt.names if a.name != "*" and a.asname is None]
    return out


def called_unit(p: Pick, c: Commit) -> tuple[str, str] | None:
    """A project function (imported by name) that the test calls."""
    called = {n.func.id for n in ast.walk(p.func) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    found = [(m, n) for m, n in project_imports(p, c) if n in called and n[:1].islower()]
    return found[0] if found else None


def source_def(c: Commit, name: str) -> tuple[str, str, ast.FunctionDef] | None:
    """(path, text, node) of a top-level function `name` in the project's non-test source."""
    proc = subprocess.run(
        ["git", "-C", str(c.mirror), "grep", "-l", f"def {name}(", c.sha, "--", "*.py"], capture_output=True, text=True
    )
    for entry in proc.stdout.split("\n"):
        path = entry.split(":", 1)[1] if ":" in entry else ""
        if not path or is_test_file(path):
            continue
        text = c.read(path)
        if text is None:
            continue
        tree = ast.parse(text)
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name == name and stmt.body:
                return path, text, stmt
    return None


def literal_calls(p: Pick) -> list[tuple[str, list[str], str]]:
    """(function, literal args, expected literal) for `assert f(lit, ...) == lit` / assertEqual(f(lit), lit)."""
    out = []
    for node in ast.walk(p.func):
        pair = None
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            pair = (node.left, node.comparators[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "assertEqual":
            pair = tuple(node.args[:2]) if len(node.args) >= 2 else None
        if not pair:
            continue
        call, want = pair
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.args and not call.keywords:
            if all(isinstance(a, ast.Constant) for a in call.args) and isinstance(want, ast.Constant):
                if want.value not in (None, True, False, 0, 1, ""):
                    out.append((call.func.id, [ast.unparse(a) for a in call.args], ast.unparse(want)))
    return out


def inject_source(c: Commit, name: str, lines: list[str], imports: tuple[str, ...] = ()) -> Change | None:
    """Statements at the start of source function `name` (after its docstring), plus module imports."""
    found = source_def(c, name)
    if found is None:
        return None
    path, text, func = found
    first = func.body[0]
    at = first.end_lineno + 1 if _is_doc(first) and len(func.body) > 1 else first.lineno
    src_lines = text.split("\n")
    indent = re.match(r"\s*", src_lines[first.lineno - 1]).group(0)
    new = _splice(text, at, [indent + ln for ln in lines])
    if imports:
        new = _with_import(new, ast.parse(text), *imports)
    return {path: new}


def params(func: ast.FunctionDef) -> list[str]:
    """Positional parameter names of a function."""
    return [a.arg for a in func.args.args]
