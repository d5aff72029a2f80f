"""Grid of the dense weight over a bench/dense_exp.py dump, the other weights as shipped.

    PYTHONPATH=src python bench/dense_grid.py bench/data/dense-tune.pkl 10,20,50,100
Only the top K of the current ranking get the dense signal (raw cosine, min-max or max-scaled over them).
"""

from __future__ import annotations

import pickle
import sys

import numpy as np

from agent.repomap.rank import WEIGHTS


def task_ranks(dump: dict, k: int, mode: str, wd: float) -> list[int]:
    """Best gold rank per task with the dense signal added at weight `wd` to the top `k` candidates."""
    out = []
    for d in dump.values():
        base = sum(WEIGHTS[n] * v for n, v in d["signals"].items() if n != "dense") * d["penalty"]
        cand = d["cand"][:k]
        c = d["signals"]["dense"][cand]
        dense = np.zeros_like(base)
        if mode == "raw":
            dense[cand] = c
        elif mode == "minmax":
            dense[cand] = (c - c.min()) / max(float(c.max() - c.min()), 1e-9)
        else:
            dense[cand] = c / max(float(c.max()), 1e-9)
        score = base + wd * dense * d["penalty"]
        if not d["gold"]:
            out.append(0)
            continue
        best = max(score[g] for g in d["gold"])
        out.append(1 + int(np.sum(score > best)))
    return out


def stats(ranks: list[int]) -> list[float]:
    """top1/3/5/10 shares and MRR."""
    n = len(ranks)
    return [sum(1 for x in ranks if 0 < x <= k) / n for k in (1, 3, 5, 10)] + [sum(1 / x for x in ranks if x) / n]


def main() -> None:
    """Print the base figures, then one line per (K, scaling, weight)."""
    dump = pickle.loads(open(sys.argv[1], "rb").read())
    print("base", np.round(stats(task_ranks(dump, 1, "raw", 0.0)), 3), len(dump))
    for k in (int(a) for a in sys.argv[2].split(",")):
        for mode in ("raw", "minmax", "max"):
            for wd in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0):
                print(f"k {k:>3} {mode:<6} w {wd:<4}", np.round(stats(task_ranks(dump, k, mode, wd)), 3))


if __name__ == "__main__":
    main()
