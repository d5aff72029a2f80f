"""llama.cpp prompt tokens evaluated per step, with and without KV-cache reuse, over a 10-step run.

Usage: python bench/llama_kv.py [--steps 10] [--gguf PATH]
The same scripted-free run is done twice with the real model: once re-using the cache (the
backend's default: prompts are append-only, so only new tokens are evaluated), once resetting it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.backends.llamacpp import LlamaCppBackend, resolve_gguf
from agent.config import load_config
from agent.errors import FormatError
from agent.loop import Agent
from agent.session import first_messages
from agent.tools import load_tools
from agent.workspace import Workspace


def run(root: Path, gguf: Path, steps: int, reuse: bool) -> list[dict[str, Any]]:
    """Run `steps` steps (finish is withheld so the run lasts); return per-step stats."""
    config = load_config(root, {"loop": {"max_steps": steps, "max_format_errors": steps + 1},
                                "backend": {"max_reply_tokens": 128, "n_ctx": 8192}, "context": {"map_tokens": 0}})
    backend = LlamaCppBackend(gguf, config.backend, reuse_cache=reuse)
    tools = load_tools(["read_file", "list_files", "search"])
    ws = Workspace(root, config)
    rows: list[dict[str, Any]] = []
    clock = [time.perf_counter()]

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "model_reply":
            now = time.perf_counter()
            rows.append({"prompt": event["tokens_in"], "evaluated": event["prompt_tokens_evaluated"], "s": now - clock[0]})
        elif event["type"] == "step_started":
            clock[0] = time.perf_counter()

    messages = first_messages(ws, "Read calc.py and the test, then explain the bug.", list(tools))
    try:
        Agent(backend, tools, ws, config.loop, on_event).run(messages)
    except FormatError:
        pass
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--gguf", default=None)
    args = parser.parse_args()
    gguf = resolve_gguf(load_config().backend, args.gguf)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        (root / "test_calc.py").write_text("from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n")
        reuse, fresh = run(root, gguf, args.steps, True), run(root, gguf, args.steps, False)
    print(f"model: {gguf.name}")
    print(f"{'step':>4} {'prompt tok':>10} {'eval (reuse)':>13} {'eval (no reuse)':>16} {'s (reuse)':>10} {'s (no reuse)':>13}")
    for i, (a, b) in enumerate(zip(reuse, fresh, strict=False), 1):
        print(f"{i:>4} {a['prompt']:>10} {a['evaluated']:>13} {b['evaluated']:>16} {a['s']:>10.2f} {b['s']:>13.2f}")
    total_a, total_b = sum(r["evaluated"] for r in reuse), sum(r["evaluated"] for r in fresh)
    print(f"total evaluated: {total_a} with reuse, {total_b} without ({total_b / max(total_a, 1):.1f}x); "
          f"median step {statistics.median(r['s'] for r in reuse):.2f}s vs {statistics.median(r['s'] for r in fresh):.2f}s")


if __name__ == "__main__":
    main()
