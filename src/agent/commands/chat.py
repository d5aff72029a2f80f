"""`agent chat`: the interactive REPL. Only typer and the stdlib at module top: the prompt must come fast."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

HINT = "/help for commands · @file adds a file · Alt-Enter for a new line · Ctrl-C stops · Ctrl-D quits"
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
    label = model or os.environ.get("AGENT_MODEL") or "default model"
    banner = f"\x1b[1magent chat\x1b[0m · {label} · {root}\n\x1b[2m{HINT}\x1b[0m\n"
    if resume:
        from agent.chatstore import resume_line

        banner += resume_line(root)
    restore = paint_prompt(banner)
    try:
        from agent.repl import main

        code = main(root, overrides, resume, label)
    finally:
        restore()
    raise typer.Exit(code)


def paint_prompt(banner: str) -> Callable[[], None]:
    """Draw the banner and the prompt at once, before prompt_toolkit is imported; return a terminal restorer.

    Echo and line buffering are turned off until the editor takes over, so what the user types meanwhile is
    kept in the terminal's input queue (not echoed twice) and appears in the editor when it starts.
    """
    import termios

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~(termios.ECHO | termios.ICANON)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    sys.stdout.write(banner + "\x1b[1m›\x1b[0m \r")
    sys.stdout.flush()
    return lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def fast(argv: list[str]) -> int:
    """Parse `agent chat` options with argparse and run: typer's option processing imports pydantic (~0.2 s).

    `agent chat --help` still goes through typer; the options here mirror `chat` above.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="agent chat", add_help=False)
    parser.add_argument("--repo", "-r", type=Path, default=Path("."))
    parser.add_argument("--model", "-m")
    parser.add_argument("--yes", "-y", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--gpu-layers", type=int)
    parser.add_argument("--api-base")
    args = parser.parse_args(argv)
    try:
        chat(args.repo, args.model, args.yes, args.resume, args.gpu_layers, args.api_base)
    except typer.Exit as done:
        return int(done.exit_code)
    return 0
