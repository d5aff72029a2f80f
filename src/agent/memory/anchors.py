"""Anchors: the code a note is about, hashed so that recall can say fresh, stale or orphaned.

A symbol's text is found with Python's `ast` for .py files (dotted names reach methods: `Class.method`),
and with a small heuristic elsewhere: the first line that looks like a definition of the name, then the
brace-balanced block that follows it, or the more-indented lines under it.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

from agent.errors import StoreError
from agent.memory.notes import Anchor

FRESH, STALE, ORPHANED = "fresh", "stale", "orphaned"
_RANK = {FRESH: 0, STALE: 1, ORPHANED: 2}
_DEF_WORDS = (
    r"def|class|function|func|fn|struct|interface|type|enum|trait|impl|const|let|var|module|macro|"
    r"public|private|protected|static|void|int|export|async|pub"
)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split `path[:symbol]` into its parts."""
    path, _, symbol = spec.strip().partition(":")
    if not path:
        raise StoreError(f"bad anchor {spec!r}: expected PATH[:SYMBOL]")
    return path, symbol or None


def _python_span(source: str, symbol: str) -> tuple[int, int] | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    body: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for part in symbol.split("."):
        node = next((n for n in body if _defines(n, part)), None)
        if node is None:
            return None
        body = getattr(node, "body", [])
    assert isinstance(node, ast.stmt) and node.end_lineno is not None
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first, node.end_lineno


def _defines(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return False


def _block_end(lines: list[str], start: int) -> int:
    """Index one past the block at `lines[start]`: brace-balanced if it opens one within 3 lines, else indented."""
    depth, opened = 0, False
    for i in range(start, len(lines)):
        code = re.sub(r"(\"(\\.|[^\"])*\"|'(\\.|[^'])*'|//.*$)", "", lines[i])
        depth += code.count("{") - code.count("}")
        opened = opened or "{" in code
        if opened and depth <= 0:
            return i + 1
        if not opened and i >= start + 2:
            break
    if opened:
        return len(lines)
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    for i in range(start + 1, len(lines)):
        if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= indent:
            break
        end = i + 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _generic_span(source: str, symbol: str) -> tuple[int, int] | None:
    name = re.escape(symbol.split(".")[-1])
    definition = re.compile(rf"^\s*(?:(?:{_DEF_WORDS})\b.*?\b{name}\b|[\w<>\[\]\*&:\s]+\b{name}\s*\()")
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if definition.match(line) and not line.rstrip().endswith(";"):
            return i + 1, _block_end(lines, i)
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _span(path: Path, source: str, symbol: str) -> tuple[int, int] | None:
    return (_python_span if path.suffix in (".py", ".pyi") else _generic_span)(source, symbol)


def symbol_span(path: Path, symbol: str) -> tuple[int, int] | None:
    """The first and last line (1-based) of a symbol in a file; None when either is gone."""
    source = _read(path)
    return None if source is None else _span(path, source, symbol)


def symbol_text(path: Path, symbol: str | None) -> str | None:
    """The text of a whole file or of one symbol in it; None when either is gone."""
    source = _read(path)
    if source is None or not symbol:
        return source
    span = _span(path, source, symbol)
    return None if span is None else "\n".join(source.splitlines()[span[0] - 1 : span[1]])


def code_hash(text: str) -> str:
    """Hash code text, ignoring trailing whitespace and line-ending style."""
    normal = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip("\n")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:16]


def make_anchor(root: Path, spec: str) -> Anchor:
    """Resolve `path[:symbol]` inside `root` and record the hash of that code."""
    rel, symbol = parse_spec(spec)
    path = (root / rel).resolve()
    if path != root and root.resolve() not in path.parents:
        raise StoreError(f"anchor outside the repository: {rel}")
    text = symbol_text(path, symbol)
    if text is None:
        what = f"symbol {symbol!r} in {rel}" if symbol and path.is_file() else rel
        raise StoreError(f"cannot anchor to {spec}: {what} not found")
    return Anchor(path.relative_to(root.resolve()).as_posix(), symbol, code_hash(text))


def anchor_status(root: Path, anchor: Anchor) -> str:
    """fresh (code unchanged), stale (changed) or orphaned (file or symbol gone)."""
    text = symbol_text(root / anchor.path, anchor.symbol)
    if text is None:
        return ORPHANED
    return FRESH if anchor.hash is None or code_hash(text) == anchor.hash else STALE


def note_status(root: Path, anchors: list[Anchor]) -> str:
    """The worst status of a note's anchors (fresh when it has none)."""
    return max((anchor_status(root, a) for a in anchors), key=_RANK.__getitem__, default=FRESH)


LARGE_FILE = 200  # lines: in a longer file a symbol's note comes back only when the call covers that symbol


def covers(root: Path, anchor: Anchor, ranges: list[tuple[int, int]] | None) -> bool:
    """Whether a call that showed or changed `ranges` of the anchor's file (None: all of it) touched the anchor.

    A file anchor, a small file, and a symbol that cannot be found (the note must say it is orphaned)
    count as touched by any part of the file.
    """
    if ranges is None or anchor.symbol is None:
        return True
    source = _read(root / anchor.path)
    if source is None or source.count("\n") < LARGE_FILE:
        return True
    span = _span(root / anchor.path, source, anchor.symbol)
    return span is None or any(start <= span[1] and end >= span[0] for start, end in ranges)


_PATHLIKE = re.compile(r"[A-Za-z0-9_.\-]*/[A-Za-z0-9_.\-/]*")


def mentioned_paths(text: str) -> list[str]:
    """Paths a note's text names: `dir/file.ext` (a file) or `dir/sub/`, `dir/<name>`, `dir/*.ext` (a folder).

    A folder needs two parts, or a placeholder after it, so that "in docs/" alone does not tie a note to
    every file under docs. URLs are skipped.
    """
    out = []
    for m in _PATHLIKE.finditer(text):
        token = m.group().rstrip(".")  # a sentence may end right after a path
        if text[max(0, m.start() - 1) : m.start()] == ":" or "//" in token:
            continue
        parts = [p for p in token.split("/") if p and p not in (".", "..")]
        if not parts:
            continue
        placeholder = text[m.start() + len(token) : m.start() + len(token) + 1] in ("<", "*", "{")
        if "." in parts[-1].strip(".") and not token.endswith("/") and not placeholder:
            out.append("/".join(parts))
        elif len(parts) >= 2 or placeholder:
            out.append("/".join(parts) + "/")
    return list(dict.fromkeys(out))


def mentions(patterns: list[str], path: str) -> bool:
    """Whether a repository path is one of the mentioned files or lies in one of the mentioned folders."""
    full = "/" + path.strip("/")
    return any(("/" + p) in full + "/" if p.endswith("/") else full.endswith("/" + p) for p in patterns)
