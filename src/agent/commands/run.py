"""`agent run`: one task, headless. Never waits for input."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

HELP = "Run a task headless on a repository and exit with its status (0 done, 1 failed/unverified, 2 usage, 3 limits, 130 interrupted)."


def _overrides(model: str | None, max_steps: int | None, budget_usd: float | None, gpu_layers: int | None,
               api_base: str | None, yes: bool) -> dict[str, Any]:
    backend = {k: v for k, v in {"model": model, "gpu_layers": gpu_layers, "api_base": api_base}.items() if v is not None}
    loop = {k: v for k, v in {"max_steps": max_steps, "budget_usd": budget_usd}.items() if v is not None}
    out: dict[str, Any] = {"backend": backend, "loop": loop}
    if yes:
        out["permissions"] = {"approve_all": True}
    return out


def run(
    task: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    repo: Annotated[Path, typer.Option("--repo", "-r", help="A path inside the git repository.")] = Path("."),
    model: Annotated[str | None, typer.Option("--model", "-m", help="local | gguf:PATH | scripted:PATH | a litellm model.")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Model calls before stopping.")] = None,
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", min=0, help="Cost budget in US dollars.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Stream JSON Lines events on stdout.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve actions that would ask (shell commands).")] = False,
    gpu_layers: Annotated[int | None, typer.Option("--gpu-layers", help="llama.cpp layers to offload to the GPU.")] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,
) -> None:
    """Run a task headless."""
    from agent.cli import fail
    from agent.config import load_config
    from agent.errors import AgentError, UsageError
    from agent.session import Session
    from agent.workspace import find_repo_root

    try:
        if not task.strip():
            raise UsageError("the task is empty")
        root = find_repo_root(repo)
        config = load_config(root, _overrides(model, max_steps, budget_usd, gpu_layers, api_base, yes))
        session = Session(root, config)
    except AgentError as exc:
        fail(str(exc), 2 if isinstance(exc, UsageError) else 1)
    signal.signal(signal.SIGTERM, _interrupt)
    if as_json:
        result = session.run(task, lambda e: _print_json(e))
    else:
        from agent.render import EventPrinter

        result = session.run(task, EventPrinter())
    raise typer.Exit(result.exit_code)


def _print_json(event: dict[str, Any]) -> None:
    if event["type"] != "text_delta":
        sys.stdout.write(json.dumps(event, default=str) + "\n")
        sys.stdout.flush()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
