"""Fuzz the parsing of model output, the shell policy, edit application and the loop: >= 10,000 cases.

    PYTHONPATH=src python bench/fuzz.py [--scale 1.0]

Prints one row per property: cases run, crashes (any exception or broken property), and what the
cases did (how many edits applied or were refused, how many tool calls the loop executed). Exits 1
on the first crash, after printing the falsifying example.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzzcases import (  # noqa: E402
    Sandbox,
    broken_json,
    check_apply_edit,
    check_edit_file,
    check_litellm,
    check_llamacpp,
    check_loop,
    check_scripted,
    check_shell,
    edit_lists,
    edits,
    json_values,
    raw_calls,
    replies,
    shell_lines,
    texts,
)
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def run(name: str, examples: int, strategy: st.SearchStrategy[Any], check: Any, stats: Counter[str]) -> dict[str, Any]:
    """Run one property for `examples` cases; return its row."""
    times: list[float] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def prop(args: tuple[Any, ...]) -> None:
        start = time.perf_counter()
        check(*args)
        times.append(time.perf_counter() - start)

    crashes, first = 0, ""
    try:
        prop()
    except Exception as exc:  # a falsified property: report it
        crashes, first = 1, "".join(traceback.format_exception_only(exc)).strip()
    return {
        "name": name,
        "cases": len(times),
        "crashes": crashes,
        "median_us": statistics.median(times) * 1e6 if times else 0,
        "notes": ", ".join(f"{k} {v}" for k, v in sorted(stats.items())),
        "first": first,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case count")
    scale = parser.parse_args().scale
    box = Sandbox()
    edit_stats: Counter[str] = Counter()
    loop_stats: Counter[str] = Counter()

    def edit_case(raw_edits: list[dict[str, Any]]) -> None:
        before = box.files()
        check_edit_file(box, raw_edits)
        edit_stats["applied" if box.files() != before else "refused/no-op"] += 1

    def loop_case(script: list[Any]) -> None:
        loop_stats.update(check_loop(box, script))
        loop_stats["runs"] += 1

    plan = [
        ("scripted backend: raw tool calls", 2500, st.tuples(raw_calls), check_scripted, Counter()),
        (
            "litellm: provider tool calls",
            2000,
            st.tuples(json_values | st.binary(max_size=20), broken_json() | json_values, st.booleans()),
            check_litellm,
            Counter(),
        ),
        (
            "llama.cpp: generated replies",
            2000,
            st.tuples(
                broken_json(
                    st.fixed_dictionaries({"thought": json_values, "name": json_values, "arguments": json_values})
                )
                | broken_json(),
                st.sampled_from([None, "stop", "length"]),
            ),
            check_llamacpp,
            Counter(),
        ),
        ("shell policy: command lines", 1500, st.tuples(shell_lines), lambda c: check_shell(box.root, c), Counter()),
        ("apply_edit: one edit in memory", 1500, st.tuples(st.none() | texts, edits), check_apply_edit, Counter()),
        ("edit_file: real files, 1-4 edits", 800, st.tuples(edit_lists), edit_case, edit_stats),
        (
            "agent loop: scripted model output",
            300,
            st.tuples(st.lists(replies, min_size=1, max_size=5)),
            loop_case,
            loop_stats,
        ),
    ]
    rows = []
    started = time.perf_counter()
    for name, count, strategy, check, stats in plan:
        rows.append(run(name, max(1, int(count * scale)), strategy, check, stats))
    total = sum(r["cases"] for r in rows)
    crashes = sum(r["crashes"] for r in rows)
    print(f"{'property':36} {'cases':>7} {'crashes':>8} {'median us':>10}  notes")
    for r in rows:
        print(f"{r['name']:36} {r['cases']:>7} {r['crashes']:>8} {r['median_us']:>10.0f}  {r['notes']}")
    print(f"{'total':36} {total:>7} {crashes:>8} {'':>10}  {time.perf_counter() - started:.0f} s")
    for r in rows:
        if r["first"]:
            print(f"\n{r['name']}: {r['first']}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
