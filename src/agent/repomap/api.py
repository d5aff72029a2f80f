"""Public entry points of the repo map: build_map and find_symbol."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import UsageError


@dataclass
class MapResult:
    """A rendered map: the files shown (best first, with scores), its token count and text.

    `why` has, per file shown, its rank among all files and the weighted signals behind its score.
    """

    files: list[tuple[str, float]] = field(default_factory=list)
    tokens: int = 0
    text: str = ""
    why: dict[str, dict] = field(default_factory=dict)


@dataclass
class SymbolHit:
    """One place a symbol occurs: path, 1-based line, and the line's text (or the signature)."""

    path: str
    line: int
    text: str
    kind: str = "reference"


def build_map(root: Path, query: str = "", focus: list[str] | None = None, budget: int = 1024) -> MapResult:
    """Rank the repository at `root` for `query` (and `focus` files) and render it within `budget` tokens."""
    from agent.repomap.history import load_history
    from agent.repomap.index import CACHE_DIR, load_index
    from agent.repomap.rank import rank
    from agent.repomap.render import render

    if budget <= 0:
        raise UsageError(f"budget must be a positive number of tokens, got {budget}")
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"repository path is not a directory: {root}")
    index = load_index(root)
    focus_rel = [_relative(index.root, f) for f in focus or []]
    history = load_history(index.root, index.root / CACHE_DIR) if query.strip() else None
    ranking = rank(index, query, focus_rel, history)
    shown, text, tokens = render(index, ranking.ranked, ranking.query, budget)
    scores = dict(ranking.ranked)
    position = {i: r for r, (i, _) in enumerate(ranking.ranked, 1)}
    why = {index.paths[i]: {"rank": position[i], "signals": ranking.why(i)} for i in shown}
    return MapResult([(index.paths[i], round(scores[i], 6)) for i in shown], tokens, text, why)


def _relative(root: Path, path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(root).as_posix()
        except ValueError:
            return path
    return p.as_posix().removeprefix("./")


def find_symbol(root: Path, name: str, max_refs: int = 200) -> tuple[list[SymbolHit], list[SymbolHit]]:
    """Definitions of `name` (exact, else case-insensitive) and the code lines that reference it."""
    from agent.repomap.index import load_index

    index = load_index(Path(root))
    low = name.lower()
    candidates = set(index.definers.get(low, []))
    # files indexed without parsing (tests, vendored, generated) are parsed here when they contain the name
    candidates.update(i for i, p in enumerate(index.paths) if index.lexical_only(i) and _contains(index.root / p, low))
    hits = [(i, d) for i in sorted(candidates) for d in index.defs(i) if d.name.lower() == low]
    exact = [(i, d) for i, d in hits if d.name == name]
    defs = [SymbolHit(index.paths[i], d.line, d.sig, d.kind) for i, d in exact or hits]
    def_lines = {(h.path, h.line) for h in defs}
    refs: list[SymbolHit] = []
    for path in index.paths:
        if len(refs) >= max_refs:
            break
        refs += _references(index.root / path, path, name, def_lines)[: max_refs - len(refs)]
    return defs, refs


def _contains(file: Path, lower_name: str) -> bool:
    from agent.repomap.files import read_source

    data = read_source(file)
    return data is not None and lower_name.encode() in data.lower()


def _references(file: Path, path: str, name: str, skip: set[tuple[str, int]]) -> list[SymbolHit]:
    """Reference lines of one file, found by the tree-sitter reference patterns."""
    from agent.repomap.files import read_source
    from agent.repomap.languages import language_for
    from agent.repomap.tags import references

    data = read_source(file)
    lang = language_for(path)
    if data is None or lang is None:
        return []
    if name.encode() not in data:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    found = references(data, lang, name)
    return [SymbolHit(path, n, lines[n - 1].strip()[:200]) for n in found if (path, n) not in skip and n <= len(lines)]
