"""Scale benchmark: cold index and warm new-query map on a large tree, ours beside aider's RepoMap.

    PYTHONPATH=src python bench/map_scale.py --repo /work/bench-data/django-5.2.19 \
        [--aider-python /work/tmp-venvs/aider/bin/python] [--budget 1024] [--repeat 3] [--cold-runs 3]

The tree should be a git repository (e.g. `git init && git add -A && git commit` in the unpacked
sdist of `pip download --no-binary :all: --no-deps 'django==5.2.*'`). Each side runs in its own
fresh process (--cold-runs of them, median shown), one after the other; imports and the tokenizer are loaded before the clock starts.
Cold = no cache on disk. Warm = the on-disk cache exists, a new query, a fresh in-memory index.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

QUERIES = [
    "paginator elided page range shows wrong ellipsis",
    "bulk_create ignores batch_size with update_conflicts",
    "CSRF token rotation after login",
    "migration autodetector crashes when renaming a model with a ManyToMany field",
    "QuerySet.only() with select_related on a reverse OneToOne relation",
]

OURS = r"""
import json, resource, shutil, sys, time, tracemalloc
from pathlib import Path
from agent.repomap import build_map
from agent.repomap.index import CACHE_DIR, load_index
from agent.repomap.tokens import counter
import agent.repomap.rank, agent.repomap.render, agent.repomap.tags
counter()
root, budget, queries, repeat = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
shutil.rmtree(root / CACHE_DIR, ignore_errors=True)
t = time.perf_counter(); res = build_map(root, queries[0], budget=budget); cold = time.perf_counter() - t
warm = []
for q in (queries[1:] * repeat)[: max(repeat, len(queries) - 1)]:
    t = time.perf_counter(); r = build_map(root, q, budget=budget); warm.append(time.perf_counter() - t)
tracemalloc.start(); index = load_index(root); mem = tracemalloc.get_traced_memory()[0]; tracemalloc.stop()
disk = sum(p.stat().st_size for p in (root / CACHE_DIR).glob("*") if p.is_file())
kids = resource.getrusage(resource.RUSAGE_CHILDREN); me = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cold": cold, "warm": warm, "files": len(index.paths), "mem": mem, "disk": disk,
    "rss": me.ru_maxrss * 1024, "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, "tokens": res.tokens}))
"""

AIDER = r"""
import json, os, resource, shutil, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[5])
import aider_map
from aider.repomap import RepoMap
root, budget, queries, repeat = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
files = [f for f in subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split("\n") if f]
abs_files = [str(Path(root) / f) for f in files]
cache = Path(root) / RepoMap.TAGS_CACHE_DIR
shutil.rmtree(cache, ignore_errors=True)
def one(q):
    named, idents = aider_map.mentions(q, files)
    rm = RepoMap(map_tokens=budget, root=root, main_model=aider_map.Model(), io=aider_map.QuietIO(), max_context_window=None)
    t = time.perf_counter(); text = rm.get_repo_map([], abs_files, named, idents) or ""; return time.perf_counter() - t, text
cold, text = one(queries[0])
warm = [one(q)[0] for q in (queries[1:] * repeat)[: max(repeat, len(queries) - 1)]]
disk = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
me = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cold": cold, "warm": warm, "files": len(files), "mem": None, "disk": disk, "rss": me.ru_maxrss * 1024,
    "cpu": me.ru_utime + me.ru_stime, "tokens": len(aider_map.ENC.encode_ordinary(text))}))
"""


def run(cmd: list[str], runs: int) -> dict:
    """Run one side `runs` times, each in a fresh process from an empty cache; median cold, all warm samples."""
    results = []
    for _ in range(runs):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{cmd[0]} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    out = dict(results[-1])
    out["cold"] = statistics.median(r["cold"] for r in results)
    out["cpu"] = statistics.median(r["cpu"] for r in results)
    out["warm"] = [w for r in results for w in r["warm"]]
    return out


def main() -> None:
    """Measure both sides and print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--aider-python", default=None)
    ap.add_argument("--budget", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold-runs", type=int, default=3, help="fresh processes per tool; the median cold time is shown")
    args = ap.parse_args()
    common = [str(args.repo.resolve()), str(args.budget), json.dumps(QUERIES), str(args.repeat)]
    rows = {"agent": run([sys.executable, "-c", OURS, *common], args.cold_runs)}
    if args.aider_python:
        rows["aider"] = run([args.aider_python, "-c", AIDER, *common, str(Path(__file__).parent.resolve())], args.cold_runs)
    mb = 1024 * 1024
    print(f"\n{args.repo.name}: budget {args.budget}, cold = median of {args.cold_runs} fresh processes, "
          f"warm = median of {len(rows['agent']['warm'])} new queries; cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    print(f"{'tool':<7}{'files':>7}{'cold s':>9}{'warm s':>9}{'cpu s':>8}{'peak RSS MB':>13}{'index MB':>10}{'disk MB':>9}{'tokens':>8}")
    for name, r in rows.items():
        mem = f"{r['mem'] / mb:.1f}" if r["mem"] is not None else "-"
        print(f"{name:<7}{r['files']:>7}{r['cold']:>9.2f}{statistics.median(r['warm']):>9.3f}{r['cpu']:>8.1f}"
              f"{r['rss'] / mb:>13.0f}{mem:>10}{r['disk'] / mb:>9.1f}{r['tokens']:>8}")
    if "aider" in rows:
        a, o = rows["aider"], rows["agent"]
        print(f"aider/agent: cold {a['cold'] / o['cold']:.1f}x, warm {statistics.median(a['warm']) / statistics.median(o['warm']):.1f}x")


if __name__ == "__main__":
    main()
