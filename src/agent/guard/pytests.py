"""Read a Python test file with `ast`: its tests, their assertions, skips and cases."""

from __future__ import annotations

import ast
import builtins
import functools

from agent.guard.model import EXACT, LOOSE, TRIVIAL, TRUTHY, Assertion, FileTests, TestFn

_EXACT_METHODS = {
    "assertEqual",
    "assertEquals",
    "assertListEqual",
    "assertDictEqual",
    "assertTupleEqual",
    "assertSetEqual",
    "assertSequenceEqual",
    "assertMultiLineEqual",
    "assertCountEqual",
    "assertIs",
    "assertIsNone",
    "assert_array_equal",
    "assert_equal",
    "assert_frame_equal",
    "assert_series_equal",
}
_LOOSE_METHODS = {
    "assertAlmostEqual",
    "assertNotEqual",
    "assertIn",
    "assertNotIn",
    "assertGreater",
    "assertGreaterEqual",
    "assertLess",
    "assertLessEqual",
    "assertRegex",
    "assertNotAlmostEqual",
    "assertIsNot",
    "assert_allclose",
    "assert_almost_equal",
    "assert_array_almost_equal",
}
_TRUTHY_METHODS = {"assertTrue", "assertFalse", "assertIsNotNone", "assertIsInstance", "assertNotIsInstance"}
_RAISES = {"raises", "assertRaises", "assertRaisesRegex", "warns", "assertWarns", "assertWarnsRegex"}
_SKIP_MARKS = {"skip", "skipif", "xfail", "skipIf", "skipUnless", "expectedFailure"}
_SKIP_CALLS = {"skip", "xfail", "skipTest", "importorskip"}
_FAIL_CALLS = {"fail", "raise"}


