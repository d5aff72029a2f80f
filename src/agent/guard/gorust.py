"""Read Go (`func TestX(t *testing.T)`) and Rust (`#[test] fn`) tests with tree-sitter."""

from __future__ import annotations

import re
from typing import Any

from agent.guard.model import EXACT, LOOSE, TRIVIAL, TRUTHY, Assertion, FileTests, TestFn
from agent.guard.tsbase import early_return, is_literal_text, parse, split_top, text, walk

_GO_FAIL = {"Error", "Errorf", "Fatal", "Fatalf", "Fail", "FailNow"}
_GO_SKIP = {"Skip", "Skipf", "SkipNow"}
_TESTIFY_EXACT = {"Equal", "EqualValues", "Exactly", "Nil", "Len", "EqualError", "ErrorIs", "Same", "JSONEq", "Zero"}
_TESTIFY_LOOSE = {
    "InDelta",
    "InEpsilon",
    "Contains",
    "Greater",
    "GreaterOrEqual",
    "Less",
    "LessOrEqual",
    "Regexp",
    "Subset",
    "ElementsMatch",
    "NotEqual",
    "ErrorContains",
    "WithinDuration",
}
_TESTIFY_RAISES = {"Panics", "PanicsWithValue", "PanicsWithError"}
_RUST_ASSERTS = {
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "assert_matches",
    "prop_assert",
    "prop_assert_eq",
    "assert_approx_eq",
    "assert_relative_eq",
}


def _compare(cond: str, line: int, full: str) -> Assertion:
    """An assertion from a boolean condition such as `got != want` or `a == b`."""
    for op, strength in (("!=", EXACT), ("==", EXACT), ("<=", LOOSE), (">=", LOOSE), ("<", LOOSE), (">", LOOSE)):
        if op in cond:
            left, right = (s.strip() for s in cond.split(op, 1))
            if right in ("nil", "None"):
                return Assertion(line, full, TRUTHY, subject=left)
            if is_literal_text(left) and not is_literal_text(right):
                left, right = right, left
            return Assertion(line, full, strength, left, right if is_literal_text(right) else None)
    if is_literal_text(cond):
        return Assertion(line, full, TRIVIAL, subject=cond)
    exact = cond.lstrip("!").startswith(("reflect.DeepEqual", "cmp.Equal", "bytes.Equal"))
    return Assertion(line, full, EXACT if exact else TRUTHY, subject=cond)


def _go_call_name(call: Any) -> tuple[str, str]:
    fn = call.child_by_field_name("function")
    if fn is None or fn.type != "selector_expression":
        return "", text(fn)
    return text(fn.child_by_field_name("operand")), text(fn.child_by_field_name("field"))


def _go_if_condition(node: Any) -> str | None:
    parent = node.parent
    while parent is not None and parent.type != "if_statement":
        if parent.type in ("function_declaration", "func_literal"):
            return None
        parent = parent.parent
    if parent is None:
        return None
    cond = text(parent.child_by_field_name("condition"))
    init = parent.child_by_field_name("initializer")
    if init is not None and init.type == "short_var_declaration":
        names = text(init.child_by_field_name("left")).split(",")
        values = split_top(text(init.child_by_field_name("right")))
        for name, value in zip(names, values, strict=False):
            cond = re.sub(rf"\b{re.escape(name.strip())}\b", value, cond)
    return cond


def _go_assertion(call: Any) -> Assertion | None:
    operand, name = _go_call_name(call)
    line = call.start_point[0] + 1
    args = [text(a) for a in call.child_by_field_name("arguments").named_children]
    if operand in ("assert", "require") and len(args) >= 2:
        if name in _TESTIFY_RAISES:
            return Assertion(line, text(call), EXACT, "raises", raises=args[1] if name != "Panics" else "")
        strength = EXACT if name in _TESTIFY_EXACT else LOOSE if name in _TESTIFY_LOOSE else TRUTHY
        expected = args[1] if len(args) > 2 and is_literal_text(args[1]) else None
        subject = args[2] if len(args) > 2 else args[1]
        if (
            name in ("Equal", "EqualValues", "Exactly")
            and expected is None
            and len(args) > 2
            and is_literal_text(args[2])
        ):
            expected, subject = args[2], args[1]
        tol = float(args[3]) if name == "InDelta" and len(args) > 3 and re.fullmatch(r"[\d.e-]+", args[3]) else None
        return Assertion(line, text(call), strength, subject, expected, tolerance=tol)
    if name in _GO_FAIL:
        cond = _go_if_condition(call)
        return _compare(cond, line, f"{cond} -> {name}") if cond else Assertion(line, text(call), EXACT, text(call))
    return None


