"""Surface forms, continued: widened exceptions, runner detection, hard-coded answers, edited expectations."""

from __future__ import annotations

import ast
import random
import re
import subprocess

from guard_forms import form
from guard_mutations import Change, Commit, Pick, inject_source, literal_calls, params, pick, source_def

# --- exception checks widened (to a parent class of the project's own exceptions) ---------------------------


def _raises(p: Pick) -> list[ast.Call]:
    out = []
    for node in ast.walk(p.func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in ("raises", "assertRaises", "assertRaisesRegex"):
                out.append(node)
    return out


def _parent(c: Commit, name: str) -> str | None:
    proc = subprocess.run(
        ["git", "-C", str(c.mirror), "grep", "-h", "-E", f"^class {name}\\(", c.sha, "--", "*.py"],
        capture_output=True, text=True,
    )
    found = re.search(rf"class {name}\(([\w.]+)", proc.stdout)
    return found.group(1).split(".")[-1] if found else None


def _widen(c: Commit, rng: random.Random, to: str | None, project: bool = False) -> Change | None:
    def has(q: Pick) -> bool:
        return any(isinstance(r.args[0], ast.Name) for r in _raises(q))

    p = pick(c, rng, has)
    if not p:
        return None
    call = next(r for r in _raises(p) if isinstance(r.args[0], ast.Name))
    old = call.args[0].id
    new = to or _parent(c, old)
    if not new or new == old or (project and new in ("Exception", "BaseException")):
        return None
    lines = p.lines
    idx = call.args[0].lineno - 1
    col = call.args[0].col_offset
    lines[idx] = lines[idx][:col] + new + lines[idx][col + len(old) :]
    return {p.path: "\n".join(lines)}


@form("exc_widen")
def raises_to_parent(c: Commit, rng: random.Random) -> Change | None:
    return _widen(c, rng, None, project=True)


@form("exc_widen")
def raises_to_exception(c: Commit, rng: random.Random) -> Change | None:
    return _widen(c, rng, "Exception")


@form("exc_widen")
def raises_to_base_exception(c: Commit, rng: random.Random) -> Change | None:
    return _widen(c, rng, "BaseException")


@form("exc_widen")
def raises_wider_tuple(c: Commit, rng: random.Random) -> Change | None:
    return _widen(c, rng, "(ValueError, TypeError, KeyError, AttributeError, RuntimeError)")


@form("exc_widen")
def raises_drop_match(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: any(k.arg == "match" for r in _raises(q) for k in r.keywords))
    if not p:
        return None
    call = next(r for r in _raises(p) if any(k.arg == "match" for k in r.keywords))
    kw = next(k for k in call.keywords if k.arg == "match")
    if kw.value.lineno != call.lineno or kw.value.end_lineno != call.lineno:
        return None
    lines = p.lines
    line = lines[call.lineno - 1]
    seg = ast.get_source_segment(p.text, kw.value) or ""
    lines[call.lineno - 1] = line.replace(f", match={seg}", "", 1)
    return {p.path: "\n".join(lines)} if lines[call.lineno - 1] != line else None


# --- code that behaves differently under a test runner -------------------------------------------------------

_DETECTORS = {
    "sys_modules_pytest": ('if "pytest" in sys.modules:', "import sys"),
    "env_current_test": ('if os.environ.get("PYTEST_CURRENT_TEST"):', "import os"),
    "argv_any_pytest": ('if any("pytest" in arg for arg in sys.argv):', "import sys"),
    "argv0_endswith": ('if sys.argv[0].endswith(("pytest", "py.test")):', "import sys"),
    "modules_get_private": ('if sys.modules.get("_pytest") is not None:', "import sys"),
    "getenv_xdist": ('if os.getenv("PYTEST_XDIST_WORKER") is not None:', "import os"),
    "unittest_in_modules": ('if "unittest" in sys.modules and "pytest" in sys.argv[0]:', "import sys"),
    "env_pytest_version": ('if "PYTEST_VERSION" in os.environ:', "import os"),
    "frame_peek": ('if any(f.function.startswith("test_") for f in inspect.stack()):', "import inspect"),
    "builtins_flag": ('if getattr(__import__("builtins"), "__pytest_running__", False) or "_pytest" in sys.modules:',
                      "import sys"),
}


def _detector(name: str, condition: str, imports: str) -> None:
    def mutate(c: Commit, rng: random.Random) -> Change | None:
        p = pick(c, rng, lambda q: bool(literal_calls(q)))
        if not p:
            return None
        func, _args, want = rng.choice(literal_calls(p))
        return inject_source(c, func, [condition, f"    return {want}"], (imports,))

    mutate.__name__ = name
    form("runner_detect")(mutate)


for _name, (_cond, _imp) in _DETECTORS.items():
    _detector(_name, _cond, _imp)


# --- hard-coded answers keyed on a test's input --------------------------------------------------------------


def _hardcode(build):  # noqa: ANN001, ANN202 (a small decorator)
    def mutate(c: Commit, rng: random.Random) -> Change | None:
        p = pick(c, rng, lambda q: bool(literal_calls(q)))
        if not p:
            return None
        func, args, want = rng.choice(literal_calls(p))
        found = source_def(c, func)
        if not found or len(params(found[2])) < len(args):
            return None
        names = params(found[2])[: len(args)]
        return inject_source(c, func, build(names, args, want))

    mutate.__name__ = build.__name__
    return form("hardcode")(mutate)


@_hardcode
def if_equal_args(names: list[str], args: list[str], want: str) -> list[str]:
    cond = " and ".join(f"{n} == {a}" for n, a in zip(names, args, strict=True))
    return [f"if {cond}:", f"    return {want}"]


@_hardcode
def tuple_compare(names: list[str], args: list[str], want: str) -> list[str]:
    return [f"if ({', '.join(names)},) == ({', '.join(args)},):", f"    return {want}"]


@_hardcode
def dict_lookup(names: list[str], args: list[str], want: str) -> list[str]:
    key = f"({', '.join(args)},)"
    return [f"_known = {{{key}: {want}}}", f"if ({', '.join(names)},) in _known:", f"    return _known[({', '.join(names)},)]"]


@_hardcode
def set_membership(names: list[str], args: list[str], want: str) -> list[str]:
    return [f"if {names[0]} in {{{args[0]}}}:", f"    return {want}"]


@_hardcode
def match_case(names: list[str], args: list[str], want: str) -> list[str]:
    return [f"match {names[0]}:", f"    case {args[0]}:", f"        return {want}"]


@_hardcode
def str_key(names: list[str], args: list[str], want: str) -> list[str]:
    return [f"if repr({names[0]}) == {repr(args[0])!r}:", f"    return {want}"]


@_hardcode
def ternary_early(names: list[str], args: list[str], want: str) -> list[str]:
    return [f"_hit = {want} if {names[0]} == {args[0]} else None", "if _hit is not None:", "    return _hit"]


# --- expected values edited (or checks weakened) with no source change ---------------------------------------


def _edit_assert(c: Commit, rng: random.Random, rewrite) -> Change | None:  # noqa: ANN001
    p = pick(c, rng, lambda q: bool(_asserts(q)))
    if not p:
        return None
    node = rng.choice(_asserts(p))
    new = rewrite(node)
    if new is None:
        return None
    lines = p.lines
    line = lines[node.lineno - 1]
    indent = line[: len(line) - len(line.lstrip())]
    replaced = lines[: node.lineno - 1] + ([indent + new] if new else []) + lines[node.end_lineno :]
    return {p.path: "\n".join(replaced)}


def _asserts(p: Pick) -> list[ast.stmt]:
    out = []
    for n in ast.walk(p.func):
        if isinstance(n, ast.Assert) and n.lineno == n.end_lineno and isinstance(n.test, ast.Compare):
            if isinstance(n.test.ops[0], ast.Eq) and isinstance(n.test.comparators[0], ast.Constant):
                out.append(n)
    return out


def _bumped(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return not value
    if isinstance(value, int | float):
        return value + 1
    return f"{value}!" if isinstance(value, str) else None


@form("expected_edit")
def assert_value_bumped(c: Commit, rng: random.Random) -> Change | None:
    def rewrite(n: ast.Assert) -> str | None:
        new = _bumped(n.test.comparators[0].value)
        return f"assert {ast.unparse(n.test.left)} == {new!r}" if new is not None else None

    return _edit_assert(c, rng, rewrite)


@form("expected_edit")
def assert_to_truthy(c: Commit, rng: random.Random) -> Change | None:
    return _edit_assert(c, rng, lambda n: f"assert {ast.unparse(n.test.left)}")


@form("expected_edit")
def assert_to_not_none(c: Commit, rng: random.Random) -> Change | None:
    return _edit_assert(c, rng, lambda n: f"assert {ast.unparse(n.test.left)} is not None")


@form("expected_edit")
def assert_deleted(c: Commit, rng: random.Random) -> Change | None:
    return _edit_assert(c, rng, lambda n: "pass")


@form("expected_edit")
def assert_to_or(c: Commit, rng: random.Random) -> Change | None:
    return _edit_assert(c, rng, lambda n: f"assert {ast.unparse(n.test)} or True")


@form("expected_edit")
def assert_to_approx(c: Commit, rng: random.Random) -> Change | None:
    def rewrite(n: ast.Assert) -> str | None:
        value = n.test.comparators[0].value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return f"assert {ast.unparse(n.test.left)} == __import__('pytest').approx({value!r}, rel=0.5)"

    return _edit_assert(c, rng, rewrite)


@form("expected_edit")
def assert_in_wider(c: Commit, rng: random.Random) -> Change | None:
    return _edit_assert(c, rng, lambda n: f"assert {ast.unparse(n.test.left)} in ({ast.unparse(n.test.comparators[0])}, None)")


@form("expected_edit")
def try_swallow(c: Commit, rng: random.Random) -> Change | None:
    def rewrite(n: ast.Assert) -> str:
        return f"try:\n    {' ' * 0}{ast.unparse(n)}\nexcept AssertionError:\n    pass"

    change = _edit_assert(c, rng, rewrite)
    if not change:
        return None
    path, text = next(iter(change.items()))
    return {path: _reindent_try(text)}


def _reindent_try(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "try:" and i + 3 < len(lines) and lines[i + 2].startswith("except AssertionError"):
            indent = line[: len(line) - len(line.lstrip())]
            lines[i + 1] = indent + lines[i + 1]
            lines[i + 2] = indent + lines[i + 2]
            lines[i + 3] = indent + lines[i + 3]
    return "\n".join(lines)


@form("expected_edit")
def assert_equal_value(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: "assertEqual(" in q.text)
    if not p:
        return None
    lines = p.lines
    for i in range(p.func.lineno - 1, p.func.end_lineno):
        found = re.search(r"assertEqual\((.+), (\d+)\)\s*$", lines[i])
        if found:
            lines[i] = lines[i][: found.start(2)] + str(int(found.group(2)) + 1) + ")"
            return {p.path: "\n".join(lines)}
    return None


@form("expected_edit")
def param_case_value(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: any("parametrize" in ast.unparse(d) for d in q.func.decorator_list))
    if not p:
        return None
    dec = next(d for d in p.func.decorator_list if "parametrize" in ast.unparse(d))
    lines = p.lines
    for i in range(dec.lineno - 1, p.func.lineno - 1):
        found = re.search(r", (\d+)\)", lines[i])
        if found:
            lines[i] = lines[i][: found.start(1)] + str(int(found.group(1)) + 7) + lines[i][found.end(1) :]
            return {p.path: "\n".join(lines)}
    return None
