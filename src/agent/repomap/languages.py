"""Which tree-sitter grammar and tag query serve which file, loaded once per process.

Grammars come from the per-language wheels (tree_sitter_python, ...), which carry their parsers:
nothing is downloaded at run time. Queries are this package's own `queries/<name>.scm`.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib import resources
from typing import Any

# grammar name -> (module, function returning the language pointer)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}

# tsx shares the TypeScript query (its grammar is a superset)
QUERY_FILES = {"tsx": "typescript"}


def language_for(path: str) -> str | None:
    """The grammar name for a file path, or None when no grammar handles it."""
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return EXTENSIONS.get(path[dot:].lower())


@cache
def grammar(name: str) -> Any:
    """The tree_sitter.Language for a grammar name."""
    from tree_sitter import Language

    module, func = GRAMMARS[name]
    return Language(getattr(importlib.import_module(module), func)())


@cache
def query_source(name: str) -> str:
    """The text of the tag query for a grammar."""
    base = QUERY_FILES.get(name, name)
    return resources.files("agent.repomap").joinpath("queries").joinpath(f"{base}.scm").read_text(encoding="utf-8")


REFERENCES_MARKER = "; references"


@cache
def parser_and_queries(name: str) -> tuple[Any, Any, Any]:
    """(Parser, definitions Query, references Query) for a grammar, built once per process."""
    from tree_sitter import Parser, Query

    lang = grammar(name)
    defs, _, refs = query_source(name).partition(REFERENCES_MARKER)
    return Parser(lang), Query(lang, defs), Query(lang, refs)
