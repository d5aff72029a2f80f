"""Anthropic prompt caching and a 429 storm, through the real CLI against the fake Anthropic server.

    python bench/provider_cache.py [--steps 40]

1. A STEPS-step run (read_file calls, then finish) twice: prompt caching on and off. The fake server accounts
   usage as Anthropic does (cache reads at the request's breakpoints, writes up to the last one, 1,024-token
   minimum); billed input = input + 1.25 x cache writes + 0.1 x cache reads (Anthropic's 5-minute cache prices).
   Goal: the cached run is billed <= 0.25x the uncached one.
2. A 429 storm: 5 rate-limit errors in a row, then normal replies; the run must end done, the delays are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from fake_provider import FakeProvider  # noqa: E402

MODEL = "anthropic/claude-sonnet-4-5"
ENV = {"AGENT_MEMORY__ENABLED": "false", "AGENT_CONTEXT__MAP_TOKENS": "0", "ANTHROPIC_API_KEY": "sk-ant-bench",
       "PYTHONPATH": str(ROOT / "src")}


def make_repo(path: Path, files: int) -> Path:
    """A git repo with `files` modules of ~60 lines each."""
    path.mkdir(parents=True)
    for i in range(files):
        (path / f"mod{i}.py").write_text("".join(f"def f{i}_{n}(x):\n    return x + {n}\n\n" for n in range(20)))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.email=b@x", "-c", "user.name=b", "commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=path, check=True)
    return path


def run(repo: Path, fp: FakeProvider, env: dict[str, str], steps: int) -> list[dict]:
    """One `agent run --json`; returns its events."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "agent", "run", "read the modules", "--repo", str(repo), "--model", MODEL,
             "--api-base", fp.anthropic_url, "--json", "--max-steps", str(steps + 1)],
            capture_output=True, text=True, env={**os.environ, **ENV, **env}, timeout=300, check=False)
    except subprocess.TimeoutExpired:  # a 40-step run takes seconds: a hang, not slowness
        sys.exit(f"run hung after {len(fp.requests)} requests (300 s)")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if not events or events[-1]["type"] != "run_finished":
        sys.exit(f"run failed: {proc.stderr.strip()[-500:]}")
    return events


def caching(steps: int, tmp: Path) -> dict[str, float]:
    """Billed input tokens and cost of the same run with and without cache breakpoints."""
    repo = make_repo(tmp / "repo", steps)
    out = {}
    for label, flag in (("cached", "true"), ("uncached", "false")):
        with FakeProvider() as fp:
            reads = [{"calls": [{"name": "read_file", "arguments": {"path": f"mod{i}.py"}}]} for i in range(steps - 1)]
            fp.push(*reads)
            events = run(repo, fp, {"AGENT_BACKEND__PROMPT_CACHE": flag}, steps)
            usage = fp.usages
        plain = sum(u["input_tokens"] for u in usage)
        write = sum(u["cache_creation_input_tokens"] for u in usage)
        read = sum(u["cache_read_input_tokens"] for u in usage)
        finished = events[-1]
        out[label] = {"steps": len(usage), "input": plain, "write": write, "read": read,
                      "billed": plain + 1.25 * write + 0.1 * read, "cost_usd": finished["cost_usd"],
                      "status": finished["status"]}
    return out


def storm(tmp: Path) -> tuple[list[dict], str]:
    """Five 429s in a row (no Retry-After: exponential backoff from 0.5 s), then normal replies."""
    repo = make_repo(tmp / "storm", 1)
    with FakeProvider() as fp:
        fp.push(*[{"error": 429}] * 5)
        events = run(repo, fp, {"AGENT_BACKEND__RETRY_BASE_S": "0.5"}, 3)
    return [e for e in events if e["type"] == "retry"], events[-1]["status"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = caching(args.steps, Path(tmp))
        retries, status = storm(Path(tmp))
    print(f"{'run':10} {'steps':>5} {'input':>9} {'cache_w':>9} {'cache_r':>10} {'billed':>10} {'cost_usd':>9} status")
    for label, r in result.items():
        print(f"{label:10} {r['steps']:>5} {r['input']:>9} {r['write']:>9} {r['read']:>10} {r['billed']:>10.0f} "
              f"{r['cost_usd']:>9.4f} {r['status']}")
    ratio = result["cached"]["billed"] / result["uncached"]["billed"]
    cost_ratio = result["cached"]["cost_usd"] / max(result["uncached"]["cost_usd"], 1e-12)
    print(f"billed input cached/uncached: {ratio:.3f}x (goal <= 0.25x); cost ratio {cost_ratio:.3f}x")
    print("429 storm: " + ", ".join(f"{r['reason']} {r['delay_s']:g} s ({r['attempt']}/{r['of']})" for r in retries)
          + f" -> {status}")


if __name__ == "__main__":
    main()