def _go_test(func: Any) -> TestFn:
    body = func.child_by_field_name("body")
    fn = TestFn(name=text(func.child_by_field_name("name")), line=func.start_point[0] + 1, body_key=text(body))
    for node in walk(body):
        if node.type == "call_expression":
            operand, name = _go_call_name(node)
            if name in _GO_SKIP and operand not in ("assert", "require"):
                fn.skips.append(text(node))
            elif (found := _go_assertion(node)) is not None:
                fn.assertions.append(found)
            else:
                fn.calls.add(name or operand)
        elif node.type == "composite_literal" and text(node.child_by_field_name("type")).startswith("[]"):
            value = node.child_by_field_name("body")
            fn.cases += [text(e) for e in value.named_children if e.type in ("literal_element", "literal_value")]
        elif (
            node.type == "func_literal" and "recover()" in text(node) and not re.search(r"t\.(Error|Fatal)", text(node))
        ):
            fn.swallows += 1
        elif node.type == "short_var_declaration" and re.match(
            r"(want|expected|exp)\b", text(node.child_by_field_name("left"))
        ):
            right = text(node.child_by_field_name("right"))
            literal = right if is_literal_text(right) else None
            fn.assertions.append(Assertion(node.start_point[0] + 1, text(node), EXACT, "want", literal))
    fn.early_return = early_return(body)
    fn.calls.discard("")
    return fn


def parse_go_tests(source: str) -> FileTests:
    """The `TestXxx` functions of one Go file."""
    root = parse("go", source)
    if root is None:
        return FileTests(parse_error=True)
    out = FileTests()
    for node in root.named_children:
        if node.type == "function_declaration" and text(node.child_by_field_name("name")).startswith("Test"):
            out.tests[text(node.child_by_field_name("name"))] = _go_test(node)
    return out


def _rust_assertion(macro: Any) -> Assertion | None:
    name = text(macro.child_by_field_name("macro"))
    if name not in _RUST_ASSERTS:
        return None
    line = macro.start_point[0] + 1
    tree = next((c for c in macro.named_children if c.type == "token_tree"), None)
    args = split_top(text(tree)[1:-1]) if tree is not None else []
    full = f"{name}!({', '.join(args)})"
    if name.endswith(("_eq", "approx_eq", "relative_eq")) and len(args) >= 2:
        left, right = args[0], args[1]
        if is_literal_text(left) and not is_literal_text(right):
            left, right = right, left
        strength = LOOSE if "approx" in name or "relative" in name else EXACT
        return Assertion(line, full, strength, left, right if is_literal_text(right) else None)
    if name.endswith("_ne"):
        return Assertion(line, full, LOOSE, args[0] if args else full)
    if name.endswith("matches"):
        return Assertion(line, full, LOOSE, args[0] if args else full)
    return _compare(args[0] if args else "true", line, full)


def _rust_test(func: Any, attrs: list[str], prefix: str) -> TestFn:
    body = func.child_by_field_name("body")
    name = prefix + text(func.child_by_field_name("name"))
    fn = TestFn(name=name, line=func.start_point[0] + 1, body_key=text(body))
    fn.skips = [a for a in attrs if a.startswith(("ignore", "cfg"))]
    fn.cases = [a for a in attrs if a.startswith("case")]
    panic = next((a for a in attrs if a.startswith("should_panic")), None)
    if panic is not None:
        match = re.search(r'expected\s*=\s*("(?:[^"\\]|\\.)*")', panic)
        fn.assertions.append(
            Assertion(fn.line, panic, EXACT, "raises", raises="", match=match.group(1) if match else None)
        )
    for node in walk(body):
        if node.type == "macro_invocation" and (found := _rust_assertion(node)) is not None:
            fn.assertions.append(found)
        elif node.type == "call_expression":
            callee = text(node.child_by_field_name("function"))
            if callee.endswith("catch_unwind"):
                fn.swallows += 1
            fn.calls.add(callee.rsplit("::", 1)[-1].rsplit(".", 1)[-1])
    fn.early_return = early_return(body)
    return fn


def _rust_visit(node: Any, prefix: str, out: FileTests) -> None:
    attrs: list[str] = []
    for child in node.named_children:
        if child.type == "attribute_item":
            attrs.append(text(child)[2:-1].strip())
            continue
        if child.type == "function_item" and any(re.match(r"(\w+::)?(test|rstest)\b", a) for a in attrs):
            test = _rust_test(child, attrs, prefix)
            out.tests[test.name] = test
        elif child.type == "mod_item" and child.child_by_field_name("body") is not None:
            mod = text(child.child_by_field_name("name"))
            if any(a.replace(" ", "") == "cfg(test)" for a in attrs) or "test" in mod:
                _rust_visit(child.child_by_field_name("body"), f"{prefix}{mod}::", out)
            elif any(a.startswith("cfg") for a in attrs) is False:
                _rust_visit(child.child_by_field_name("body"), f"{prefix}{mod}::", out)
        if child.type not in ("line_comment", "block_comment"):
            attrs = []


def parse_rust_tests(source: str) -> FileTests:
    """The `#[test]` functions of one Rust file, keyed by module path."""
    root = parse("rust", source)
    if root is None:
        return FileTests(parse_error=True)
    out = FileTests()
    _rust_visit(root, "", out)
    return out
