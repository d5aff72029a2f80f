"""Launching `agent chat` fast: stdlib only, so the first prompt is painted before anything heavy loads.

`agent.cli.entry` sends `agent chat ...` here (argparse, no typer: typer's option processing imports pydantic);
`agent chat --help` still goes through typer (agent.cli.commands.chat), which calls `launch` too.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HINT = "/help for commands · @file adds a file · Alt-Enter for a new line · Ctrl-C stops · Ctrl-D quits"


def parse(argv: list[str]) -> argparse.Namespace:
    """The options of `agent chat` (mirrors agent.cli.commands.chat)."""
    parser = argparse.ArgumentParser(prog="agent chat", add_help=False)
    parser.add_argument("message", nargs="*")
    parser.add_argument("--repo", "-r", type=Path, default=Path("."))
    parser.add_argument("--model", "-m")
    parser.add_argument("--yes", "-y", action="store_true")
    parser.add_argument("--resume", nargs="?", const=True, default=False)  # --resume [ID]
    parser.add_argument("--gpu-layers", type=int)
    parser.add_argument("--api-base")
    parser.add_argument("--budget-usd", type=float)
    parser.add_argument("--max-steps", type=int)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """`agent chat` from the console script; returns the exit code."""
    a = parse(argv)
    limits = {"budget_usd": a.budget_usd, "max_steps": a.max_steps}
    return launch(a.repo, a.model, a.yes, a.resume, a.gpu_layers, a.api_base, " ".join(a.message), limits)


def launch(  # noqa: PLR0913 - the command's options, one each
    repo: Path,
    model: str | None,
    yes: bool,
    resume: bool | str,
    gpu_layers: int | None,
    api_base: str | None,
    message: str = "",
    limits: dict[str, Any] | None = None,
) -> int:
    """Check the terminal and the repository, paint the prompt, run the REPL; returns the exit code."""
    from agent.errors import UsageError
    from agent.workspace import find_repo_root

    if not sys.stdin.isatty():
        sys.stderr.write(
            "agent: error: agent chat needs a terminal (stdin is not a tty); use `agent run TASK` in scripts\n"
        )
        return 2
    try:
        root = find_repo_root(repo)
    except UsageError as exc:
        sys.stderr.write(f"agent: error: {exc}\n")
        return 2
    # Ctrl-C stops a step: that holds even when our parent left SIGINT ignored (as a shell does for a
    # background job, or C's system() while it runs), where Python would not install its handler
    signal.signal(signal.SIGINT, signal.default_int_handler)
    backend = {
        k: v for k, v in {"model": model, "gpu_layers": gpu_layers, "api_base": api_base}.items() if v is not None
    }
    overrides: dict[str, Any] = {"backend": backend}
    loop = {k: v for k, v in (limits or {}).items() if v is not None}  # budget: per session; steps: per request
    if loop:
        overrides["loop"] = loop
    if yes:
        overrides["permissions"] = {"approve_all": True}
    label = model or os.environ.get("AGENT_MODEL") or "default model"
    banner = f"\x1b[1magent chat\x1b[0m · {label} · {root}\n\x1b[2m{HINT}\x1b[0m\n"
    if resume is True:
        from agent.chat.store import resume_line

        banner += resume_line(root)
    elif resume:
        banner += f"resuming session {resume}\n"
    restore = paint_prompt(banner)
    try:
        from agent.cli.repl import main as repl_main

        return repl_main(root, overrides, resume, label, message)
    finally:
        restore()


def paint_prompt(banner: str) -> Callable[[], None]:
    """Draw the banner and the prompt at once, before prompt_toolkit is imported; return a terminal restorer.

    Echo and line buffering are turned off until the editor takes over, so what the user types meanwhile
    stays in the terminal's input queue (not echoed twice) and appears in the editor when it starts.
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
