"""Ranking: BM25 over sub-word terms, path matches and a personalised PageRank over the symbol graph."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.repomap.text import STOPWORDS, WORD, subwords

if TYPE_CHECKING:
    from agent.repomap.index import RepoIndex

K1, B = 1.2, 0.75
DAMPING = 0.85
# weights of the fused signals (each normalised to [0, 1] over the repository)
W_BM25, W_DEFS, W_PATH, W_GRAPH, W_PRIOR = 1.0, 0.6, 0.5, 0.5, 0.15
_PATHLIKE = re.compile(r"[\w.-]*[/\\][\w./\\-]+|[\w-]+\.[A-Za-z]{1,4}\b")
_CODE = re.compile(r"`([^`]+)`")


@dataclass
class Query:
    """A query broken into lexical terms, identifier-like words and mentioned paths."""

    terms: dict[str, float] = field(default_factory=dict)  # term -> weight
    names: set[str] = field(default_factory=set)  # lower-case words that may name a definition
    paths: list[str] = field(default_factory=list)


def parse_query(text: str) -> Query:
    """Split a free-text query; code-like words (in backticks, snake_case, CamelCase, calls) weigh double."""
    q = Query()
    code = {w for span in _CODE.findall(text) for w in WORD.findall(span)}
    for m in _PATHLIKE.finditer(text):
        q.paths.append(m.group(0).replace("\\", "/").strip("./"))
    for word in WORD.findall(text):
        codey = word in code or "_" in word.strip("_") or (word[:1].islower() and any(c.isupper() for c in word))
        codey = codey or (word[0].isupper() and any(c.isupper() for c in word[1:]))
        low = word.lower()
        if low not in STOPWORDS and len(low) > 2:
            q.names.add(low)
        for term in subwords(word):
            q.terms[term] = max(q.terms.get(term, 0.0), 2.0 if codey else 1.0)
    return q


def pagerank(n: int, edges: tuple[Any, Any, Any], personal: Any, iters: int = 40, tol: float = 1e-6) -> Any:
    """Personalised PageRank by power iteration until the L1 change is below `tol`; `personal` sums to 1."""
    src, dst, w = edges
    out = np.bincount(src, weights=w, minlength=n)
    norm = np.divide(w, out[src], out=np.zeros_like(w), where=out[src] > 0)
    dangling = out == 0
    r = personal.copy()
    for _ in range(iters):
        spread = np.bincount(dst, weights=norm * r[src], minlength=n)
        new = DAMPING * (spread + r[dangling].sum() * personal) + (1 - DAMPING) * personal
        done = np.abs(new - r).sum() < tol
        r = new
        if done:
            break
    return r


def _bm25(index: RepoIndex, terms: dict[str, float]) -> tuple[Any, dict[str, float]]:
    n = len(index.paths)
    scores = np.zeros(n)
    idfs: dict[str, float] = {}
    avg = float(index.doclen.mean()) if n else 1.0
    for term, weight in terms.items():
        tid = index.vocab.get(term)
        if tid is None:
            continue
        lo, hi = index.post_ptr[tid], index.post_ptr[tid + 1]
        docs, tf = index.post_doc[lo:hi], index.post_tf[lo:hi]
        idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
        idfs[term] = idf
        scores[docs] += weight * idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * index.doclen[docs] / avg))
    return scores, idfs


def _norm(x: Any) -> Any:
    top = float(x.max()) if len(x) else 0.0
    return x / top if top > 0 else x


def _path_scores(index: RepoIndex, q: Query, idfs: dict[str, float]) -> Any:
    scores = np.zeros(len(index.paths))
    if idfs:
        for i, pt in enumerate(index.path_terms):
            hit = pt.intersection(idfs)
            if hit:
                scores[i] = sum(idfs[t] * q.terms[t] for t in hit)
    return scores


def _mentions(index: RepoIndex, q: Query) -> Any:
    scores = np.zeros(len(index.paths))
    for mention in q.paths:
        for i, p in enumerate(index.paths):
            if p == mention or p.endswith("/" + mention) or p.rsplit("/", 1)[-1] == mention:
                scores[i] = 1.0
    return scores


def _def_scores(index: RepoIndex, q: Query) -> Any:
    scores = np.zeros(len(index.paths))
    for name in q.names:
        ds = index.definers.get(name)
        if ds:
            for j in ds:
                scores[j] += 1.0 / len(ds)
    return scores


def rank_files(index: RepoIndex, query: str, focus: list[str]) -> tuple[list[tuple[int, float]], Query]:
    """All files as (position, score), best first, and the parsed query."""
    n = len(index.paths)
    q = parse_query(query)
    if n == 0:
        return [], q
    bm25, idfs = _bm25(index, q.terms)
    lexical = W_BM25 * _norm(bm25) + W_DEFS * _norm(_def_scores(index, q))
    lexical += W_PATH * _norm(_path_scores(index, q, idfs))
    lexical += _mentions(index, q)
    focus_ids = [i for i in (index.position(f) for f in focus) if i is not None]
    personal = lexical * index.penalty
    personal[focus_ids] += max(float(personal.sum()), 1.0) / max(len(focus_ids), 1)
    if personal.sum() > 0:
        graph = _norm(pagerank(n, index.edges, personal / personal.sum()))
    else:
        graph = np.zeros(n)
    score = (lexical + W_GRAPH * graph + W_PRIOR * _norm(index.prior)) * index.penalty
    score[focus_ids] += 0.5
    order = np.lexsort((np.arange(n), -score))
    return [(int(i), float(score[i])) for i in order], q
