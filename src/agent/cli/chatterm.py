"""The terminal side of `agent chat`: Esc as an interrupt during a step, reading typed-ahead keys, and the
command patterns an approval's "always" may cover (saved to the user's config)."""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def command_pattern(command: str) -> str:
    """The pattern "always" may cover for a command: its program (and subcommand or module) then `*`."""
    words = command.split()
    if not words:
        return command
    keep = 3 if len(words) > 2 and words[1] == "-m" else 2 if len(words) > 1 and words[0] in SUBCOMMANDS else 1
    return " ".join(words[:keep]) + " *"


SUBCOMMANDS = {"git", "npm", "yarn", "pnpm", "cargo", "go", "uv", "pip", "make", "docker", "poetry"}


def save_shell_allow(pattern: str) -> Path:
    """Add `pattern` to permissions.shell_allow in the user's config file (kept as it was otherwise)."""
    import tomlkit

    from agent.config import user_config_path

    path = user_config_path()
    doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    table = doc.setdefault("permissions", tomlkit.table())
    allowed = table.setdefault("shell_allow", tomlkit.array())
    if pattern not in allowed:
        allowed.append(pattern)
    path.parent.mkdir(parents=True, exist_ok=True)
    from agent.atomic import atomic_write_text

    atomic_write_text(path, tomlkit.dumps(doc))
    return path


def drain_stdin() -> str:
    """Read whatever is waiting on the terminal without blocking."""
    if not sys.stdin.isatty():
        return ""
    fd, chunks = sys.stdin.fileno(), []
    try:
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
    except OSError:
        pass
    return b"".join(chunks).decode(errors="replace")


@contextmanager
def esc_interrupts() -> Iterator[None]:
    """While a step runs, Esc stops it as Ctrl-C does: the terminal's quit key becomes Esc for that time,
    and SIGQUIT raises KeyboardInterrupt. (An approval question is a prompt of its own: Esc is a key there.)"""
    import termios

    try:
        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):  # not a terminal
        yield
        return
    new = [*old[:6], list(old[6])]
    new[6][termios.VQUIT] = b"\x1b"

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGQUIT, interrupt)
    termios.tcsetattr(fd, termios.TCSANOW, new)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)
        signal.signal(signal.SIGQUIT, previous)
