"""Static rules by effect, over lines the change added: wherever a test command lives, collection that stops
without a deletion, skips and exits reached indirectly, the unit under test replaced from the tests, and
code that looks for a test runner. Each rule reads only added lines (or new definitions), never unchanged code.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from pathlib import PurePosixPath

from agent.guard.grading import skip_severity
from agent.guard.model import Finding
from agent.guard.source import added_lines

_RUNNER_WORD = re.compile(r"\b(py\.?test|pytest|tox|nox|unittest|make\s+test|PYTEST_ADDOPTS|manage\.py\s+test)\b")
_FLAG = re.compile(
    r"(?<![\w-])(-k|--deselect|--ignore(?:-glob)?|--lf|--last-failed|--sw|--stepwise|--co|--collect-only|-o|"
    r"--override-ini|--noconftest|--exitfirst|--maxfail|--runxfail|-p\s*no:\w+|--pyargs|--continue-on-collection-errors)"
    r"(?=[\s=\"']|$)"
)
_IGNORE_FAIL = re.compile(
    r"\|\|\s*(true|:|exit\s+0)\b|continue-on-error:\s*true|;\s*exit\s+0\b|\bset\s+\+e\b|^\t-\S|"
    r"ignore_outcome\s*=\s*true|success_codes|returncode\s*=\s*0"
)
_COMMAND_FILES = re.compile(
    r"(^|/)(tox\.ini|noxfile\.py|Makefile|makefile|GNUmakefile|justfile|Justfile|package\.json|setup\.cfg|"
    r"pyproject\.toml|pytest\.ini|\.env(\.\w+)?|\.envrc|hatch\.toml|\.gitlab-ci\.ya?ml|azure-pipelines\.ya?ml|"
    r"\.travis\.ya?ml|Taskfile\.ya?ml|\.pre-commit-config\.ya?ml)$|(^|/)\.github/workflows/|(^|/)\.circleci/|"
    r"(^|/)(scripts?|tools|bin|ci|tasks)/[^/]+$|\.(sh|bash|ps1|bat|cmd|mk)$"
)
_SKIP_CODE = re.compile(
    r"\b(pytest\.(skip|xfail|exit|importorskip)|mark\.(skip|skipif|xfail)|unittest\.skip\w*|SkipTest|skipTest|"
    r"os\._exit|sys\.exit|_exit\(|exit\(|__test__\s*=\s*False)"
)
_RUNNER_NAMES = re.compile(r"""["'](pytest|py\.test|_pytest|unittest|nose2?|PYTEST_\w*|test_)["']|["']pytest""")
_RUNNER_READS = re.compile(r"\bsys\.(argv|modules)|\bos\.(environ|getenv)|\bgetenv\(|\binspect\.stack|\.f_code|\.function\b")
_PATCH = re.compile(
    r"""(?:monkeypatch\.setattr|mock\.patch(?:\.object)?|\bpatch(?:\.object)?|mocker\.patch(?:\.object)?)\(\s*"""
    r"""(?:["']([\w.]+)["']|([\w.]+)\s*,\s*["'](\w+)["'])"""
)
_ASSIGN_ATTR = re.compile(r"^\s*([A-Za-z_][\w.]*)\.(\w+)\s*=\s*(lambda|None|Mock|MagicMock|\w+)")
_SYS_MODULES = re.compile(r"sys\.modules\[\s*[\"']([\w.]+)[\"']\s*\]\s*=")


def _code(line: str) -> str:
    """The line without its comment (roughly: outside strings)."""
    return re.sub(r"\s+#.*$", "", line) if "#" in line else line


def _step_runs_tests(new_lines: list[str], line: int) -> bool:
    """Whether the CI step around a `continue-on-error` line (1-based) runs a test command."""
    start = line - 1
    while start > 0 and not new_lines[start].lstrip().startswith("- "):
        start -= 1
    end = line
    while end < len(new_lines) and not new_lines[end].lstrip().startswith("- "):
        end += 1
    return any(_RUNNER_WORD.search(ln) or re.search(r"\btests?\b", ln) for ln in new_lines[start : end + 1])


def command_findings(path: str, old: str, new: str) -> list[Finding]:
    """Added lines of any file that can hold a test command, which narrow the run or ignore its failures."""
    if not _COMMAND_FILES.search(path):
        return []
    old_runner_lines = [ln for ln in old.splitlines() if _RUNNER_WORD.search(ln)]
    old_flags = {m.group(1) for ln in old_runner_lines for m in _FLAG.finditer(ln)}
    old_ignores = {ln.strip() for ln in old.splitlines() if _IGNORE_FAIL.search(ln)}
    new_lines = new.splitlines()
    out = []
    for line, text in added_lines(old, new):
        code = _code(text)
        mentions = _RUNNER_WORD.search(code) or path.endswith((".sh", ".bash")) and "pytest" in code
        if re.search(r"continue-on-error:\s*true", code) and text.strip() not in old_ignores:
            if _step_runs_tests(new_lines, line):
                out.append(Finding("test_selection_narrowed", path, line, f"CI step now ignores failures: {code.strip()}"))
            continue
        if not mentions or re.search(r"\b(pip|pipx|uv|conda|apt(-get)?|npm|brew)\b.*\binstall\b", code):
            continue  # installing a test runner is not running the tests
        flags = sorted({m.group(1) for m in _FLAG.finditer(code)} - old_flags)
        if flags:
            out.append(Finding("test_selection_narrowed", path, line, f"test command narrowed ({' '.join(flags)}): {code.strip()}"))
        elif path.endswith("tox.ini") and re.match(r"^\s+-\s*\w", code) and text.strip() not in old_ignores:
            out.append(Finding("test_selection_narrowed", path, line, f"tox now ignores the test command's exit status: {code.strip()}"))
        elif _IGNORE_FAIL.search(code) and text.strip() not in old_ignores and re.search(r"py\.?test|tox|nox|make", code):
            out.append(Finding("test_selection_narrowed", path, line, f"test command ignores failures: {code.strip()}"))
    return out


def _top_names(tree: ast.Module) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            counts[stmt.name] = counts.get(stmt.name, 0) + 1
    return counts


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _collected_name(name: str) -> bool:
    return name.startswith("test")


def collection_findings(path: str, old: str, new: str, collected: Callable[[str], bool]) -> list[Finding]:
    """Tests of a Python test file that stop being collected without being deleted; `collected` says
    whether pytest collects a file by its name (the project's python_files patterns)."""
    new_tree, old_tree = _parse(new), _parse(old) if old else ast.Module(body=[], type_ignores=[])
    if new_tree is None or old_tree is None:
        return []
    out = []
    old_counts, new_counts = _top_names(old_tree), _top_names(new_tree)
    old_tests = {n for n in old_counts if _collected_name(n)}
    for stmt in new_tree.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.Delete):
            targets = stmt.targets
        for t in targets:
            if isinstance(t, ast.Name) and (t.id in old_tests or t.id in new_counts and _collected_name(t.id)):
                out.append(Finding("test_uncollected", path, stmt.lineno, f"test {t.id} rebound or deleted: not collected"))
    for name, count in new_counts.items():
        if _collected_name(name) and count > 1 and count > old_counts.get(name, 0):
            out.append(Finding("test_uncollected", path, 1, f"{name} defined {count} times: the last one hides the rest"))
    out += _uncollected_defs(path, old_tree, new_tree, new, collected)
    out += _swallowing_decorators(path, old_tree, new_tree)
    return out


def _drops_its_argument(func: ast.FunctionDef) -> bool:
    """A decorator that never hands back a callable: every return gives None or a constant, or it has none."""
    if not func.args.args:
        return False
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    return all(r.value is None or isinstance(r.value, ast.Constant) for r in returns)


def _swallowing_decorators(path: str, old_tree: ast.Module, new_tree: ast.Module) -> list[Finding]:
    """Tests decorated, in this change, with a function of the module that replaces them with None."""
    helpers = {s.name: s for s in new_tree.body if isinstance(s, ast.FunctionDef)}
    old_decorated = {
        (n.name, ast.unparse(d)) for n in ast.walk(old_tree) if isinstance(n, ast.FunctionDef) for d in n.decorator_list
    }
    out = []
    for node in ast.walk(new_tree):
        if not (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name.lower().startswith("test")):
            continue
        for dec in node.decorator_list:
            name = dec.id if isinstance(dec, ast.Name) else ""
            if name in helpers and (node.name, name) not in old_decorated and _drops_its_argument(helpers[name]):
                out.append(Finding("test_uncollected", path, node.lineno, f"@{name} replaces {node.name} with None: pytest never sees it"))
    return out


def _has_asserts(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Assert)
        or isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr.startswith("assert")
        for n in ast.walk(node)
    )


