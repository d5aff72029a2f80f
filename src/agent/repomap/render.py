"""Rendering a ranked repository into text that fits an exact token budget.

The best files are shown in detail: their most relevant definitions, as signatures nested within
their enclosing class. The next files get one line each (path and main names), so a tight budget
still points at many candidates. The final text is counted as a whole and trimmed until it fits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from agent.repomap.tags import Def
from agent.repomap.text import subwords
from agent.repomap.tokens import counter

if TYPE_CHECKING:
    from agent.repomap.index import RepoIndex
    from agent.repomap.rank import Query

DETAIL_SHARE = 0.5  # of the budget, for detailed files while more files wait for a line
MAX_DETAIL_DEFS = 30
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


def _detail_block(path: str, defs: list[Def], idx: list[int]) -> str:
    lines = [f"{path}:"]
    lines += ["  " + "  " * defs[i].depth + defs[i].sig for i in idx]
    return "\n".join(lines) + "\n"


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
        text = "".join(p for _, p in pieces)
        tokens = count([text])[0]
        if tokens <= budget:
            return pieces, text, tokens
        pieces = pieces[:-1]
    return [], "", 0


def render(index: RepoIndex, ranked: list[tuple[int, float]], q: Query, budget: int) -> tuple[list[int], str, int]:
    """(positions of the files shown, best first; text; its token count) within `budget` tokens."""
    count = counter()[0]
    ranked = ranked[: budget // 3 + 1]  # a listed file costs at least 3 tokens
    orders = {}
    for i, _ in ranked:
        defs = index.defs(i)
        scores = [def_score(d, q, index.refcount) for d in defs]
        orders[i] = sorted(range(len(defs)), key=lambda j: (-scores[j], j))
    lines = {i: _line(index.paths[i], index.defs(i), orders[i]) for i, _ in ranked}
    line_cost = dict(zip(lines, count(list(lines.values())), strict=True))
    detail_budget = max(budget - sum(line_cost.values()), int(budget * DETAIL_SHARE))
    pieces: list[tuple[int, str]] = []
    used = 0
    shown_detail = 0
    for rank, (i, _) in enumerate(ranked):
        k = max(2, MAX_DETAIL_DEFS // (rank + 1))
        block = ""
        for kk in range(min(k, len(orders[i])), 0, -1):
            block = _detail_block(index.paths[i], index.defs(i), _chosen(index.defs(i), orders[i], kk))
            cost = count([block])[0]
            if used + cost <= detail_budget:
                break
            block = ""
        if not block:
            break
        pieces.append((i, block))
        used += cost
        shown_detail += 1
    rest = [i for i, _ in ranked[shown_detail:]]
    if rest:
        pieces.append((-1, "\nOther relevant files:\n"))
        used += 6
        for i in rest:
            if used + line_cost[i] > budget:
                break
            pieces.append((i, lines[i]))
            used += line_cost[i]
    pieces, text, tokens = _fit(pieces, budget)
    shown = [i for i, _ in pieces if i >= 0]
    if text.endswith("\nOther relevant files:\n"):
        text = text[: -len("\nOther relevant files:\n")]
        tokens = count([text])[0]
    return shown, text, tokens
