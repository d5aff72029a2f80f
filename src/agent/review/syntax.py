"""Syntax errors in staged files: tree-sitter for code, the standard parsers for JSON, TOML and YAML."""

from __future__ import annotations

import importlib
import json
import tomllib
from functools import cache
from pathlib import PurePosixPath
from typing import Any

from agent.review.changes import FileChange
from agent.review.model import Finding

# suffix -> (grammar module, function returning the language)
GRAMMARS = {
    ".py": ("tree_sitter_python", "language"),
    ".pyi": ("tree_sitter_python", "language"),
    ".js": ("tree_sitter_javascript", "language"),
    ".mjs": ("tree_sitter_javascript", "language"),
    ".cjs": ("tree_sitter_javascript", "language"),
    ".jsx": ("tree_sitter_javascript", "language"),
    ".ts": ("tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tree_sitter_typescript", "language_tsx"),
    ".go": ("tree_sitter_go", "language"),
    ".rs": ("tree_sitter_rust", "language"),
    ".java": ("tree_sitter_java", "language"),
    ".c": ("tree_sitter_c", "language"),
    ".h": ("tree_sitter_c", "language"),
    ".cc": ("tree_sitter_cpp", "language"),
    ".cpp": ("tree_sitter_cpp", "language"),
    ".cxx": ("tree_sitter_cpp", "language"),
    ".hpp": ("tree_sitter_cpp", "language"),
}


@cache
def _parser(suffix: str) -> Any:
    from tree_sitter import Language, Parser

    module, func = GRAMMARS[suffix]
    return Parser(Language(getattr(importlib.import_module(module), func)()))


def _first_error(node: Any) -> Any:
    """The first ERROR or MISSING node under `node`, depth first."""
    if node.is_error or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing:
            found = _first_error(child)
            if found is not None:
                return found
    return node if node.has_error else None


def code_error(suffix: str, text: str) -> tuple[int, str] | None:
    """(1-based line, description) of the first syntax error, or None when the text parses."""
    if suffix in GRAMMARS:
        tree = _parser(suffix).parse(text.encode("utf-8"))
        if not tree.root_node.has_error:
            return None
        node = _first_error(tree.root_node)
        what = f"missing {node.type!r}" if node.is_missing else "unexpected syntax"
        return node.start_point[0] + 1, what
    return _data_error(suffix, text)


def _data_error(suffix: str, text: str) -> tuple[int, str] | None:
    try:
        if suffix == ".json":
            json.loads(text)
        elif suffix == ".toml":
            tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            list(yaml.safe_load_all(text))
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.msg
    except tomllib.TOMLDecodeError as exc:
        return _line_of(str(exc)), str(exc).split(" (at")[0]
    except Exception as exc:  # yaml.YAMLError, and its constructor errors on unknown tags
        mark = getattr(exc, "problem_mark", None)
        return (mark.line + 1 if mark else 1), str(getattr(exc, "problem", None) or exc).strip()
    return None


def _line_of(message: str) -> int:
    marker = "line "
    if marker in message:
        digits = message.split(marker, 1)[1].split(",")[0].split(")")[0]
        if digits.isdigit():
            return int(digits)
    return 1


SUFFIXES = set(GRAMMARS) | {".json", ".toml", ".yaml", ".yml"}


def syntax_errors(change: FileChange) -> list[Finding]:
    """A finding when the staged file does not parse but its previous version did (or it is new)."""
    suffix = PurePosixPath(change.path).suffix.lower()
    new = change.text("new")
    if suffix not in SUFFIXES or new is None:
        return []
    error = code_error(suffix, new)
    if error is None:
        return []
    old = change.text("old")
    if old is not None and code_error(suffix, old) is not None:
        return []  # it did not parse before either: not this change's doing
    line, what = error
    lines = new.splitlines()
    content = lines[line - 1] if 0 < line <= len(lines) else ""
    return [Finding("syntax_error", change.path, line, "high", f"syntax error: {what}", content=content)]
