"""Rendering a ranked repository into text that fits an exact token budget.

The best files are shown in detail: their most relevant definitions, as signatures nested within
their enclosing class, and for the first MATCH_FILES files the few lines that match the query best
(`  123| text`, in source order among the signatures). The next files get one line each (path and
main names). The final text is counted as a whole and trimmed until it fits.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.repomap.files import read_source
from agent.repomap.tags import Def
from agent.repomap.text import WORD, subwords
from agent.repomap.tokens import counter

if TYPE_CHECKING:
    from agent.repomap.index import RepoIndex
    from agent.repomap.rank import Query

DETAIL_SHARE = 0.7  # of the budget, for detailed files while more files wait for a line
MAX_DETAIL_DEFS = 30
MATCH_FILES, MATCH_LINES, MATCH_CHARS = 5, 3, 160
_IMPORT = re.compile(r"\s*(import\s|from\s+\S+\s+import\s|#include|use\s|require\()")
NAMES_PER_LINE = 4
_KIND_BONUS = {
    "class": 0.3, "interface": 0.3, "struct": 0.3, "trait": 0.3, "impl": 0.2, "function": 0.1, "method": 0.1,
    "field": -0.3, "constant": -0.2, "variable": -0.3,
}


def def_score(d: Def, q: Query, refcount: dict[str, int]) -> float:
    """How much a definition deserves a line: query match, then how widely it is used."""
    score = _KIND_BONUS.get(d.kind, 0.0) - 0.1 * d.depth + 0.2 * math.log1p(refcount.get(d.name, 0))
    if d.name.lower() in q.names:
        score += 5.0
    score += sum(q.terms.get(t, 0.0) for t in set(subwords(d.name)))
    if d.name.startswith("_") and not d.name.startswith("__"):
        score -= 0.3
    return score


def _chosen(defs: list[Def], order: list[int], k: int) -> list[int]:
    """The top-k definitions plus their enclosing definitions, in source order."""
    keep: set[int] = set()
    for i in order[:k]:
        keep.add(i)
        depth = defs[i].depth
        for j in range(i - 1, -1, -1):
            if depth == 0:
                break
            if defs[j].depth < depth and defs[j].end >= defs[i].line:
                keep.add(j)
                depth = defs[j].depth
    return sorted(keep)


def matched_lines(source: bytes, q: Query, skip: set[int], k: int = MATCH_LINES) -> list[tuple[int, str]]:
    """The k lines (1-based number, stripped text) that share the most query weight, 2 words at least.

    One regex pass over the lower-cased file finds the lines holding two query terms or more; only
    those are split into words and scored. Imports are left out: the map's signatures say more.
    """
    terms = sorted((t for t in q.idf if len(t) > 2), key=len, reverse=True)
    if len(terms) < 2:
        return []
    text = source.decode("utf-8", "replace")
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    seen: dict[int, set[str]] = {}
    for m in re.finditer("|".join(map(re.escape, terms)), text.lower()):
        seen.setdefault(bisect_right(starts, m.start()), set()).add(m.group(0))
    lines = text.splitlines()
    scored = []
    for n, found in seen.items():
        if len(found) < 2 or n in skip or n > len(lines):
            continue
        raw = lines[n - 1]
        if _IMPORT.match(raw):
            continue
        words = [w for w in set(WORD.findall(raw)) if q.idf.keys() & set(subwords(w))]
        hit = {t for w in words for t in subwords(w)}.intersection(q.idf)
        if len(words) >= 2:
            scored.append((-sum(q.idf[t] * q.terms[t] for t in hit), n, raw.strip()[:MATCH_CHARS]))
    return sorted((n, line) for _, n, line in sorted(scored)[:k])


def _detail_block(path: str, defs: list[Def], idx: list[int], matches: Sequence[tuple[int, str]] = ()) -> str:
    rows = [(defs[i].line, "  " + "  " * defs[i].depth + defs[i].sig) for i in idx]
    for n, text in matches:
        depth = max((defs[i].depth + 1 for i in idx if defs[i].line < n <= defs[i].end), default=0)
        rows.append((n, "  " + "  " * depth + f"{n}| {text}"))
    rows.sort(key=lambda r: r[0])
    return "\n".join([f"{path}:"] + [r[1] for r in rows]) + "\n"


def _line(path: str, defs: list[Def], order: list[int]) -> str:
    names = []
    for i in order:
        if defs[i].name not in names:
            names.append(defs[i].name)
        if len(names) == NAMES_PER_LINE:
            break
    return f"{path}" + (f": {', '.join(names)}" if names else "") + "\n"


def _fit(pieces: list[tuple[int, str]], budget: int) -> tuple[list[tuple[int, str]], str, int]:
    """Drop pieces from the end until the joined text's exact count is within budget."""
    count = counter()[0]
    while pieces:
        if pieces[-1][0] == -1:  # never end on a bare heading
            pieces = pieces[:-1]
            continue
        text = "".join(p for _, p in pieces)
        tokens = count([text])[0]
        if tokens <= budget:
            return pieces, text, tokens
        pieces = pieces[:-1]
    return [], "", 0


