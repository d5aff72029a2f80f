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
FOCUS_GRAPH = 0.5  # weight of the graph signal when focus files are given (the dev set has none)
# weights of the fused signals (each normalised to [0, 1] over the repository), fitted for MRR by
# `bench/localize.py --tune` on the tune half of bench/data/localize-large.jsonl (sympy, astropy,
# sqlalchemy, networkx) and frozen; the test half is the held-out figure
WEIGHTS = {"bm25": 1.0, "defs": 0.2, "code": 0.3, "path": 1.0, "mention": 1.0, "module": 0.0, "history": 0.5,
           "graph": 0.0, "prior": 0.1, "churn": 0.3, "core": 0.3}
_PATHLIKE = re.compile(r"[\w.-]*[/\\][\w./\\-]+|[\w-]+\.[A-Za-z]{1,4}\b")
_CODE = re.compile(r"`([^`]+)`")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")


@dataclass
class Query:
    """A query broken into lexical terms, identifier-like words and mentioned paths."""

    terms: dict[str, float] = field(default_factory=dict)  # term -> weight
    names: set[str] = field(default_factory=set)  # lower-case words that may name a definition
    code: set[str] = field(default_factory=set)  # lower-case names written as code (`x`, x(), snake, Camel, a.b)
    paths: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)  # dotted names: a.b.c may be a module path
    idf: dict[str, float] = field(default_factory=dict)  # of the terms found in the repository


def parse_query(text: str) -> Query:
    """Split a free-text query; code-like words (in backticks, snake_case, CamelCase, calls) weigh double."""
    q = Query()
    code = {w for span in _CODE.findall(text) for w in WORD.findall(span)}
    code.update(_CALL.findall(text))
    for m in _PATHLIKE.finditer(text):
        q.paths.append(m.group(0).replace("\\", "/").strip("./"))
    for m in _DOTTED.finditer(text):
        q.modules.append(m.group(0).lower())
        code.update(m.group(0).split("."))
    for word in WORD.findall(text):
        codey = word in code or "_" in word.strip("_") or (word[:1].islower() and any(c.isupper() for c in word))
        codey = codey or (word[0].isupper() and any(c.isupper() for c in word[1:]))
        low = word.lower()
        if low not in STOPWORDS and len(low) > 2:
            q.names.add(low)
            if codey:
                q.code.add(low)
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


def _modules(index: RepoIndex, q: Query) -> Any:
    """Files whose dotted module name ends with a dotted name of the query (two parts at least)."""
    scores = np.zeros(len(index.paths))
    if not q.modules:
        return scores
    tails: set[str] = set()
    for m in q.modules:
        parts = m.split(".")
        tails.update(".".join(parts[k:j]) for k in range(len(parts)) for j in range(k + 2, len(parts) + 1))
    for i, p in enumerate(index.paths):
        mod = p.rsplit(".", 1)[0].replace("/", ".").removesuffix(".__init__").lower()
        parts = mod.split(".")
        if any(".".join(parts[k:]) in tails for k in range(len(parts) - 1)):
            scores[i] = 1.0
    return scores


def _def_scores(index: RepoIndex, q: Query, code_only: bool = False) -> Any:
    scores = np.zeros(len(index.paths))
    for name in q.code if code_only else q.names:
        ds = index.definers.get(name)
        if ds:
            for j in ds:
                scores[j] += 1.0 / len(ds)
    return scores


def _core(index: RepoIndex, penalty: Any) -> Any:
    """1 for the files under the top-level directory that holds the most source files (the main package).

    Scripts, release tools, hooks and examples beside the package are rarely what a bug report is about.
    All zeros when every file is under that directory (nothing to tell apart).
    """
    tops = [p.split("/", 1)[0] if "/" in p else "" for p in index.paths]
    counts: dict[str, float] = {}
    for top, w in zip(tops, penalty, strict=True):
        if w >= 1.0:
            counts[top] = counts.get(top, 0.0) + 1.0
    if not counts:
        return np.zeros(len(tops))
    main = max(counts, key=lambda k: (counts[k], k))
    core = np.asarray([1.0 if t == main else 0.0 for t in tops])
    return core if core.min() == 0.0 else np.zeros(len(tops))


@dataclass
class Ranking:
    """All files best first as (position, score), the parsed query, and each signal per file (in [0, 1])."""

    ranked: list[tuple[int, float]]
    query: Query
    signals: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def why(self, i: int) -> dict[str, float]:
        """The weighted contribution of each signal to file i's score, largest first, zeros left out."""
        w = self.weights
        parts = {name: float(w[name] * sig[i]) for name, sig in self.signals.items() if sig[i] > 0}
        return dict(sorted(((k, round(v, 4)) for k, v in parts.items() if v >= 5e-5), key=lambda kv: -kv[1]))


def signals(index: RepoIndex, q: Query, focus_ids: list[int], history: Any = None) -> dict[str, Any]:
    """Every ranking signal of every file, each normalised to [0, 1] over the repository."""
    from agent.repomap.history import churn_scores, history_scores

    n = len(index.paths)
    bm25, idfs = _bm25(index, q.terms)
    q.idf = idfs
    sig = {
        "bm25": _norm(bm25),
        "defs": _norm(_def_scores(index, q)),
        "code": _norm(_def_scores(index, q, code_only=True)),
        "module": _modules(index, q),
        "path": _norm(_path_scores(index, q, idfs)),
        "mention": _mentions(index, q),
        "history": _norm(history_scores(history, index.paths, q.terms)),
    }
    lexical = sum(WEIGHTS[k] * sig[k] for k in sig)
    personal = lexical * index.penalty
    personal[focus_ids] += max(float(personal.sum()), 1.0) / max(len(focus_ids), 1)
    if personal.sum() > 0:
        sig["graph"] = _norm(pagerank(n, index.edges, personal / personal.sum()))
    else:
        sig["graph"] = np.zeros(n)
    sig["prior"] = _norm(index.prior)
    sig["core"] = _core(index, index.penalty)
    sig["churn"] = _norm(churn_scores(history, index.paths))
    return sig


def fuse(sig: dict[str, Any], penalty: Any, weights: dict[str, float] | None = None) -> Any:
    """The fused score of every file: the weighted signals times the file's category penalty."""
    w = weights or WEIGHTS
    return sum(w[k] * v for k, v in sig.items()) * penalty


def rank(index: RepoIndex, query: str, focus: list[str], history: Any = None) -> Ranking:
    """Rank all files for `query` and `focus` (files in context), with the signals behind each score."""
    n = len(index.paths)
    q = parse_query(query)
    if n == 0:
        return Ranking([], q)
    focus_ids = [i for i in (index.position(f) for f in focus) if i is not None]
    sig = signals(index, q, focus_ids, history)
    weights = dict(WEIGHTS)
    if focus_ids:  # files in context: their neighbours in the symbol graph matter
        weights["graph"] = max(weights["graph"], FOCUS_GRAPH)
    score = fuse(sig, index.penalty, weights)
    score[focus_ids] += 0.5
    order = np.lexsort((np.arange(n), -score))
    return Ranking([(int(i), float(score[i])) for i in order], q, sig, weights)


def rank_files(index: RepoIndex, query: str, focus: list[str]) -> tuple[list[tuple[int, float]], Query]:
    """All files as (position, score), best first, and the parsed query (no history signal)."""
    r = rank(index, query, focus)
    return r.ranked, r.query
