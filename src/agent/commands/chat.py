"""`agent chat`: the interactive REPL. Only typer and the stdlib at module top: the prompt must come fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

HELP = "Chat with the agent about a repository: streamed answers, edits shown as diffs, /help for commands."


def chat(
    repo: Annotated[Path, typer.Option("--repo", "-r", help="A path inside the git repository.")] = Path("."),
    model: Annotated[str | None, typer.Option("--model", "-m", help="local | gguf:PATH | scripted:PATH | a litellm model.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve every action that would ask.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last saved session of this repository.")] = False,
    gpu_layers: Annotated[int | None, typer.Option("--gpu-layers", help="llama.cpp layers to offload to the GPU.")] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,
) -> None:
    """Start the interactive chat."""
    from agent.cli import fail
    from agent.errors import UsageError
    from agent.workspace import find_repo_root

    if not sys.stdin.isatty():
        typer.echo("agent: error: agent chat needs a terminal (stdin is not a tty); use `agent run TASK` in scripts", err=True)
        raise typer.Exit(2)
    try:
        root = find_repo_root(repo)
    except UsageError as exc:
        fail(str(exc), 2)
    backend = {k: v for k, v in {"model": model, "gpu_layers": gpu_layers, "api_base": api_base}.items() if v is not None}
    overrides: dict[str, object] = {"backend": backend}
    if yes:
        overrides["permissions"] = {"approve_all": True}
    from agent.repl import main

    label = model or os.environ.get("AGENT_MODEL") or "default model"
    raise typer.Exit(main(root, overrides, resume, label))
