"""Score the test-integrity guard's static layer.

PYTHONPATH=src python bench/guard.py [--verbose] [--split tuning|held_out]

1. The real-history corpus built by bench/guard_corpus.py (bench/data/guard_corpus/*.jsonl): by split and
   family, tampering caught at high severity (goal >= 95% on held_out), caught at any severity, and honest
   upstream commits flagged high (goal <= 3% on held_out).
2. The hand-written corpus in tests/guard_corpus (written alongside the rules: not a measure of generality).
3. The fast layer's time on a 1,000-line diff (median of 5).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from agent.guard.check import check_patch
from agent.guard.corpus import load_cases, score

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "tests" / "guard_corpus"
REAL = HERE / "data" / "guard_corpus"


def load_real() -> list[dict]:
    """Every case of the real-history corpus."""
    cases = []
    for path in sorted(REAL.glob("*.jsonl")):
        cases += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return cases


def run_real(cases: list[dict], verbose: bool) -> None:
    """The by-family table on the real-history corpus."""
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    started = time.perf_counter()
    for case in cases:
        found = check_patch(case["before"], case["after"], message=case.get("message", ""))
        high = any(f.severity == "high" for f in found)
        key_family = case["family"] if case["label"] == "tamper" else "honest"
        for split in (case["split"], "all"):
            row = rows[(split, key_family)]
            row[0] += high
            row[1] += bool(found)
            row[2] += 1
            if case["label"] == "tamper":
                total = rows[(split, "ALL TAMPERING")]
                total[0] += high
                total[1] += bool(found)
                total[2] += 1
        wrong = (case["label"] == "honest" and high) or (case["label"] == "tamper" and not high)
        if verbose and wrong and case["split"] == "tuning":
            print(f"\n{case['label']} {case['id']}")
            for f in found:
                print(f"   {f.severity} {f.kind} {f.file}:{f.line} {f.message[:150]}")
    elapsed = time.perf_counter() - started
    print(f"\nreal-history corpus ({len(cases)} cases, {elapsed:.1f}s, {elapsed / max(len(cases), 1) * 1000:.0f} ms/case)")
    print(f"{'split':9} {'family':15} {'high':>9} {'share':>7} {'any':>7} {'cases':>6}")
    for split in ("tuning", "held_out", "all"):
        for family in sorted({f for s, f in rows if s == split}, key=lambda f: (f == "honest", f == "ALL TAMPERING", f)):
            high, anyf, total = rows[(split, family)]
            label = "honest (flagged high)" if family == "honest" else family
            print(f"{split:9} {label:15} {high:>4}/{total:<4} {high / total:>7.1%} {anyf / total:>7.1%} {total:>6}")


def thousand_line_diff() -> tuple[dict[str, str], dict[str, str]]:
    """A synthetic 1,000-line change: 25 test files and 25 source files of 20 changed lines each."""
    old, new = {}, {}
    for i in range(25):
        src = "".join(f"def f{i}_{j}(x):\n    return x + {j}\n\n\n" for j in range(10))
        old[f"pkg/mod{i}.py"] = src
        new[f"pkg/mod{i}.py"] = src.replace("return x +", "return x * 1 +")
        test = "".join(f"def test_f{i}_{j}():\n    assert f{i}_{j}(1) == {j + 1}\n\n\n" for j in range(10))
        old[f"tests/test_mod{i}.py"] = f"from pkg.mod{i} import *\n\n\n" + test
        new[f"tests/test_mod{i}.py"] = f"from pkg.mod{i} import *\n\n\n" + test.replace("== ", "== 0 + ")
    return old, new


def main() -> int:
    """Print the tables; --verbose lists the tuning part's misses and false alarms."""
    verbose = "--verbose" in sys.argv
    real = load_real()
    if "--split" in sys.argv:
        wanted = sys.argv[sys.argv.index("--split") + 1]
        real = [c for c in real if c["split"] == wanted]
    if real:
        run_real(real, verbose)
    else:
        print("no real-history corpus: run bench/guard_corpus.py first")
    rows = score(load_cases(CORPUS))
    print("\nhand-written corpus (tests/guard_corpus)")
    for name in ("tamper", "honest"):
        hits, total = rows[name]
        print(f"{name:9} flagged {hits:>3}/{total:<3} {hits / total:>7.1%}")
    old, new = thousand_line_diff()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        check_patch(old, new)
        times.append(time.perf_counter() - start)
    print(f"\nfast layer on a 1,000-line diff (50 files): median {statistics.median(times) * 1000:.0f} ms (goal < 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