def _uncollected_defs(
    path: str, old_tree: ast.Module, new_tree: ast.Module, new: str, collected: Callable[[str], bool]
) -> list[Finding]:
    """New functions and classes that look like tests but that pytest will not collect."""
    old_defs = {n.name for n in ast.walk(old_tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    out = []
    name = PurePosixPath(path).name
    default_file = collected(path)
    for stmt in new_tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name not in old_defs and _has_asserts(stmt):
            uses = len(re.findall(rf"\b{re.escape(stmt.name)}\b", new))
            if uses == 1 and not stmt.name.startswith("test") and not stmt.args.args and "fixture" not in ast.unparse(stmt):
                out.append(Finding("test_removed", path, stmt.lineno, f"{stmt.name} checks things but is never collected"))
        if isinstance(stmt, ast.ClassDef) and stmt.name not in old_defs and not stmt.name.startswith("Test"):
            methods = [f for f in stmt.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test")]
            if methods and not stmt.bases and len(re.findall(rf"\b{re.escape(stmt.name)}\b", new)) == 1:
                out.append(Finding("test_removed", path, stmt.lineno, f"class {stmt.name} has tests pytest won't collect"))
    if not default_file and path.endswith(".py"):
        tests = [s for s in new_tree.body if isinstance(s, ast.FunctionDef) and s.name.startswith("test")]
        if tests and not old_defs:
            out.append(Finding("test_removed", path, tests[0].lineno, f"tests in {name}: pytest's default pattern skips it"))
    return out


def _skip_tokens(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ln in text.splitlines():
        for m in _SKIP_CODE.finditer(_code(ln)):
            counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    return counts


def _marks_known_test(code: str, new: str, line: int, old: str) -> bool:
    """A decorator on a test that existed before: the test-by-test comparison already reports it."""
    if not code.lstrip().startswith("@"):
        return False
    following = new.splitlines()[line:]
    header = next((ln for ln in following if ln.lstrip().startswith(("def ", "async def ", "class "))), "")
    name = re.search(r"(?:def|class)\s+(\w+)", header)
    return name is not None and re.search(rf"(def|class)\s+{name.group(1)}\b", old) is not None


_EXIT = re.compile(r"\b(os\._exit|sys\.exit|_exit\(|exit\(|pytest\.exit)")


def _main_block_lines(tree: ast.Module | None) -> set[int]:
    """Lines inside `if __name__ == "__main__":` blocks, which never run under a test runner."""
    lines: set[int] = set()
    for stmt in tree.body if tree else []:
        if isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test) and "__name__" in ast.unparse(stmt.test):
            lines |= set(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _uses_module(text: str, module: str, line: int) -> bool:
    """Whether the file uses `module` outside the importorskip line (imports from it, or its name as a value)."""
    root = re.escape(module.split(".")[0])
    rest = "\n".join(ln for i, ln in enumerate(text.splitlines(), 1) if i != line)
    return re.search(rf"^\s*(from|import)\s+{root}\b|\b{root}\.\w", rest, re.MULTILINE) is not None or re.search(
        rf"^\s*(\w+)\s*=\s*pytest\.importorskip\(\s*[\"']{root}", text, re.MULTILINE
    ) is not None


def _statement(lines: list[str], line: int, code: str) -> str:
    """One line, continued over the next lines (up to 10) while its brackets are open: a decorator's arguments."""
    def depth_of(text: str) -> int:
        bare = re.sub(r"\"[^\"]*\"|'[^']*'", "", text)  # brackets inside strings do not count
        return sum(bare.count(c) for c in "([{") - sum(bare.count(c) for c in ")]}")

    depth = depth_of(code)
    parts, i = [code.strip()], line
    while depth > 0 and i < len(lines) and i < line + 10:
        nxt = _code(lines[i]).strip()
        parts.append(nxt)
        depth += depth_of(nxt)
        i += 1
    return " ".join(parts) if len(parts) > 1 else code


def skip_exit_findings(path: str, old: str, new: str) -> list[Finding]:
    """Added code in test files and conftests that skips, xfails or ends the process (a reworded one is not new)."""
    out = []
    old_lines = {ln.strip() for ln in old.splitlines()}
    spare = {k: v - _skip_tokens(old).get(k, 0) for k, v in _skip_tokens(new).items()}
    main_block = _main_block_lines(_parse(new))
    new_lines = new.splitlines()
    for line, text in added_lines(old, new):
        code = _statement(new_lines, line, _code(text))
        found = _SKIP_CODE.search(code)
        if not found or text.strip() in old_lines or code.lstrip().startswith(("#", '"', "'")) or line in main_block:
            continue
        if spare.get(found.group(0), 0) <= 0 or _marks_known_test(code, new, line, old):
            continue
        spare[found.group(0)] -= 1
        if _EXIT.search(code):
            out.append(Finding("test_exit", path, line, f"process exit added to test code: {code.strip()}"))
            continue
        severity = skip_severity(code)
        optional = re.search(r"importorskip\(\s*[\"']([\w.]+)[\"']", code)
        if optional and _uses_module(new, optional.group(1), line):
            severity = "medium"  # an optional dependency the file goes on to use
        out.append(Finding("test_skipped", path, line, f"skip or exit added: {code.strip()}", severity))
    return out


def project_roots(paths: list[str]) -> set[str]:
    """Top-level importable names of the project's own code, from the paths known to the change."""
    roots = set()
    for p in paths:
        parts = PurePosixPath(p).parts
        if parts and parts[0] == "src" and len(parts) > 2:
            roots.add(parts[1])
        elif len(parts) > 1 and p.endswith(".py"):
            roots.add(parts[0])
        elif len(parts) == 1 and p.endswith(".py"):
            roots.add(parts[0][:-3])
    return {r for r in roots if r not in sys.stdlib_module_names and r not in ("tests", "test", "testing", "docs")}


_TEST_TOOLS = {"pytest", "unittest", "mock", "hypothesis", "pretend", "freezegun", "responses", "respx", "pytest_mock"}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it stands for, for every import in a module (nested ones too)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _scopes(tree: ast.Module) -> list[tuple[int, int, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(first line incl. decorators, last line, function) of every function, innermost last."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            out.append((first, node.end_lineno or node.lineno, node))
    return sorted(out, key=lambda s: (s[0], -s[1]))


def _called_names(node: ast.AST) -> set[str]:
    """The names called anywhere under node: `f` for `f(...)` and `x.f(...)`."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            if isinstance(n.func, ast.Name):
                out.add(n.func.id)
            elif isinstance(n.func, ast.Attribute):
                out.add(n.func.attr)
    return out


def _patched_target(code: str, text: str, imports: dict[str, str]) -> str | None:
    """The dotted name one added line replaces, resolved through the module's imports; None when none."""
    target = None
    if m := _PATCH.search(code):
        target = m.group(1) or f"{m.group(2)}.{m.group(3)}"
    elif m := _SYS_MODULES.search(code):
        target = m.group(1)
    elif (m := _ASSIGN_ATTR.match(code)) and not m.group(1).startswith(("self", "cls")):
        target = f"{m.group(1)}.{m.group(2)}"
    if target:
        head, _, rest = target.partition(".")
        return f"{imports[head]}.{rest}" if head in imports and rest else imports.get(head, target)
    return None


def mock_findings(path: str, old: str, new: str, roots: set[str], tests: Callable[[], str] = lambda: "") -> list[Finding]:
    """Tests that replace the project's own code they are meant to test: a patch, an assignment, a
    sys.modules entry or a module-level redefinition of a name the test imports from the project, where the
    test that is patched calls the replaced function itself (not merely code that uses it)."""
    added = added_lines(old, new)
    if not any(_PATCH.search(t) or _SYS_MODULES.search(t) or _ASSIGN_ATTR.match(t) or re.match(r"^(def|class|\w+\s*=)", t) for _, t in added):
        return []
    tree = _parse(new)
    if tree is None:
        return []
    imports = _imports(tree)
    own = roots | {
        v.split(".")[0] for v in imports.values() if v.split(".")[0] not in sys.stdlib_module_names | _TEST_TOOLS
    }
    scopes = _scopes(tree)
    called: dict[int, set[str]] = {}
    out = []
    for line, text in added:
        code = _code(text)
        redefined = re.match(r"^(?:def|class) (\w+)\b|^(\w+)\s*=\s*(?:lambda|None\b)", text)
        if redefined and not (redefined.group(1) or redefined.group(2) or "").startswith("test"):
            name = redefined.group(1) or redefined.group(2)
            if name in imports and imports[name].split(".")[0] in own and imports[name] != name:
                out.append(Finding("test_outcome_patched", path, line, f"the test module redefines {name}, which it imports from the project: {code.strip()}"))
            continue
        target = _patched_target(code, text, imports)
        if not target:
            continue
        root, attr = target.split(".")[0], target.split(".")[-1]
        if _stdlib_attribute(target):
            continue  # pkg.mod.os.close: the standard library as the project sees it, not the project's code
        if "sys.modules" in code and root in own:
            out.append(Finding("test_outcome_patched", path, line, f"the test replaces the code under test: {code.strip()}"))
            continue
        if root not in own or not attr[:1].islower() and not attr[:1] == "_":
            continue
        inside = [fn for first, last, fn in scopes if first <= line <= last]
        scope = inside[-1] if inside else None
        fixture = scope is not None and any("fixture" in ast.unparse(d) for d in scope.decorator_list)
        autouse = fixture and scope is not None and any("autouse" in ast.unparse(d) for d in scope.decorator_list)
        if path.endswith("conftest.py") or autouse:  # it applies to every test: is it what some test calls itself?
            if re.search(rf"\b{re.escape(attr)}\s*\(", tests() + "\n" + new):
                message = f"the code under test is replaced for every test: {code.strip()}"
                out.append(Finding("test_outcome_patched", path, line, message))
            continue
        where: ast.AST = tree if scope is None or fixture else scope
        if id(where) not in called:
            called[id(where)] = _called_names(where)
        if attr in called[id(where)]:
            out.append(Finding("test_outcome_patched", path, line, f"the test replaces the code under test: {code.strip()}"))
    return out


def _stdlib_attribute(target: str) -> bool:
    """True for a patch target like pkg.mod.os.close: its last two parts name a function of a standard-library
    module (one already imported, so nothing is imported to find out). pkg.types.validate, a project module
    that shares a standard-library name, is not one."""
    parts = target.split(".")
    if len(parts) < 3 or parts[-2] not in sys.stdlib_module_names:
        return False
    module = sys.modules.get(parts[-2])
    return module is not None and hasattr(module, parts[-1])


def runner_findings(path: str, old: str, new: str) -> list[Finding]:
    """Non-test code that reads argv, modules, the environment or the call stack looking for a test runner."""
    out = []
    for line, text in added_lines(old, new):
        code = _code(text)
        if _RUNNER_NAMES.search(code) and _RUNNER_READS.search(code):
            out.append(Finding("detects_test_run", path, line, f"source code looks for a test runner: {code.strip()}"))
        elif re.search(r"\.function\.startswith\([\"']test", code):
            out.append(Finding("detects_test_run", path, line, f"source code looks at its callers: {code.strip()}"))
    return out
