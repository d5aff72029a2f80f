"""SWE-bench-style repair benchmark: run `agent run` on real bug fixes and grade them with the tasks' own tests.

    python bench/repair.py --tasks ../shared/bench/repair-dev.jsonl --model MODEL [--only ID,...] [--json OUT]
    python bench/repair.py --tasks ... --sanity      # gold-patch oracle must resolve all, no-op model none

Per task: clone the base commit from a local mirror (--mirrors, env REPAIR_MIRRORS), build its environment with
the recorded install command (a venv per task, reused), run the agent headless on the problem statement, reset
the test files it touched, apply the test patch and run FAIL_TO_PASS + PASS_TO_PASS network-isolated.

Repositories: one local clone per `owner/name` under --mirrors, as OWNER+NAME/repo (what the workplace `fetch`
tool makes under /work/.mirror, the default), OWNER+NAME, OWNER/NAME or NAME. On another machine:
`git clone --mirror <repository URL> $REPAIR_MIRRORS/pallets+click/repo` (likewise pallets/flask,
python-attrs/attrs). Installs need the package index (and `uv` on PATH or beside this Python: the dev extra);
tests need `unshare -n` (root) or `unshare -rn` (user namespaces) and `ip`, else the harness refuses to run.
Models: any litellm model (API key in the environment), `local` / `gguf:PATH` (+ --gpu-layers), `scripted:FILE`;
offline models run with the agent itself network-isolated. Other agents: --agent-cmd (same `run` interface).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repair_agents import AgentSpec, default_agent_command, noop_replies, oracle_replies, run_agent, write_script
from repair_env import (
    HarnessError,
    Task,
    build_env,
    check_isolation,
    env_drift,
    evaluate,
    load_tasks,
    prepare_checkout,
)

FORMAT_VERSION = 1
DEFAULT_WORK = Path("/work/bench-data/repair")
DEFAULT_MIRRORS = Path("/work/.mirror")


def run_task(task: Task, args: argparse.Namespace, label: str, model: str) -> dict[str, Any]:
    """Prepare, run the agent on and grade one task; a harness failure is recorded, not raised."""
    started = time.monotonic()
    record: dict[str, Any] = {"instance_id": task.instance_id, "model": label, "resolved": False}
    task_dir = args.work / task.instance_id
    try:
        checkout = prepare_checkout(task, args.mirrors, task_dir / "repo")
        record["env"] = {**build_env(task, checkout), "drift": env_drift(task, checkout)}
        if model == "oracle":
            model = write_script(oracle_replies(task, checkout), task_dir / "oracle.json")
        elif model == "noop":
            model = write_script(noop_replies(), task_dir / "noop.json")
        spec = AgentSpec(args.agent_cmd, model, args.max_steps, args.gpu_layers, args.agent_timeout)
        record.update(run_agent(spec, task, checkout, task_dir / f"{_slug(label)}.events.jsonl"))
        record.update(evaluate(task, checkout, args.test_timeout))
        (task_dir / f"{_slug(label)}.patch").write_text(record["model_patch"])
    except HarnessError as exc:
        record.update({"status": record.get("status", "harness_error"), "harness_error": str(exc)})
    record["wall_s"] = round(time.monotonic() - started, 1)
    return record


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80]


def progress_line(record: dict[str, Any]) -> str:
    """One line on stderr as each task run ends."""
    line = f"{record['instance_id']} [{record['model']}]: {'RESOLVED' if record['resolved'] else 'not resolved'}"
    line += f" ({record.get('status')}, {record['wall_s']}s)"
    return line + (f"  {record['harness_error'][:300]}" if "harness_error" in record else "")


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals and medians over the records of one model."""
    def total(key: str) -> float:
        return sum(r.get(key) or 0 for r in records)

    n = len(records)
    resolved = sum(1 for r in records if r["resolved"])
    return {
        "tasks": n, "resolved": resolved, "resolved_rate": round(resolved / n, 3) if n else 0.0,
        "harness_errors": sum(1 for r in records if "harness_error" in r),
        "tokens_in": int(total("tokens_in")), "tokens_out": int(total("tokens_out")),
        "cost_usd": round(total("cost_usd"), 4), "steps": int(total("steps")),
        "median_steps": statistics.median([r.get("steps") or 0 for r in records]) if n else 0,
        "median_agent_s": statistics.median([r.get("agent_s") or 0 for r in records]) if n else 0,
        "wall_s": round(total("wall_s"), 1),
    }


