"""Localization benchmark: where the gold files come in a map's order, ours beside BM25 and aider.

    PYTHONPATH=src python bench/localize.py --tasks bench/data/localize-large.jsonl \
        [--tools agent,bm25,aider] [--aider-python /work/tmp-venvs/aider/bin/python] [--budget 1024] \
        [--split test] [--repos sympy,astropy] [--per-repo 0] [--results bench/data/localize-results.jsonl]

Each task's parent commit is checked out in a clone under --data (made with `git clone --shared`
from --mirrors/<owner>+<name>/repo, so the history up to the parent is there; only code files are
checked out, as a snapshot may lack large data blobs). Per task and tool, the ranked files are
appended to --results; the table is computed from that file, so tools can be run one at a time
(aider is slow on large repositories) and a rerun of one tool replaces its rows.

- agent: `agent map --json`'s function (build_map) at --budget tokens: the order of the files shown.
- bm25: plain Okapi BM25 over each non-test code file's text (lower-case \\w+ words), its top 50.
- aider: aider's RepoMap (no model, cl100k counts) at --budget: the files its map shows, in the order
  of its ranked tags (the rendered text is sorted by name).
A task's rank is that of its best-placed gold file (0: not in the list); top-k = rank in 1..k; MRR = mean 1/rank.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from agent.repomap.files import category
from agent.repomap.languages import EXTENSIONS

TOPS = (1, 3, 5, 10)
_WORD = re.compile(rb"\w+")


def checkout(data: Path, mirrors: Path, repo: str, commit: str) -> Path:
    """The clone of `repo` under `data`, at `commit` (code files only)."""
    path = data / repo.split("/")[1]
    if not path.exists():
        src = mirrors / repo.replace("/", "+") / "repo"
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(src), str(path)], check=True)
        patterns = [f"*{ext}" for ext in EXTENSIONS] + ["*.gitignore"]
        subprocess.run(["git", "sparse-checkout", "set", "--no-cone", *patterns], cwd=path, check=True)
        (path / ".git" / "info" / "exclude").write_text(".agent/\n.aider*\n")
    subprocess.run(["git", "checkout", "-q", "--force", commit], cwd=path, check=True)
    subprocess.run(["git", "clean", "-q", "-fd"], cwd=path, check=True)
    return path


class PlainBM25:
    """BM25 over whole files, words cached by blob id so a new checkout reads only changed files."""

    def __init__(self) -> None:
        self.cache: dict[str, Counter] = {}

    def rank(self, repo: Path, query: str) -> list[str]:
        out = subprocess.run(["git", "ls-files", "-s"], cwd=repo, capture_output=True, text=True, check=True).stdout
        docs: dict[str, Counter] = {}
        for line in out.splitlines():
            meta, path = line.split("\t", 1)
            blob = meta.split()[1]
            if Path(path).suffix not in EXTENSIONS or category(path) == "test" or not (repo / path).is_file():
                continue
            if blob not in self.cache:
                self.cache[blob] = Counter(w.lower() for w in _WORD.findall((repo / path).read_bytes()))
            docs[path] = self.cache[blob]
        terms = {w.lower().encode() for w in re.findall(r"\w+", query)}
        n = len(docs)
        avg = sum(sum(c.values()) for c in docs.values()) / max(n, 1)
        df = {t: sum(1 for c in docs.values() if t in c) for t in terms}
        scores = {}
        for path, c in docs.items():
            length = sum(c.values())
            s = 0.0
            for t in terms:
                tf = c.get(t, 0)
                if tf:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))
            scores[path] = s
        return [p for p, s in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if s > 0]


def task_rank(order: list[str], gold: list[str]) -> int:
    """1-based position of the best-placed gold file in `order` (0 when none is there)."""
    ranks = [order.index(g) + 1 for g in gold if g in order]
    return min(ranks) if ranks else 0


def dump_signals(repo: Path, task: dict, dump: dict) -> list[str]:
    """Keep every file's ranking signals for `task` (for --tune); returns the current fused order."""
    import numpy as np

    from agent.repomap.history import load_history
    from agent.repomap.index import CACHE_DIR, load_index
    from agent.repomap.rank import rank

    index = load_index(repo)
    ranking = rank(index, task["query"], [], load_history(index.root, index.root / CACHE_DIR))
    gold = [index.paths.index(g) for g in task["gold_files"] if g in index.paths]
    sig = {k: np.asarray(v, dtype=np.float32) for k, v in ranking.signals.items()}
    dump[task["task_id"]] = {"penalty": np.asarray(index.penalty, dtype=np.float32), "signals": sig, "gold": gold}
    return [index.paths[i] for i, _ in ranking.ranked[:20]]


