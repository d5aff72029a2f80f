"""`agent chat`: the interactive REPL. Only typer and the stdlib at module top: the prompt must come fast.

The console script (agent.cli.entry) sends `agent chat ...` straight to agent.cli.chatlaunch without typer; this
typer command serves `agent chat --help` and calls from the typer app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli.options import RepoOption

HELP = "Chat with the agent about a repository: streamed answers, edits shown as diffs, /help for commands."


def chat(  # noqa: PLR0913 - the command's options, one each
    message: Annotated[list[str] | None, typer.Argument(help="A first request to send at once.")] = None,
    repo: RepoOption = Path("."),
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="local | gguf:PATH | scripted:PATH | a litellm model.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve every action that would ask.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last saved session (`--resume ID`: that one; /resume lists).")
    ] = False,
    gpu_layers: Annotated[
        int | None, typer.Option("--gpu-layers", help="llama.cpp layers to offload to the GPU.")
    ] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", min=0, help="Cost budget of the whole session in US dollars.")
    ] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Model calls per request.")] = None,
) -> None:
    """Start the interactive chat."""
    from agent.cli.chatlaunch import launch

    limits = {"budget_usd": budget_usd, "max_steps": max_steps}
    raise typer.Exit(launch(repo, model, yes, resume, gpu_layers, api_base, " ".join(message or []), limits))