def table(records: list[dict[str, Any]]) -> str:
    """A fixed-width text table, one row per task run."""
    head = ("task", "model", "resolved", "F2P", "P2P", "status", "steps", "tok_in", "tok_out", "cost$", "agent_s",
            "wall_s")
    rows = [head]
    for r in records:
        rows.append((
            r["instance_id"], r["model"][:24], "yes" if r["resolved"] else "no",
            f"{r.get('f2p_passed', 0)}/{r.get('f2p_total', '?')}",
            f"{r.get('p2p_passed', 0)}/{r.get('p2p_total', '?')}",
            r.get("status") or "-", str(r.get("steps") or 0), str(r.get("tokens_in") or 0),
            str(r.get("tokens_out") or 0), f"{r.get('cost_usd') or 0:.4f}", f"{r.get('agent_s') or 0:.1f}",
            f"{r.get('wall_s') or 0:.1f}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def overall_lines(summaries: dict[str, dict[str, Any]]) -> str:
    """One summary line per model."""
    return "\n".join(
        f"{label}: resolved {s['resolved']}/{s['tasks']} ({s['resolved_rate']:.0%}), tokens {s['tokens_in']}+"
        f"{s['tokens_out']}, cost ${s['cost_usd']:.4f}, median steps {s['median_steps']}, median agent "
        f"{s['median_agent_s']:.1f}s, wall {s['wall_s']:.0f}s, harness errors {s['harness_errors']}"
        for label, s in summaries.items()
    )


def sanity_ok(summaries: dict[str, dict[str, Any]]) -> bool:
    """Sanity holds when the oracle resolves every task and the no-op model none, with no harness error."""
    oracle, noop = summaries["oracle"], summaries["noop"]
    return oracle["resolved"] == oracle["tasks"] and noop["resolved"] == 0 and not noop["harness_errors"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=Path, required=True, help="tasks JSONL file (SWE-bench-style)")
    p.add_argument("--work", "--tasks-dir", dest="work", type=Path,
                   default=Path(os.environ.get("REPAIR_WORK", DEFAULT_WORK)),
                   help="where checkouts, venvs and logs go (env REPAIR_WORK)")
    p.add_argument("--mirrors", type=Path, default=Path(os.environ.get("REPAIR_MIRRORS", DEFAULT_MIRRORS)),
                   help="local clones: OWNER+NAME/repo, OWNER+NAME, OWNER/NAME or NAME (env REPAIR_MIRRORS)")
    p.add_argument("--model", help="model spec for `agent run` (litellm name, local, gguf:PATH, scripted:PATH)")
    p.add_argument("--sanity", action="store_true", help="run the gold-patch oracle and the no-op model instead")
    p.add_argument("--only", type=lambda s: [x for x in s.split(",") if x], help="comma-separated task ids")
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--gpu-layers", type=int, default=None)
    p.add_argument("--agent-cmd", type=shlex.split, default=default_agent_command(),
                   help="command that starts the agent (default: this checkout's `python -m agent`)")
    p.add_argument("--agent-timeout", type=float, default=1800.0, help="seconds per agent run")
    p.add_argument("--test-timeout", type=float, default=1800.0, help="seconds per test run")
    p.add_argument("--json", dest="json_out", type=Path, help="write the full results here")
    args = p.parse_args(argv)
    if not args.sanity and not args.model:
        p.error("give --model SPEC, or --sanity")
    args.work = args.work.resolve()
    args.mirrors = args.mirrors.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 when it ran (and, in sanity mode, when sanity holds), 1 otherwise, 2 on bad input."""
    args = parse_args(argv)
    try:
        check_isolation()
        tasks = load_tasks(args.tasks, args.only)
    except (HarnessError, OSError, ValueError) as exc:
        print(f"repair: error: {exc}", file=sys.stderr)
        return 2
    models = {"oracle": "oracle", "noop": "noop"} if args.sanity else {args.model: args.model}
    records = []
    for task in tasks:
        for label, model in models.items():
            record = run_task(task, args, label, model)
            print(progress_line(record), file=sys.stderr, flush=True)
            records.append(record)
    summaries = {label: summarize([r for r in records if r["model"] == label]) for label in models}
    print(table(records))
    print(overall_lines(summaries))
    if args.json_out:
        slim = [{k: v for k, v in r.items() if k not in ("model_patch", "test_output_tail")} for r in records]
        payload = {"format": FORMAT_VERSION, "tasks_file": str(args.tasks), "sanity": args.sanity,
                   "max_steps": args.max_steps, "summary": summaries, "records": slim}
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(payload, indent=2, default=str))
    if args.sanity:
        ok = sanity_ok(summaries)
        print(f"sanity: {'OK' if ok else 'FAILED'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