def evaluate(dump: dict, ids: list[str], weights: dict[str, float]) -> tuple[list[float], float]:
    """(top-k shares, MRR) of the fused ranking with `weights` over the dumped tasks `ids`."""
    import numpy as np

    ranks = []
    for tid in ids:
        d = dump[tid]
        score = sum(weights[k] * v for k, v in d["signals"].items()) * d["penalty"]
        if not d["gold"]:
            ranks.append(0)
            continue
        best = max(score[g] for g in d["gold"])
        ranks.append(1 + int(np.sum(score > best)))
    tops = [sum(1 for r in ranks if 0 < r <= k) / len(ranks) for k in TOPS]
    return tops, sum(1 / r for r in ranks if r) / len(ranks)


def tune(dump: dict, tasks: list[dict]) -> None:
    """Coordinate search of the fusion weights for MRR + top-5 share on the tune split; report both splits."""
    from agent.repomap.rank import WEIGHTS

    split = {s: [t["task_id"] for t in tasks if t.get("split") == s and t["task_id"] in dump] for s in ("tune", "test")}
    weights = dict(WEIGHTS)
    grid = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0]

    def objective(w: dict[str, float]) -> float:  # MRR plus the top-5 share: the goal asks for both
        tops, mrr = evaluate(dump, split["tune"], w)
        return mrr + tops[2]

    best = objective(weights)
    for _ in range(3):
        for name in weights:
            if name == "bm25":
                continue
            for value in grid:
                trial = {**weights, name: value}
                score = objective(trial)
                if score > best + 1e-9:
                    best, weights = score, trial
    for label, w in (("shipped", WEIGHTS), ("tuned", weights)):
        for s, ids in split.items():
            if not ids:
                continue
            tops, mrr = evaluate(dump, ids, w)
            print(f"{label:<8}{s:<5}{len(ids):>5}" + "".join(f"{x:>7.2f}" for x in tops) + f"{mrr:>7.3f}")
    print("tuned weights:", json.dumps(weights))