def _name(node: ast.AST) -> str:
    """The last dotted part of a call target: `pytest.mark.skip` -> `skip`."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _tolerance(call: ast.Call) -> float | None:
    for kw in call.keywords:
        if kw.arg in ("rel", "abs", "rtol", "atol", "places", "delta") and _is_literal(kw.value):
            value = ast.literal_eval(kw.value)
            return 10.0**-value if kw.arg == "places" else float(value)
    return None


def _from_compare(node: ast.Compare, line: int) -> Assertion:
    text = ast.unparse(node)
    left, op, right = node.left, node.ops[0], node.comparators[0]
    if len(node.ops) > 1:
        return Assertion(line, text, LOOSE, subject=text)
    if _is_literal(left) and not _is_literal(right):
        left, right = right, left
    subject, expected = ast.unparse(left), ast.unparse(right)
    if subject == expected:
        return Assertion(line, text, TRIVIAL, subject=subject)  # x == x
    literal = expected if _is_literal(right) else None
    if isinstance(op, ast.Eq):
        if isinstance(right, ast.Call) and _name(right) in ("approx", "isclose"):
            return Assertion(line, text, LOOSE, subject, literal, tolerance=_tolerance(right) or 1e-6)
        return Assertion(line, text, EXACT, subject, literal)
    if isinstance(op, ast.Is):  # identity: at least as strict as ==, whatever it is compared with
        return Assertion(line, text, EXACT, subject, literal)
    if isinstance(op, ast.IsNot) and expected == "None":
        return Assertion(line, text, TRUTHY, subject)
    return Assertion(line, text, LOOSE, subject, literal)


def _from_assert(stmt: ast.Assert) -> Assertion:
    test, line = stmt.test, stmt.lineno
    if isinstance(test, ast.Compare):
        return _from_compare(test, line)
    text = ast.unparse(test)
    if _is_literal(test):
        return Assertion(line, text, TRIVIAL, subject=text)
    if isinstance(test, ast.Call) and _name(test) in ("isclose", "allclose"):
        return Assertion(line, text, LOOSE, subject=text, tolerance=_tolerance(test) or 1e-9)
    if isinstance(test, ast.BoolOp):
        strength = LOOSE if isinstance(test.op, ast.Or) else EXACT
        return Assertion(line, text, strength, subject=text)
    subject = ast.unparse(test.operand) if isinstance(test, ast.UnaryOp) else text
    return Assertion(line, text, TRUTHY, subject=subject)


def _raises(call: ast.Call) -> Assertion:
    exc = ast.unparse(call.args[0]) if call.args else ""
    match = next((ast.unparse(k.value) for k in call.keywords if k.arg in ("match", "expected_regex")), None)
    if match is None and _name(call).endswith("Regex") and len(call.args) > 1:
        match = ast.unparse(call.args[1])
    return Assertion(call.lineno, ast.unparse(call), EXACT, subject="raises", raises=exc, match=match)


def _from_call(call: ast.Call) -> Assertion | None:
    name, text = _name(call), ast.unparse(call)
    args = call.args
    if name in _RAISES:
        return _raises(call)
    if name in _EXACT_METHODS:
        literal = next((ast.unparse(a) for a in args[:2] if _is_literal(a)), None)
        subject = next((ast.unparse(a) for a in args[:2] if not _is_literal(a)), text)
        return Assertion(call.lineno, text, EXACT, subject, literal)
    if name in _LOOSE_METHODS:
        subject = ast.unparse(args[0]) if args else text
        return Assertion(call.lineno, text, LOOSE, subject, tolerance=_tolerance(call))
    if name in _TRUTHY_METHODS:
        return Assertion(call.lineno, text, TRUTHY, ast.unparse(args[0]) if args else text)
    if name.startswith("assert_") or name.startswith("check_") or name in ("expect", "verify"):
        return Assertion(call.lineno, text, EXACT, subject=text)
    return None


def _handler_fails(handler: ast.ExceptHandler) -> bool:
    for node in ast.walk(handler):
        if isinstance(node, ast.Raise | ast.Assert):
            return True
        if isinstance(node, ast.Call) and _name(node) in _FAIL_CALLS | {"fail", "assertFail"}:
            return True
    return False


def _swallows(node: ast.AST) -> bool:
    if isinstance(node, ast.Try):
        return any(not _handler_fails(h) for h in node.handlers)
    if isinstance(node, ast.With):
        return any(_name(item.context_expr) == "suppress" for item in node.items)
    return False


def _early_return(body: list[ast.stmt]) -> bool:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    for i, stmt in enumerate(body[:-1]):
        if isinstance(stmt, ast.Return) or (
            isinstance(stmt, ast.If)
            and any(isinstance(s, ast.Return) for s in stmt.body)
            and (_is_literal(stmt.test) or (i == 0 and len(stmt.body) == 1 and not stmt.orelse))
        ):
            return i < len(body) - 1
    return False


def _dynamic_mark(dec: ast.expr) -> bool:
    """`getattr(pytest.mark, "sk" + "ip")` and the like: a mark or unittest decorator chosen at run time."""
    return any(
        isinstance(n, ast.Call)
        and _name(n) == "getattr"
        and bool(n.args)
        and any(w in ast.unparse(n.args[0]) for w in ("mark", "unittest", "pytest"))
        for n in ast.walk(dec)
    )


def _marker_text(dec: ast.expr) -> str | None:
    return ast.unparse(dec) if _name(dec) in _SKIP_MARKS or _dynamic_mark(dec) else None


def _body_key(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The body, normalised (its docstring left out: re-indenting a function changes its docstring's text)."""
    body = func.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return "\n".join(ast.dump(s) for s in body)


