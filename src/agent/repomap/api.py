"""Public entry points of the repo map: build_map and find_symbol."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import UsageError


@dataclass
class MapResult:
    """A rendered map: the files shown (best first, with scores), its token count and text."""

    files: list[tuple[str, float]] = field(default_factory=list)
    tokens: int = 0
    text: str = ""


@dataclass
class SymbolHit:
    """One place a symbol occurs: path, 1-based line, and the line's text (or the signature)."""

    path: str
    line: int
    text: str
    kind: str = "reference"


def build_map(root: Path, query: str = "", focus: list[str] | None = None, budget: int = 1024) -> MapResult:
    """Rank the repository at `root` for `query` (and `focus` files) and render it within `budget` tokens."""
    from agent.repomap.index import load_index
    from agent.repomap.rank import rank_files
    from agent.repomap.render import render

    if budget <= 0:
        raise UsageError(f"budget must be a positive number of tokens, got {budget}")
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"repository path is not a directory: {root}")
    index = load_index(root)
    focus_rel = [_relative(index.root, f) for f in focus or []]
    ranked, q = rank_files(index, query, focus_rel)
    shown, text, tokens = render(index, ranked, q, budget)
    scores = dict(ranked)
    return MapResult([(index.paths[i], round(scores[i], 6)) for i in shown], tokens, text)


def _relative(root: Path, path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(root).as_posix()
        except ValueError:
            return path
    return p.as_posix().removeprefix("./")


def find_symbol(root: Path, name: str, max_refs: int = 200) -> tuple[list[SymbolHit], list[SymbolHit]]:
    """Definitions of `name` (exact, else case-insensitive) and the lines that reference it."""
    from agent.repomap.index import load_index

    index = load_index(Path(root))
    defs, referencing = [], []
    for i, file_defs in enumerate(index.defs):
        for d in file_defs:
            if d.name == name:
                defs.append(SymbolHit(index.paths[i], d.line, d.sig, d.kind))
    if not defs:
        for i, file_defs in enumerate(index.defs):
            defs += [SymbolHit(index.paths[i], d.line, d.sig, d.kind) for d in file_defs if d.name.lower() == name.lower()]
    word = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
    def_lines = {(h.path, h.line) for h in defs}
    for path in index.paths:
        if len(referencing) >= max_refs:
            break
        referencing += _grep(index.root / path, path, word, def_lines, max_refs - len(referencing))
    return defs, referencing


def _grep(file: Path, path: str, word: re.Pattern[str], skip: set[tuple[str, int]], limit: int) -> list[SymbolHit]:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if not word.search(text):
        return []
    hits = []
    for n, line in enumerate(text.splitlines(), 1):
        if word.search(line) and (path, n) not in skip:
            hits.append(SymbolHit(path, n, line.strip()[:200]))
            if len(hits) >= limit:
                break
    return hits
