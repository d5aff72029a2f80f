"""Experiment (issue 19): a dense MiniLM similarity signal over the top-K candidates of the ranking.

    PYTHONPATH=src python bench/dense_exp.py --split tune --k 100 --depth 0 --names 12 --out bench/data/dense-tune.pkl
Dumps, per task, the existing signals plus "dense" (cosine of query and file text, 0 outside the top K),
in bench/localize.py's --dump format, with the candidate ids and the gold ranks.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from localize import checkout  # noqa: E402

_DOC = re.compile(rb'\A(?:\s*#[^\n]*\n)*\s*[rRuU]?("""|\'\'\')\s*(.*?)(?:\n|\1)', re.S)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words(name: str) -> str:
    """CamelCase and snake_case split into words."""
    return _CAMEL.sub(" ", name).replace("_", " ").strip()


DEPTH, MAXN = 0, 40


def file_text(index, i: int) -> str:
    """Path words, the module docstring's first line and the first MAXN definition names (depth <= DEPTH)."""
    max_names = MAXN
    path = index.paths[i]
    stem = path.rsplit(".", 1)[0].replace("/", " ").replace("_", " ")
    names = []
    for d in index.defs(i):
        if d.depth <= DEPTH and d.name not in names:
            names.append(d.name)
    names_text = ", ".join(words(n) for n in names[:max_names])
    doc = ""
    try:
        head = (index.root / path).read_bytes()[:4096]
        m = _DOC.match(head)
        if m:
            doc = m.group(2).decode("utf-8", "replace").strip()[:200]
    except OSError:
        pass
    return f"{stem}. {doc} {names_text}".strip()


def embed_missing(emb, index, todo: list, cache: dict, toks: list[int]) -> float:
    """Embed the files of `todo` ((key, position) pairs) into `cache`; returns the seconds spent embedding."""
    if not todo:
        return 0.0
    texts = [file_text(index, i) for _, i in todo]
    toks.extend(len(e.ids) for e in emb.tokenizer.encode_batch(texts))
    t0 = time.perf_counter()
    vecs = emb.embed(texts)
    for (k, _), v in zip(todo, vecs, strict=True):
        cache[k] = v
    return time.perf_counter() - t0


def main() -> None:
    """Rank each task, embed the top K candidates (cached by path and content digest), dump the signals."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="tune")
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("bench/data/dense-tune.pkl"))
    ap.add_argument("--cache", type=Path, default=Path("bench/data/dense-cache.pkl"))
    ap.add_argument("--depth", type=int, default=0)
    ap.add_argument("--names", type=int, default=40)
    args = ap.parse_args()
    global DEPTH, MAXN
    DEPTH, MAXN = args.depth, args.names
    from agent.memory.embed import embedder
    from agent.repomap.history import load_history
    from agent.repomap.index import CACHE_DIR, load_index
    from agent.repomap.rank import rank

    tasks = [json.loads(x) for x in Path("bench/data/localize-large.jsonl").read_text().splitlines() if x.strip()]
    tasks = [t for t in tasks if t["split"] == args.split]
    cache: dict = pickle.loads(args.cache.read_bytes()) if args.cache.exists() else {}
    emb = embedder()
    dump = {}
    n_emb, t_emb = 0, 0.0
    toks: list[int] = []
    for task in sorted(tasks, key=lambda t: (t["repo"], t["date"])):
        repo = checkout(Path("bench/data/repos"), Path("/work/.mirror"), task["repo"], task["parent"])
        index = load_index(repo)
        r = rank(index, task["query"], [], load_history(index.root, index.root / CACHE_DIR))
        order = [i for i, _ in r.ranked]
        cand = order[: args.k]
        keys = [(index.paths[i], index.stats[i][2]) for i in cand]
        todo = [(k, i) for k, i in zip(keys, cand, strict=True) if k not in cache]
        t_emb += embed_missing(emb, index, todo, cache, toks)
        n_emb += len(todo)
        qv = emb.embed([task["query"]])[0]
        dense = np.zeros(len(index.paths), dtype=np.float32)
        for k, i in zip(keys, cand, strict=True):
            dense[i] = float(cache[k] @ qv)
        gold = [index.paths.index(g) for g in task["gold_files"] if g in index.paths]
        pos = {i: p for p, i in enumerate(order, 1)}
        sig = {k: np.asarray(v, dtype=np.float32) for k, v in r.signals.items()}
        sig["dense"] = dense
        dump[task["task_id"]] = {"penalty": np.asarray(index.penalty, dtype=np.float32), "signals": sig,
                                 "gold": gold, "cand": np.asarray(cand), "gold_rank": [pos[g] for g in gold]}
        gr = min((pos[g] for g in gold), default=0)
        gd = max((float(dense[g]) for g in gold), default=0.0)
        print(f"{task['task_id']:<24} rank {gr:>4} dense {gd:.3f} max {dense.max():.3f} "
              f"new {len(todo)} files/s {n_emb / max(t_emb, 1e-9):.0f}", file=sys.stderr, flush=True)
    args.out.write_bytes(pickle.dumps(dump))
    args.cache.write_bytes(pickle.dumps(cache))
    print(f"tokens per text: median {sorted(toks)[len(toks) // 2]}, mean {sum(toks) / max(len(toks), 1):.0f}")
    print(f"embedded {n_emb} files in {t_emb:.1f}s: {n_emb / max(t_emb, 1e-9):.1f} files/s")


if __name__ == "__main__":
    main()