class _Files:
    """Per-file rendering material, computed only for the files actually considered."""

    def __init__(self, index: RepoIndex, q: Query) -> None:
        self.index, self.q = index, q
        self.count = counter()[0]
        self._order: dict[int, list[int]] = {}
        self._line: dict[int, tuple[str, int]] = {}
        self._matches: dict[int, list[tuple[int, str]]] = {}

    def order(self, i: int) -> list[int]:
        """Definitions of file i, most deserving first."""
        if i not in self._order:
            defs = self.index.defs(i)
            scores = [def_score(d, self.q, self.index.refcount) for d in defs]
            self._order[i] = sorted(range(len(defs)), key=lambda j: (-scores[j], j))
        return self._order[i]

    def line(self, i: int) -> tuple[str, int]:
        """File i's one-line entry and its token count (the bare path for a lexical-only file)."""
        if i not in self._line:
            if self.index.lexical_only(i):
                text = _line(self.index.paths[i], [], [])
            else:
                text = _line(self.index.paths[i], self.index.defs(i), self.order(i))
            self._line[i] = (text, self.count([text])[0])
        return self._line[i]

    def matches(self, i: int) -> list[tuple[int, str]]:
        """The lines of file i that match the query best (its definition lines left out)."""
        if i not in self._matches:
            data = read_source(self.index.root / self.index.paths[i]) if self.q.idf else None
            skip = {d.line for d in self.index.defs(i)}
            self._matches[i] = matched_lines(data, self.q, skip) if data is not None else []
        return self._matches[i]

    def block(self, i: int, k: int, rank: int = MATCH_FILES) -> tuple[str, int]:
        """File i in detail with its k best definitions (and matched lines when among the first), its tokens."""
        defs = self.index.defs(i)
        matches = self.matches(i) if rank < MATCH_FILES else []
        text = _detail_block(self.index.paths[i], defs, _chosen(defs, self.order(i), k), matches)
        return text, self.count([text])[0]


def _detail_budget(files: _Files, ranked: list[int], budget: int) -> int:
    """Half the budget, or more when one line per file leaves room to spare."""
    lines = 0
    for i in ranked:
        lines += files.line(i)[1]
        if lines > budget * (1 - DETAIL_SHARE):
            return int(budget * DETAIL_SHARE)
    return budget - lines


def _details(files: _Files, ranked: list[int], detail_budget: int) -> list[tuple[int, str]]:
    pieces: list[tuple[int, str]] = []
    used = 0
    for rank, i in enumerate(ranked):
        n = len(files.order(i))
        k = min(max(2, MAX_DETAIL_DEFS // (rank + 1)), n)
        while k > 0:
            block, cost = files.block(i, k, rank)
            if used + cost <= detail_budget:
                break
            k = k - 1 if k <= 4 else k // 2
        if k <= 0 and n:
            break
        if not n:
            block, cost = files.line(i)
            if used + cost > detail_budget:
                break
        pieces.append((i, block))
        used += cost
    return pieces


_OTHERS = "\nOther relevant files:\n"


def render(index: RepoIndex, ranked: list[tuple[int, float]], q: Query, budget: int) -> tuple[list[int], str, int]:
    """(positions of the files shown, best first; text; its token count) within `budget` tokens."""
    files = _Files(index, q)
    order = [i for i, _ in ranked[: budget // 3 + 1]]  # a listed file costs at least 3 tokens
    pieces = _details(files, order, _detail_budget(files, order, budget))
    used = files.count(["".join(p for _, p in pieces)])[0]
    rest = order[len(pieces):]
    if rest:
        pieces.append((-1, _OTHERS))
        used += files.count([_OTHERS])[0]
        for i in rest:
            text, cost = files.line(i)
            if used + cost > budget:
                break
            pieces.append((i, text))
            used += cost
    if pieces and pieces[-1][0] == -1:
        pieces.pop()
    pieces, text, tokens = _fit(pieces, budget)
    return [i for i, _ in pieces if i >= 0], text, tokens
