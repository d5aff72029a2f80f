"""Read JavaScript/TypeScript tests (jest, vitest, mocha, node:test) with tree-sitter."""

from __future__ import annotations

import re
from typing import Any

from agent.guard.model import EXACT, LOOSE, TRIVIAL, TRUTHY, Assertion, FileTests, TestFn
from agent.guard.tsbase import early_return, is_literal_text, parse, text, walk

TEST_NAMES = {"it", "test", "specify", "xit", "xtest", "fit", "ftest", "xspecify"}
SUITE_NAMES = {"describe", "context", "suite", "xdescribe", "fdescribe", "xcontext"}
_EXACT = {
    "toBe",
    "toEqual",
    "toStrictEqual",
    "toBeNull",
    "toBeUndefined",
    "toHaveBeenCalledWith",
    "toHaveBeenCalledTimes",
    "toMatchSnapshot",
    "toMatchInlineSnapshot",
    "toBeNaN",
    "equal",
    "equals",
    "eql",
    "strictEqual",
    "deepStrictEqual",
    "deepEqual",
    "toHaveReturnedWith",
    "toBeTrue",
    "toBeFalse",
    "toHaveBeenLastCalledWith",
    "true",
    "false",
    "null",
    "undefined",
    "lengthOf",
    "is",
    "same",
}
_LOOSE = {
    "toBeCloseTo",
    "toHaveLength",
    "toMatchObject",
    "toContain",
    "toContainEqual",
    "toMatch",
    "toBeGreaterThan",
    "toBeGreaterThanOrEqual",
    "toBeLessThan",
    "toBeLessThanOrEqual",
    "toHaveProperty",
    "include",
    "includes",
    "contain",
    "match",
    "above",
    "below",
    "closeTo",
    "approximately",
    "notStrictEqual",
    "notEqual",
    "notDeepStrictEqual",
    "least",
    "most",
    "members",
    "toSatisfy",
    "property",
    "keys",
}
_TRUTHY = {
    "toBeTruthy",
    "toBeFalsy",
    "toBeDefined",
    "toHaveBeenCalled",
    "ok",
    "exist",
    "toBeInstanceOf",
    "instanceOf",
    "instanceof",
    "a",
    "an",
    "assert",
    "empty",
    "toBeEmpty",
    "called",
}
_RAISES = {"toThrow", "toThrowError", "throws", "throw", "rejects", "toThrowErrorMatchingSnapshot"}


def _callee(call: Any) -> str:
    fn = call.child_by_field_name("function")
    return text(fn) if fn is not None else ""


def _args(call: Any) -> list[Any]:
    args = call.child_by_field_name("arguments")
    return [a for a in args.named_children if a.type != "comment"] if args is not None else []


def _expect_root(node: Any) -> Any | None:
    """The `expect(...)` call at the root of a matcher chain, or None."""
    while node is not None and node.type in ("member_expression", "call_expression", "subscript_expression"):
        if node.type == "call_expression" and _callee(node) in ("expect", "expect.soft", "chai.expect"):
            return node
        node = node.child_by_field_name("object") or node.child_by_field_name("function")
    return None


def _matcher(node: Any, root: Any) -> Assertion:
    prop = node.child_by_field_name("function") if node.type == "call_expression" else node
    name = text(prop.child_by_field_name("property")) if prop is not None else ""
    chain = text(prop)
    args = _args(node) if node.type == "call_expression" else []
    subject_args = _args(root)
    subject = text(subject_args[0]) if subject_args else ""
    line = node.start_point[0] + 1
    if name in _RAISES:
        return Assertion(line, text(node), EXACT, subject="raises", raises=text(args[0]) if args else "")
    negated = ".not." in chain or ".not" == chain[-4:]
    strength = EXACT if name in _EXACT else LOOSE if name in _LOOSE else TRUTHY if name in _TRUTHY else EXACT
    if negated and strength == EXACT:
        strength = LOOSE
    expected = text(args[0]) if args and is_literal_text(text(args[0])) else None
    if name in _EXACT and not args:
        expected = name
    if subject and is_literal_text(subject) and strength >= TRUTHY and (expected or name in _TRUTHY):
        strength = TRIVIAL  # expect(true).toBe(true)
    if args and text(args[0]) == subject:
        strength = TRIVIAL  # expect(x).toBe(x)
    tolerance = None
    if name == "toBeCloseTo":
        digits = int(text(args[1])) if len(args) > 1 and text(args[1]).isdigit() else 2
        tolerance = 10.0**-digits / 2
    elif name in ("closeTo", "approximately") and len(args) > 1:
        tolerance = float(text(args[1])) if re.fullmatch(r"[\d.e-]+", text(args[1])) else None
    return Assertion(line, text(node), strength, subject, expected, tolerance=tolerance)