def run_tools(tasks: list[dict], tools: list[str], args: argparse.Namespace) -> None:
    """Rank every task with every tool, appending one result row per (task, tool) to --results."""
    aider = None
    if "aider" in tools:
        here = Path(__file__).with_name("aider_map.py")
        aider = subprocess.Popen([args.aider_python, str(here)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
    bm25 = PlainBM25()
    from agent.repomap import build_map

    with args.results.open("a") as out:
        for task in sorted(tasks, key=lambda t: (t["repo"], t["date"])):
            repo = checkout(args.data, args.mirrors, task["repo"], task["parent"])
            for tool in tools:
                start = time.perf_counter()
                if tool == "agent":
                    order = [p for p, _ in build_map(repo, task["query"], budget=args.budget).files]
                elif tool == "signals":
                    order = dump_signals(repo, task, args.dump)
                elif tool == "bm25":
                    order = bm25.rank(repo, task["query"])[:50]
                else:
                    assert aider is not None and aider.stdin is not None and aider.stdout is not None
                    aider.stdin.write(json.dumps({"repo": str(repo), "query": task["query"], "budget": args.budget}))
                    aider.stdin.write("\n")
                    aider.stdin.flush()
                    order = json.loads(aider.stdout.readline())["files"]
                secs = time.perf_counter() - start
                rank = task_rank(order, task["gold_files"])
                row = {"task_id": task["task_id"], "tool": tool, "budget": args.budget, "rank": rank,
                       "seconds": round(secs, 3), "order": order[:20]}
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(f"{task['task_id']:<24} {tool:<6} rank {rank:>3} {secs:6.2f}s", file=sys.stderr)
    if aider is not None and aider.stdin is not None:
        aider.stdin.close()
        aider.wait()


def table(tasks: list[dict], results: Path, budget: int) -> None:
    """Print top-k and MRR per repository and tool, from the latest row of each (task, tool)."""
    latest: dict[tuple[str, str], dict] = {}
    for line in results.read_text().splitlines():
        row = json.loads(line)
        if row["budget"] == budget:
            latest[(row["task_id"], row["tool"])] = row
    by_id = {t["task_id"]: t for t in tasks}
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (tid, tool), row in latest.items():
        if tid in by_id:
            repo = by_id[tid]["repo"].split("/")[1]
            groups[(repo, tool)].append(row)
            groups[("all", tool)].append(row)
    print(f"\nbudget {budget}: task rank = best-placed gold file; top-k share and MRR")
    print(f"{'repo':<12}{'tool':<7}{'tasks':>6}" + "".join(f"{'top' + str(k):>7}" for k in TOPS)
          + f"{'MRR':>7}{'median s':>10}")
    for (repo, tool) in sorted(groups, key=lambda g: (g[0] == "all", g[0], g[1])):
        rows = groups[(repo, tool)]
        ranks = [r["rank"] for r in rows]
        tops = "".join(f"{sum(1 for x in ranks if 0 < x <= k) / len(ranks):>7.2f}" for k in TOPS)
        mrr = sum(1 / x for x in ranks if x) / len(ranks)
        secs = sorted(r["seconds"] for r in rows)[len(rows) // 2]
        print(f"{repo:<12}{tool:<7}{len(rows):>6}{tops}{mrr:>7.3f}{secs:>10.2f}")


def main() -> None:
    """Run the chosen tools over the chosen tasks, then print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=Path, default=Path("bench/data/localize-large.jsonl"))
    ap.add_argument("--data", type=Path, default=Path("bench/data/repos"))
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--results", type=Path, default=Path("bench/data/localize-results.jsonl"))
    ap.add_argument("--tools", default="agent,bm25")
    ap.add_argument("--aider-python", default="/work/tmp-venvs/aider/bin/python")
    ap.add_argument("--budget", type=int, default=1024)
    ap.add_argument("--split", default="", help="tune or test (default: all)")
    ap.add_argument("--repos", default="", help="comma-separated repository names (default: all)")
    ap.add_argument("--per-repo", type=int, default=0, help="only the first N tasks of each repository")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--dump", type=Path, default=Path("bench/data/signals.pkl"), help="for the signals tool")
    ap.add_argument("--tune", action="store_true", help="fit the fusion weights on the dumped signals")
    args = ap.parse_args()
    tasks = [json.loads(line) for line in args.tasks.read_text().splitlines() if line.strip()]
    if args.split:
        tasks = [t for t in tasks if t.get("split") == args.split]
    if args.repos:
        tasks = [t for t in tasks if t["repo"].split("/")[1] in args.repos.split(",")]
    if args.per_repo:
        seen: Counter = Counter()
        tasks = [t for t in tasks if (seen.update([t["repo"]]) or seen[t["repo"]] <= args.per_repo)]
    args.data.mkdir(parents=True, exist_ok=True)
    if args.tune:
        tune(pickle.loads(args.dump.read_bytes()), tasks)
        return
    tools = args.tools.split(",")
    if "signals" in tools:
        dump_path, args.dump = args.dump, {}
    if not args.table_only:
        run_tools(tasks, tools, args)
    if "signals" in tools:
        dump_path.write_bytes(pickle.dumps(args.dump))
    table(tasks, args.results, args.budget)


if __name__ == "__main__":
    main()
