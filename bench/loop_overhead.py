"""The loop's own overhead per step: scripted backend, 50 steps, model and tool time excluded.

Usage: python bench/loop_overhead.py [--steps 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.backends.scripted import ScriptedBackend
from agent.config import load_config
from agent.loop import Agent
from agent.tools import load_tools
from agent.workspace import Workspace


class TimedBackend(ScriptedBackend):
    """Scripted replies, recording the time spent inside complete()."""

    spent = 0.0

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return super().complete(*args, **kwargs)
        finally:
            self.spent += time.perf_counter() - start


def one_run(root: Path, steps: int) -> tuple[float, float, float]:
    """Return (total, backend, tool) seconds for a run of `steps` read_file steps and a finish."""
    replies = [{"tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]}] * steps
    backend = TimedBackend(replies + [{"tool_calls": [{"name": "finish", "arguments": {"summary": "ok"}}]}])
    config = load_config(root, {"loop": {"max_steps": steps + 1}})
    ws = Workspace(root, config)
    tools = load_tools()
    tool_time = 0.0
    real = tools["read_file"].function

    def timed_read(ws: Workspace, **kw: Any) -> str:
        nonlocal tool_time
        start = time.perf_counter()
        try:
            return real(ws, **kw)
        finally:
            tool_time += time.perf_counter() - start

    tools["read_file"].function = timed_read
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "t"}]
    start = time.perf_counter()
    outcome = Agent(backend, tools, ws, config.loop, lambda e: None).run(messages)
    total = time.perf_counter() - start
    assert outcome.status == "done", outcome
    return total, backend.spent, tool_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        (root / "a.py").write_text("x = 1\n" * 50)
        runs = [one_run(root, args.steps) for _ in range(args.repeats)]
    n = args.steps + 1
    overhead = [(t - b - tl) / n * 1000 for t, b, tl in runs]
    print(f"{'steps':>6} {'total ms/step':>14} {'backend ms/step':>16} {'tool ms/step':>13} {'loop overhead ms/step':>22}")
    t, b, tl = (statistics.median(x[i] for x in runs) / n * 1000 for i in range(3))
    print(f"{n:>6} {t:>14.3f} {b:>16.3f} {tl:>13.3f} {statistics.median(overhead):>22.3f}")


if __name__ == "__main__":
    main()