def _assert_call(call: Any) -> Assertion | None:
    callee = _callee(call)
    if not (callee == "assert" or callee.startswith("assert.") or callee.startswith("t.")):
        return None
    name = callee.rsplit(".", 1)[-1]
    args = [text(a) for a in _args(call)]
    line = call.start_point[0] + 1
    if name in _RAISES:
        return Assertion(line, text(call), EXACT, subject="raises", raises=args[1] if len(args) > 1 else "")
    strength = (
        EXACT if name in _EXACT else LOOSE if name in _LOOSE else TRUTHY if name in _TRUTHY | {"assert"} else EXACT
    )
    subject = args[0] if args else ""
    expected = args[1] if len(args) > 1 and is_literal_text(args[1]) else None
    if strength == TRUTHY and subject and is_literal_text(subject):
        strength = TRIVIAL
    return Assertion(line, text(call), strength, subject, expected)


def _assertions(body: Any) -> list[Assertion]:
    out = []
    for node in walk(body):
        if node.type == "call_expression":
            fn = node.child_by_field_name("function")
            if fn is not None and fn.type == "member_expression" and _expect_root(fn) is not None:
                out.append(_matcher(node, _expect_root(fn)))
            elif (found := _assert_call(node)) is not None:
                out.append(found)
        elif node.type == "expression_statement" and node.named_children:
            inner = node.named_children[0]
            if inner.type == "member_expression" and _expect_root(inner) is not None:
                out.append(_matcher(inner, _expect_root(inner)))
    return out


def _swallows(body: Any) -> int:
    count = 0
    for node in walk(body):
        if node.type == "try_statement":
            handler = node.child_by_field_name("handler")
            if handler is not None and not any(
                n.type == "throw_statement"
                or (n.type == "call_expression" and re.match(r"(expect|assert|fail)\b", _callee(n)))
                for n in walk(handler)
            ):
                count += 1
        elif (
            node.type == "call_expression"
            and _callee(node).endswith(".catch")
            and not any(
                n.type == "throw_statement"
                or n.type == "call_expression"
                and _callee(n).startswith(("expect", "assert"))
                for arg in _args(node)
                for n in walk(arg)
            )
        ):
            count += 1
    return count


def _test_fn(name: str, call: Any, callee: str, inherited: tuple[list[str], list[str]]) -> TestFn:
    fn = TestFn(name=name, line=call.start_point[0] + 1)
    fn.skips, fn.focus = list(inherited[0]), list(inherited[1])
    _markers(callee, fn.skips, fn.focus)
    body = next(
        (a for a in reversed(_args(call)) if a.type in ("arrow_function", "function_expression", "function")), None
    )
    inner = call.child_by_field_name("function")
    if inner is not None and inner.type == "call_expression":  # test.each(table)(name, fn)
        table = _args(inner)
        if table and table[0].type == "array":
            fn.cases = [text(e) for e in table[0].named_children]
    if body is None:
        return fn
    block = body.child_by_field_name("body")
    fn.body_key = text(block)
    fn.assertions = _assertions(block)
    fn.swallows = _swallows(block)
    fn.early_return = block is not None and block.type == "statement_block" and early_return(block)
    fn.calls = {_callee(n).rsplit(".", 1)[-1] for n in walk(block) if n.type == "call_expression"} - {"expect", ""}
    return fn


def _markers(callee: str, skips: list[str], focus: list[str]) -> None:
    head, *mods = callee.split(".")
    if head.startswith("x") or {"skip", "todo", "skipIf", "fixme"} & set(mods):
        skips.append(callee)
    if (head.startswith("f") and head[1:] in TEST_NAMES | SUITE_NAMES) or "only" in mods:
        focus.append(callee)


def _visit(node: Any, prefix: str, inherited: tuple[list[str], list[str]], out: FileTests) -> None:
    for child in node.named_children:
        call = child.named_children[0] if child.type == "expression_statement" and child.named_children else child
        if call.type != "call_expression":
            _visit(child, prefix, inherited, out) if child.type not in (
                "function_declaration",
                "class_declaration",
            ) else None
            continue
        callee = _callee(call)
        head = callee.split(".")[0].split("(")[0]
        args = _args(call)
        title = text(args[0]).strip("'\"`") if args and args[0].type in ("string", "template_string") else None
        if head in SUITE_NAMES and title is not None:
            skips, focus = list(inherited[0]), list(inherited[1])
            _markers(callee.split("(")[0], skips, focus)
            body = next((a for a in reversed(args) if a.type in ("arrow_function", "function_expression")), None)
            if body is not None and body.child_by_field_name("body") is not None:
                _visit(body.child_by_field_name("body"), f"{prefix}{title} > ", (skips, focus), out)
        elif head in TEST_NAMES and title is not None:
            out.tests[prefix + title] = _test_fn(prefix + title, call, callee.split("(")[0], inherited)
        else:
            _visit(child, prefix, inherited, out)


def parse_js_tests(source: str, language: str = "javascript") -> FileTests:
    """The tests of one JavaScript/TypeScript file, keyed by their describe path and title."""
    root = parse(language, source)
    if root is None:
        return FileTests(parse_error=True)
    out = FileTests()
    _visit(root, "", ([], []), out)
    return out
