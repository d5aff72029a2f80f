"""Repair benchmark agents: our `agent run` on any model, plus the scripted oracle and no-op models of sanity mode."""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repair_env import HarnessError, Task, agent_test_command, git, isolate_prefix, patch_paths, run

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_MODELS = ("scripted:", "gguf:", "local")


@dataclass
class AgentSpec:
    """How to start the agent: the command prefix, model spec and limits."""

    command: list[str]
    model: str
    max_steps: int = 30
    gpu_layers: int | None = None
    timeout_s: float = 1800.0


def default_agent_command() -> list[str]:
    """This checkout's agent, run with the current interpreter."""
    return [sys.executable, "-m", "agent"]


def oracle_replies(task: Task, checkout: Path) -> list[dict[str, Any]]:
    """Scripted replies that write every file of the gold patch with its patched content, then finish."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        patch_file = Path(tmp) / "gold.patch"
        patch_file.write_text(task.patch)
        git(checkout, "read-tree", task.base_commit, env=env)
        git(checkout, "apply", "--cached", "--whitespace=nowarn", str(patch_file), env=env)
        replies = []
        for path in patch_paths(task.patch):
            if run(["git", "cat-file", "-e", f":{path}"], checkout, env=env)[0] != 0:
                raise HarnessError(f"{task.instance_id}: the oracle cannot delete {path}")
            content = git(checkout, "show", f":{path}", env=env)
            replies.append({"content": f"Writing the fixed {path}.",
                            "tool_calls": [{"name": "write_file", "arguments": {"path": path, "content": content}}]})
    replies.append(finish_reply("Applied the reference fix."))
    return replies


def noop_replies() -> list[dict[str, Any]]:
    """A model that gives up at once."""
    return [finish_reply("No change made.")]


def finish_reply(summary: str) -> dict[str, Any]:
    """One scripted reply calling finish."""
    return {"content": "", "tool_calls": [{"name": "finish", "arguments": {"summary": summary}}]}


def write_script(replies: list[dict[str, Any]], path: Path) -> str:
    """Save scripted replies and return the `scripted:` model spec naming them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


def agent_argv(spec: AgentSpec, task: Task, checkout: Path) -> list[str]:
    """The `agent run` command line for a task (isolated from the network when the model needs none)."""
    argv = [*spec.command, "run", task.problem_statement, "--repo", str(checkout), "--model", spec.model,
            "--max-steps", str(spec.max_steps), "--json"]
    if spec.gpu_layers is not None:
        argv += ["--gpu-layers", str(spec.gpu_layers)]
    if spec.model.startswith(OFFLINE_MODELS):
        argv = [*shlex.split(isolate_prefix()), *argv]
    return argv


def run_agent(spec: AgentSpec, task: Task, checkout: Path, log_path: Path) -> dict[str, Any]:
    """Run `agent run` headless on the task; return the run_finished fields (status `crashed` when absent)."""
    env = {**os.environ, "AGENT_TEST_COMMAND": agent_test_command(task.test_cmd)}
    if spec.command == default_agent_command():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    started = time.monotonic()
    code, output = run(agent_argv(spec, task, checkout), checkout, spec.timeout_s, env)
    wall = time.monotonic() - started
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(output)
    finished = last_event(output, "run_finished")
    if finished is None:
        return {"status": "crashed", "exit_code": code, "agent_s": round(wall, 1), "steps": 0, "tokens_in": 0,
                "tokens_out": 0, "cost_usd": 0.0, "error": output[-1500:]}
    keep = ("status", "verified", "files_changed", "tokens_in", "tokens_out", "cost_usd", "steps", "duration_s")
    return {**{k: finished.get(k) for k in keep}, "exit_code": code, "agent_s": round(wall, 1)}


def last_event(output: str, kind: str) -> dict[str, Any] | None:
    """The last JSON Lines event of `kind` in mixed output (non-JSON lines are skipped)."""
    found = None
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("type") == kind:
                found = event
    return found
