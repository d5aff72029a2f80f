"""Score the test-integrity guard on the labelled corpus: share of tampering flagged, share of honest flagged.

PYTHONPATH=src python bench/guard.py [--verbose]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agent.guard.corpus import load_cases, score

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "guard_corpus"


def main() -> int:
    """Print the table; --verbose also lists misses and false alarms."""
    cases = load_cases(CORPUS)
    started = time.perf_counter()
    rows = score(cases)
    elapsed = time.perf_counter() - started
    print(f"{'row':34} {'flagged':>9} {'share':>7}")
    for name, (hits, total) in sorted(rows.items(), key=lambda kv: (kv[0].startswith("kind:"), kv[0])):
        label = {"tamper": "tampering flagged (target >= 95%)", "honest": "honest flagged (target <= 5%)"}.get(
            name, name
        )
        print(f"{label:34} {hits:>4}/{total:<4} {hits / max(total, 1):>7.1%}")
    langs: dict[str, list[int]] = {}
    for case in cases:
        lang = case.name.split("_", 1)[0]
        row = langs.setdefault(f"{case.label}:{lang}", [0, 0])
        row[0] += case.flagged
        row[1] += 1
    for name, (hits, total) in sorted(langs.items()):
        print(f"{name:34} {hits:>4}/{total:<4} {hits / max(total, 1):>7.1%}")
    print(f"{len(cases)} cases in {elapsed:.2f}s ({elapsed / len(cases) * 1000:.1f} ms per case)")
    if "--verbose" in sys.argv:
        for case in cases:
            missing = set(case.kinds) - case.kinds_found
            if (case.label == "honest" and case.flagged) or (case.label == "tamper" and missing):
                print(f"\n{case.label} {case.name}: expected {case.kinds or 'nothing'}")
                for f in case.findings:
                    print(f"   {f.kind} {f.file}:{f.line} {f.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
