"""Benchmark: the deterministic review layer on a 1,000-line staged diff (target <= 1 s).

    PYTHONPATH=src python bench/review.py [--runs N] [--lines N]

Builds a throwaway repository, stages about --lines added/changed lines over source and test files
(with a weakened test, a debugger call and a fake key among them), then times, median of --runs:
each check in-process (warm), the whole fast layer in-process (warm), the first review in a fresh
process (imports included), and the `agent review --staged` command as a git hook runs it.
The reference, measured in the same run, is `git diff --cached` on the same change; the floor row is
what any `agent` command pays to start (interpreter, typer, pydantic) on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))


def sh(repo: Path, *args: str) -> None:
    subprocess.run(args, cwd=repo, check=True, capture_output=True)


def module(n: int, funcs: int, variant: int) -> str:
    body = [f'"""Module {n}."""\n', "import math\n"]
    for i in range(funcs):
        body.append(
            f"\n\ndef compute_total_{n}_{i}(quantity, unit_price):\n"
            f"    discounted_price = unit_price * {100 - i - variant} / 100\n"
            f"    shipping_estimate = math.ceil(quantity / {i + 2 + variant})\n"
            f"    subtotal = quantity * discounted_price + shipping_estimate * {3 + variant}\n"
            f"    return round(subtotal, {2 + variant % 2})\n"
        )
    return "".join(body)


def tests(n: int, funcs: int, weaken: bool) -> str:
    out = [f"from pkg.mod{n} import *\n"]
    for i in range(funcs):
        call = f"compute_total_{n}_{i}(1, 100)"
        check = f"assert {call} == {i + 1}" if not (weaken and i == 0) else f"assert {call}"
        out.append(f"\n\ndef test_total_{n}_{i}():\n    {check}\n")
    return "".join(out)


def build(root: Path, lines: int) -> Path:
    repo = root / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "tests").mkdir()
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "config", "user.email", "b@example.com")
    sh(repo, "git", "config", "user.name", "bench")
    files = 8
    funcs = max(round(lines / files / 6.5), 1)  # a function: 4 lines removed, 4 added (fewer where equal)
    for n in range(files):
        (repo / "pkg" / f"mod{n}.py").write_text(module(n, funcs, 0))
        (repo / "tests" / f"test_mod{n}.py").write_text(tests(n, funcs, False))
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "base")
    for n in range(files):
        text = module(n, funcs, 1)
        if n == 0:
            text += '\n\ndef debug():\n    breakpoint()\n\nKEY = "AKIA' + 'IOSFODNN7EXAMPLE"\n'
        (repo / "pkg" / f"mod{n}.py").write_text(text)
    (repo / "tests" / "test_mod0.py").write_text(tests(0, funcs, True))
    sh(repo, "git", "add", "-A")
    return repo


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lines", type=int, default=1000)
    args = parser.parse_args()

    from agent.config import load_config
    from agent.review import ReviewOptions, review
    from agent.review.changes import base_rev, read_changes
    from agent.review.checks import conflict_markers, debug_leftovers, file_size
    from agent.review.integrity import guard_findings
    from agent.review.secrets import find_secrets
    from agent.review.syntax import syntax_errors

    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        repo = build(Path(tmp), args.lines)
        diff = subprocess.run(["git", "diff", "--cached", "--numstat"], cwd=repo, capture_output=True, text=True).stdout
        changed = sum(int(a) + int(d) for a, d, _ in (row.split("\t") for row in diff.splitlines()))
        fresh = [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from agent.config import load_config; "
            "from agent.review import ReviewOptions, review; r = Path('.').resolve(); "
            "review(r, load_config(r), ReviewOptions())",
        ]
        env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
        config = load_config(repo)
        changes = read_changes(repo)
        base = base_rev(repo)
        rows: list[tuple[str, list[float]]] = [
            (
                "reference: git diff --cached",
                timed(lambda: subprocess.run(["git", "diff", "--cached"], cwd=repo, capture_output=True), args.runs),
            ),
            ("read staged change (index blobs)", timed(lambda: read_changes(repo), args.runs)),
            ("test-integrity guard", timed(lambda: guard_findings(repo, base, changes), args.runs)),
            ("secrets (detect-secrets)", timed(lambda: find_secrets(changes), args.runs)),
            ("syntax (tree-sitter)", timed(lambda: [syntax_errors(c) for c in changes], args.runs)),
            (
                "conflicts, leftovers, size",
                timed(
                    lambda: [(conflict_markers(c), debug_leftovers(c), file_size(c, 500)) for c in changes], args.runs
                ),
            ),
            ("fast layer, warm (in-process)", timed(lambda: review(repo, config, ReviewOptions()), args.runs)),
            (
                "floor: python -c 'import typer, pydantic'",
                timed(
                    lambda: subprocess.run([sys.executable, "-c", "import typer, pydantic"], env=env, check=True),
                    args.runs,
                ),
            ),
            (
                "fast layer, fresh process",
                timed(lambda: subprocess.run(fresh, cwd=repo, env=env, check=True), args.runs),
            ),
            (
                "agent review --staged (CLI)",
                timed(
                    lambda: subprocess.run(
                        [sys.executable, "-m", "agent", "review", "--staged"], cwd=repo, env=env, capture_output=True
                    ),
                    args.runs,
                ),
            ),
        ]
        found = review(repo, config, ReviewOptions()).findings
    ref = statistics.median(rows[0][1])
    print(f"staged diff: {changed} changed lines in {len(changes)} files; {len(found)} findings")
    print(f"median of {args.runs} runs")
    print(f"{'case':<42} {'median s':>9} {'min s':>8} {'max s':>8} {'x git diff':>10}")
    for name, times in rows:
        med = statistics.median(times)
        print(f"{name:<42} {med:>9.3f} {min(times):>8.3f} {max(times):>8.3f} {med / ref:>10.1f}")


if __name__ == "__main__":
    main()
