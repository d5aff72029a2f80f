"""The repository's own history as a ranking signal.

A bug report often resembles the messages of past commits in the same area, and those commits name
their files: a query is scored (BM25) against the last MAX_COMMITS commit messages reachable from
HEAD, and the files of the best-matching commits get a share of each commit's score. The commit
table is cached in <repo>/.agent/cache/repomap-history.pkl, keyed by HEAD; when HEAD moves forward
only the new commits are read (`git log OLD..HEAD`). No git, no commits: no signal.
"""

from __future__ import annotations

import math
import pickle
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.atomic import atomic_write_bytes
from agent.repomap.text import WORD, subwords

HISTORY_VERSION = 1
MAX_COMMITS = 5000
MAX_FILES = 30  # a commit touching more files says little about any one of them
TOP_COMMITS = 30
CHURN_COMMITS = 1000  # recent commits whose files count as "often changed"
_SEP_COMMIT, _SEP_FIELD = "\x1e", "\x1f"
K1, B = 1.2, 0.75


@dataclass
class History:
    """Commits newest first: their files, and postings of their message terms."""

    head: str = ""
    shas: list[str] = field(default_factory=list)
    files: list[tuple[str, ...]] = field(default_factory=list)
    terms: list[dict[str, int]] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=dict)  # term -> commit positions
    lengths: Any = None

    def index(self) -> None:
        """Build the postings and lengths from the per-commit terms."""
        post: dict[str, list[int]] = {}
        for k, terms in enumerate(self.terms):
            for t in terms:
                post.setdefault(t, []).append(k)
        self.postings = post
        self.lengths = np.asarray([sum(t.values()) for t in self.terms], dtype=np.float64)


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except OSError:
        return None
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def _read_log(root: Path, span: str, limit: int) -> list[tuple[str, tuple[str, ...], dict[str, int]]]:
    fmt = f"--format={_SEP_COMMIT}%H{_SEP_FIELD}%B{_SEP_FIELD}"
    out = _git(root, "log", "--no-merges", f"-n{limit}", fmt, "--name-only", span)
    commits = []
    for chunk in (out or "").split(_SEP_COMMIT)[1:]:
        parts = chunk.split(_SEP_FIELD)
        if len(parts) < 3:
            continue
        files = tuple(f for f in parts[2].split("\n") if f)
        if not files or len(files) > MAX_FILES:
            continue
        terms = Counter(t for w in WORD.findall(parts[1]) for t in subwords(w))
        commits.append((parts[0], files, dict(terms)))
    return commits


def load_history(root: Path, cache: Path) -> History | None:
    """The history of `root` up to HEAD, from the cache when HEAD is unchanged or moved forward."""
    head = (_git(root, "rev-parse", "--verify", "-q", "HEAD") or "").strip()
    if not head:
        return None
    path = cache / "repomap-history.pkl"
    old: History | None = None
    try:
        with path.open("rb") as fh:
            version, old = pickle.load(fh)
        if version != HISTORY_VERSION or not isinstance(old, History):
            old = None
    except Exception:  # missing, truncated or foreign: read the log again
        old = None
    if old is not None and old.head == head:
        return old
    span, keep = head, None
    if old is not None and old.shas and _git(root, "merge-base", "--is-ancestor", old.head, head) is not None:
        span, keep = f"{old.head}..{head}", old
    new = _read_log(root, span, MAX_COMMITS)
    hist = History(head=head)
    rows = [(s, f, t) for s, f, t in new]
    if keep is not None:
        rows += list(zip(keep.shas, keep.files, keep.terms, strict=True))
    rows = rows[:MAX_COMMITS]
    hist.shas = [r[0] for r in rows]
    hist.files = [r[1] for r in rows]
    hist.terms = [r[2] for r in rows]
    hist.index()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, pickle.dumps((HISTORY_VERSION, hist), protocol=5))
    except OSError:
        pass  # read-only checkout: computed again next time
    return hist


def history_scores(hist: History | None, paths: list[str], terms: dict[str, float]) -> Any:
    """Per file (in `paths` order): the summed share of the best-matching past commits' scores."""
    scores = np.zeros(len(paths))
    if hist is None or not hist.shas or not terms:
        return scores
    n = len(hist.shas)
    commit = np.zeros(n)
    avg = float(hist.lengths.mean()) or 1.0
    for term, weight in terms.items():
        docs = hist.postings.get(term)
        if not docs:
            continue
        idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
        tf = np.asarray([hist.terms[k][term] for k in docs], dtype=np.float64)
        length = hist.lengths[docs]
        commit[docs] += weight * idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
    top = np.argsort(-commit)[:TOP_COMMITS]
    where = {p: i for i, p in enumerate(paths)}
    for k in top:
        if commit[k] <= 0:
            break
        files = [where[f] for f in hist.files[k] if f in where]
        for i in files:
            scores[i] += commit[k] / math.sqrt(len(files))
    return scores


def churn_scores(hist: History | None, paths: list[str]) -> Any:
    """Per file: how much the last CHURN_COMMITS commits changed it (each commit shared among its files)."""
    scores = np.zeros(len(paths))
    if hist is None:
        return scores
    where = {p: i for i, p in enumerate(paths)}
    for files in hist.files[:CHURN_COMMITS]:
        hits = [where[f] for f in files if f in where]
        for i in hits:
            scores[i] += 1.0 / len(hits)
    return np.log1p(scores)
