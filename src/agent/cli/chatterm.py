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


ESC_WAIT_S = 0.1  # an arrow key's bytes come together; a lone Esc has nothing after it for this long


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


def _read_byte(fd: int) -> bytes:
    """One byte if it comes within ESC_WAIT_S, else b""."""
    try:
        return os.read(fd, 1) if select.select([fd], [], [], ESC_WAIT_S)[0] else b""
    except OSError:
        return b""


def key_sequence_follows(fd: int, held: list[str]) -> bool:
    """After an ESC byte: True when it began a key's escape sequence (an arrow, a function key, a paste's
    markers: ESC [ ... final byte, or ESC O x), whose remaining bytes are read and dropped. False for a lone
    Esc; a typed character that came right after it goes to `held`."""
    first = _read_byte(fd)
    if first not in (b"[", b"O"):
        if first:
            held.append(first.decode(errors="replace"))
        return False
    for _ in range(32):  # CSI parameters end at a byte in @..~; SS3 is one byte
        byte = _read_byte(fd)
        if not byte or first == b"O" or 0x40 <= byte[0] <= 0x7E:
            break
    return True


class StepKeys:
    """What esc_interrupts read from the terminal that belongs to the next prompt (`held`)."""

    def __init__(self) -> None:
        self.held: list[str] = []

    def text(self) -> str:
        """The held characters, once."""
        out, self.held = "".join(self.held), []
        return out


@contextmanager
def esc_interrupts() -> Iterator[StepKeys]:
    """While a step runs, Esc stops it as Ctrl-C does: the terminal's quit key becomes Esc for that time,
    and SIGQUIT raises KeyboardInterrupt unless the ESC began a key's escape sequence (an arrow key typed
    ahead). Meanwhile the terminal is non-canonical, so those bytes can be read as they come, and NOFLSH, so
    a signal key keeps what was typed before it. (An approval question is a prompt of its own, in raw mode:
    Esc is a key there.)"""
    import termios

    keys = StepKeys()
    try:
        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):  # not a terminal
        yield keys
        return
    new = [*old[:6], list(old[6])]
    new[3] = (new[3] & ~termios.ICANON) | termios.NOFLSH
    new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
    new[6][termios.VQUIT] = b"\x1b"

    def interrupt(signum: int, frame: Any) -> None:
        if not key_sequence_follows(fd, keys.held):
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGQUIT, interrupt)
    termios.tcsetattr(fd, termios.TCSANOW, new)
    try:
        yield keys
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)
        signal.signal(signal.SIGQUIT, previous)
