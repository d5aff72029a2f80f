"""Shared tree-sitter helpers for the JavaScript/TypeScript, Go and Rust readers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

_LITERAL = re.compile(
    r"""^\s*(-?\s*\d[\d_]*(\.\d+)?([eE][-+]?\d+)?[a-z0-9]*|"([^"\\]|\\.)*"|'([^'\\]|\\.)*'|`[^`$]*`"""
    r"""|true|false|null|nil|None|undefined)\s*$"""
)


@cache
def parser(language: str) -> Any:
    """A tree-sitter parser for javascript, typescript, tsx, go or rust (imported on first use)."""
    import tree_sitter

    if language == "javascript":
        import tree_sitter_javascript as mod

        lang = mod.language()
    elif language in ("typescript", "tsx"):
        import tree_sitter_typescript as ts_mod

        lang = ts_mod.language_typescript() if language == "typescript" else ts_mod.language_tsx()
    elif language == "go":
        import tree_sitter_go

        lang = tree_sitter_go.language()
    else:
        import tree_sitter_rust

        lang = tree_sitter_rust.language()
    return tree_sitter.Parser(tree_sitter.Language(lang))


def parse(language: str, source: str) -> Any:
    """The root node of `source`, or None when it has syntax errors."""
    tree = parser(language).parse(source.encode("utf-8"))
    return None if tree.root_node.has_error else tree.root_node


def text(node: Any) -> str:
    """A node's source text, whitespace collapsed."""
    return " ".join(node.text.decode("utf-8", "replace").split()) if node is not None else ""


def walk(node: Any) -> Iterator[Any]:
    """Every node below `node`, depth first, `node` included."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


_OPENER = re.compile(r"^(vec!\s*\[|&\s*\[|\[\][\w.*]*\s*\{|[\w.]+\s*\{|(Some|Ok|Err)\(|[\[({])")


def is_literal_text(value: str) -> bool:
    """True for a literal or a list/tuple/struct made only of literals."""
    value = value.strip()
    if _LITERAL.match(value):
        return True
    opener = _OPENER.match(value)
    if opener is None or value[-1:] not in "])}":
        return False
    inner = value[opener.end() : -1]
    parts = split_top(inner)
    return all(is_literal_text(p.split(":", 1)[-1]) for p in parts if p.strip())


def split_top(value: str) -> list[str]:
    """Split on commas that are not nested in brackets or strings."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in value:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def early_return(block: Any) -> bool:
    """True when a statement block returns before its last statement."""
    stmts = [c for c in block.named_children if c.type not in ("comment", "line_comment", "block_comment")]
    if len(stmts) == 1 and stmts[0].type == "statement_list":
        stmts = [c for c in stmts[0].named_children if c.type != "comment"]
    return any(s.type in ("return_statement", "return_expression") for s in stmts[:-1]) or any(
        s.type == "expression_statement" and s.named_children and s.named_children[0].type == "return_expression"
        for s in stmts[:-1]
    )
