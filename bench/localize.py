"""Localization benchmark: the share of gold files that a map of a token budget shows.

    PYTHONPATH=src python bench/localize.py --data /work/bench-data \
        [--tasks /work/shared/bench/localize-dev.jsonl] [--budgets 1024,2048,4096] \
        [--aider-python /work/tmp-venvs/aider/bin/python] [--mirrors /work/.mirror]

--data holds one clone per repository (click, flask, attrs); a missing one is cloned from
--mirrors/<owner>+<name>/repo. Each task's parent commit is checked out (the clone is reset).
Our side is `agent map --json`'s own function (build_map) in-process; aider's RepoMap runs in its
own venv beside it, same queries and budgets, tokens counted with cl100k_base.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from agent.repomap import build_map


def checkout(data: Path, mirrors: Path | None, repo: str, commit: str) -> Path:
    """The clone of `repo` under `data`, at `commit`."""
    path = data / repo.split("/")[1]
    if not path.exists():
        if mirrors is None:
            sys.exit(f"missing clone {path}; pass --mirrors")
        src = mirrors / repo.replace("/", "+") / "repo"
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(src), str(path)], check=True)
    subprocess.run(["git", "checkout", "-q", "--force", commit], cwd=path, check=True)
    subprocess.run(["git", "clean", "-q", "-fd"], cwd=path, check=True)
    return path


def gold_rank(files: list[str], gold: list[str]) -> list[int]:
    """1-based positions of the gold files in a shown list (0 when absent)."""
    return [files.index(g) + 1 if g in files else 0 for g in gold]


def main() -> None:
    """Run every task at every budget and print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--tasks", type=Path, default=Path("/work/shared/bench/localize-dev.jsonl"))
    ap.add_argument("--budgets", default="1024,2048,4096")
    ap.add_argument("--aider-python", default=None)
    ap.add_argument("--mirrors", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    tasks = [json.loads(line) for line in args.tasks.read_text().splitlines() if line.strip()]
    tasks = tasks[: args.limit] if args.limit else tasks
    aider = None
    if args.aider_python:
        here = Path(__file__).with_name("aider_map.py")
        aider = subprocess.Popen([args.aider_python, str(here)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tools = ["agent"] + (["aider"] if aider else [])
    found = {(t, b): 0 for t in tools for b in budgets}
    top = {(t, k): 0 for t in tools for k in (1, 5)}  # gold files among the first k shown (largest budget)
    tokens = {(t, b): [] for t in tools for b in budgets}
    secs = {(t, b): [] for t in tools for b in budgets}
    total = 0
    for task in tasks:
        repo = checkout(args.data, args.mirrors, task["repo"], task["parent"])
        gold = task["gold_files"]
        total += len(gold)
        misses = []
        for b in budgets:
            start = time.perf_counter()
            res = build_map(repo, task["query"], budget=b)
            secs[("agent", b)].append(time.perf_counter() - start)
            shown = [p for p, _ in res.files]
            hit = sum(1 for g in gold if g in shown)
            if b == max(budgets):
                for k in (1, 5):
                    top[("agent", k)] += sum(1 for g in gold if g in shown[:k])
            found[("agent", b)] += hit
            tokens[("agent", b)].append(res.tokens)
            if hit < len(gold):
                misses.append(b)
            if aider:
                aider.stdin.write(json.dumps({"repo": str(repo), "query": task["query"], "budget": b}) + "\n")
                aider.stdin.flush()
                out = json.loads(aider.stdout.readline())
                found[("aider", b)] += sum(1 for g in gold if g in out["files"])
                if b == max(budgets):
                    for k in (1, 5):
                        top[("aider", k)] += sum(1 for g in gold if g in out["files"][:k])
                tokens[("aider", b)].append(out["tokens"])
                secs[("aider", b)].append(out["seconds"])
        print(f"{task['task_id']:<22} gold rank {gold_rank(shown, gold)} missed at {misses or '-'}", file=sys.stderr)
    if aider:
        aider.stdin.close()
        aider.wait()
    print(f"\n{len(tasks)} tasks, {total} gold files")
    print(f"{'tool':<8}{'budget':>8}{'gold shown':>12}{'median tokens':>15}{'max tokens':>12}{'median s':>10}")
    for t in tools:
        for b in budgets:
            print(f"{t:<8}{b:>8}{found[(t, b)] / total:>12.3f}{statistics.median(tokens[(t, b)]):>15.0f}"
                  f"{max(tokens[(t, b)]):>12}{statistics.median(secs[(t, b)]):>10.3f}")
    print(f"\nfirst files shown at budget {max(budgets)} (map order = rank order)")
    for t in tools:
        print(f"{t:<8} gold among first 1: {top[(t, 1)] / total:.3f}   among first 5: {top[(t, 5)] / total:.3f}")


if __name__ == "__main__":
    main()