def _cases(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    cases: list[str] = []
    for dec in func.decorator_list:
        if isinstance(dec, ast.Call) and _name(dec) == "parametrize" and len(dec.args) > 1:
            values = dec.args[1]
            elts = values.elts if isinstance(values, ast.List | ast.Tuple) else [values]
            cases += [ast.unparse(e) for e in elts]
    return cases


def _test_fn(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str, class_skips: list[str]) -> TestFn:
    fn = TestFn(name=name, line=func.lineno, cases=_cases(func))
    fn.skips = class_skips + [m for m in map(_marker_text, func.decorator_list) if m]
    fn.body_key = _body_key(func)
    fn.early_return = _early_return(func.body)
    for node in ast.walk(func):
        if isinstance(node, ast.Assert):
            fn.assertions.append(_from_assert(node))
        elif isinstance(node, ast.Call):
            found = _from_call(node)
            if found is not None:
                fn.assertions.append(found)
            elif _name(node) in _SKIP_CALLS:
                fn.skips.append(ast.unparse(node))
            else:
                fn.calls.add(_name(node))
        elif isinstance(node, ast.Raise) and node.exc is not None and "Skip" in ast.unparse(node.exc):
            fn.skips.append(ast.unparse(node))
        elif _swallows(node):
            fn.swallows += 1
    fn.calls.discard("")
    fn.assertions.sort(key=lambda a: a.line)
    return fn


def _is_test_class(cls: ast.ClassDef) -> bool:
    return cls.name.startswith("Test") or any("TestCase" in ast.unparse(b) for b in cls.bases)


def _module_skip(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
        text = ast.unparse(stmt.value)
        return text if any(mark in text for mark in _SKIP_MARKS) else None
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and _name(stmt.value) in ("skip", "xfail"):
        return ast.unparse(stmt.value)
    if isinstance(stmt, ast.If) and any(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and _name(s.value) == "skip" for s in stmt.body
    ):
        return ast.unparse(stmt.test)
    return None


@functools.lru_cache(maxsize=1024)
def parse_python_tests(source: str) -> FileTests:
    """The tests of one Python file, keyed `name` or `Class::name`; the last definition of a name wins.

    Cached by content (unchanged context files recur from one check to the next); callers must not mutate it.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return FileTests(parse_error=True)
    out = FileTests()
    for stmt in tree.body:
        skip = _module_skip(stmt)
        if skip:
            out.module_skips.append((stmt.lineno, skip))
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith("test"):
            out.tests[stmt.name] = _test_fn(stmt, stmt.name, [])
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            out.tests.pop(stmt.name, None)  # a later non-test definition shadows the test
            out.helpers[_body_key(stmt)] = stmt.name
        elif isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test):
            for inner in ast.walk(stmt):  # defined only when run as a script: pytest never sees them
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                    out.helpers[_body_key(inner)] = f"{inner.name} under `if __name__ == '__main__'`"
        elif isinstance(stmt, ast.ClassDef):
            collected = _is_test_class(stmt)
            class_skips = [m for m in map(_marker_text, stmt.decorator_list) if m]
            for item in stmt.body:
                if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                qual = f"{stmt.name}::{item.name}"
                if collected and item.name.startswith("test"):
                    out.tests[qual] = _test_fn(item, qual, class_skips)
                elif len(item.body) > 1 or not (
                    isinstance(item.body[0], ast.Pass)
                    or isinstance(item.body[0], ast.Expr) and isinstance(item.body[0].value, ast.Constant)
                ):
                    out.helpers[_body_key(item)] = qual
    return out


def _ancestors(name: str, parents: dict[str, set[str]], seen: set[str] | None = None) -> set[str]:
    """Every base class of an exception: builtins by their MRO, the project's own by its class statements."""
    seen = seen if seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type):
        return {c.__name__ for c in builtin.__mro__[1:]}
    out: set[str] = set()
    for base in parents.get(name, ()):
        out |= {base} | _ancestors(base, parents, seen)
    return out


def _is_builtin_exception(name: str) -> bool:
    found = getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, BaseException)


def exception_parents(sources: list[str]) -> dict[str, set[str]]:
    """`class X(Base, ...)` statements of the given Python sources: class name -> base names (last dotted part)."""
    parents: dict[str, set[str]] = {}
    for text in sources:
        if "class " not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.bases:
                parents.setdefault(node.name, set()).update(ast.unparse(b).rpartition(".")[2] for b in node.bases)
    return parents


def broader_exception(old: str, new: str, parents: dict[str, set[str]] | None = None) -> bool:
    """True when `new` catches strictly more than `old`: a base class (builtin, or the project's own from
    `parents`), Exception, a tuple with more members, or a builtin in place of one of the project's classes."""
    if old == new:
        return False
    old_names = {n.strip().rpartition(".")[2] for n in old.strip("()").split(",") if n.strip()}
    new_names = {n.strip().rpartition(".")[2] for n in new.strip("()").split(",") if n.strip()}
    if not new_names or new_names & {"Exception", "BaseException", "object"}:
        return True
    if old_names < new_names or (len(new_names) > len(old_names) and not new_names <= old_names):
        return True
    parents = parents or {}
    if any(n in _ancestors(o, parents) for o in old_names for n in new_names):
        return True
    own = [o for o in old_names if not _is_builtin_exception(o) and o[:1].isupper()]
    return bool(own) and len(own) == len(old_names) and all(_is_builtin_exception(n) for n in new_names) and not any(
        o in parents and not (_ancestors(o, parents) & new_names) for o in own
    )
