"""`agent run`: one task, headless. Never waits for input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.options import RepoOption

HOSTED_FLAGS = ("api_key_env", "reasoning_effort", "thinking_tokens")
HELP = "Run a task headless on a repository and exit with its status (0 done, 1 failed/unverified, 2 usage, 3 limits, 130 interrupted)."


def _overrides(flags: dict[str, Any]) -> dict[str, Any]:
    """Config layer from CLI flags: only the flags given."""
    given = {k: v for k, v in flags.items() if v is not None and v is not False}
    permissions: dict[str, Any] = {"approve_all": True} if given.get("yes") else {}
    if given.get("allow_test_edits"):
        permissions["test_edits"] = "allow"
    return {
        "backend": {k: given[k] for k in ("model", "gpu_layers", "api_base", *HOSTED_FLAGS) if k in given},
        "loop": {k: given[k] for k in ("max_steps", "budget_usd") if k in given},
        "permissions": permissions,
    }


def run(
    task: Annotated[str | None, typer.Argument(help="What to do, in plain words.")] = None,
    repo: RepoOption = Path("."),
    model: Annotated[str | None, typer.Option("--model", "-m", help="local | gguf:PATH | scripted:PATH | a litellm model.")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Model calls before stopping.")] = None,
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", min=0, help="Cost budget in US dollars.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Stream JSON Lines events on stdout.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve actions that would ask (shell commands).")] = False,
    gpu_layers: Annotated[int | None, typer.Option("--gpu-layers", help="llama.cpp layers to offload to the GPU.")] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env", metavar="NAME", help="Variable holding the key for --api-base.")] = None,
    reasoning_effort: Annotated[str | None, typer.Option("--reasoning-effort", help="minimal | low | medium | high (reasoning models).")] = None,
    thinking_tokens: Annotated[int | None, typer.Option("--thinking-tokens", help="Claude extended-thinking budget.")] = None,
    allow_test_edits: Annotated[bool, typer.Option("--allow-test-edits", help="Let the task change tests (still reported).")] = False,
    worktree: Annotated[bool, typer.Option("--worktree", help="Run in its own git worktree on branch agent/<id>.")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Start in the background (implies --worktree) and print the id.")] = False,
    resume: Annotated[str | None, typer.Option("--resume", metavar="ID", help="Continue a stopped or killed run.")] = None,
    tasks: Annotated[Path | None, typer.Option("--tasks", help="File of tasks (one per line, or JSONL with \"task\"), each in its own worktree.")] = None,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="With --tasks: runs at once.")] = 2,
) -> None:
    """Run a task headless."""
    from agent.cli.sink import event_sink
    from agent.config import load_config
    from agent.errors import UsageError
    from agent.git.identity import check_git
    from agent.runs import registry
    from agent.session import Session
    from agent.workspace import find_repo_root

    overrides = _overrides({
        "model": _absolute_model(model), "max_steps": max_steps, "budget_usd": budget_usd, "gpu_layers": gpu_layers,
        "api_base": api_base, "api_key_env": api_key_env, "reasoning_effort": reasoning_effort,
        "thinking_tokens": thinking_tokens, "yes": yes, "allow_test_edits": allow_test_edits,
    })
    if resume or tasks or worktree or detach:  # runs kept apart from the user's checkout (agent.runs.registry)
        from agent.cli.commands.runs import start

        raise typer.Exit(start(repo, task, overrides, {"worktree": worktree or detach, "detach": detach, "resume": resume,
                                                       "tasks": tasks, "parallel": parallel, "json": as_json}))
    if not (task or "").strip():
        raise UsageError("the task is empty")
    root = find_repo_root(repo)
    check_git(root)
    config = load_config(root, overrides)
    session = Session(root, config)
    info = registry.prepare(root, task or "", overrides, worktree=False)
    registry.stop_on_sigterm()
    result = session.run(task or "", event_sink(as_json), run_id=info.id)
    if result.outcome.usage_error:
        raise UsageError(result.outcome.summary)
    if result.outcome.status == "error":  # run_finished says it too; one line for whoever reads stderr
        typer.echo(f"agent: error: {result.outcome.summary}", err=True)
    raise typer.Exit(result.exit_code)


def _absolute_model(model: str | None) -> str | None:
    """Make a file-based model spec absolute, so a run started elsewhere (worktree, child) finds it."""
    for prefix in ("scripted:", "gguf:"):
        if model and model.startswith(prefix):
            return prefix + str(Path(model.removeprefix(prefix)).expanduser().resolve())
    return model

