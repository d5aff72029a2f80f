"""Serve `agent --help` from a cache of what typer rendered, so help starts at bare-Python speed.

The cache key covers the version, the CLI modules' mtimes and the terminal (tty, width, colour
settings), so a changed CLI or terminal renders afresh through typer. `serve` uses only os and sys:
importing pathlib or hashlib here would cost more than the rest of start-up.
"""

from __future__ import annotations

import os
import sys
import zlib

TYPE_CHECKING = False  # importing typing costs more than the rest of this path
if TYPE_CHECKING:
    from typing import Any

HELP_ARGS: tuple[list[str], ...] = ([], ["--help"], ["-h"])


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "agent", "help")


def _key() -> str:
    from agent import __version__

    here = os.path.dirname(__file__)
    commands = os.path.join(here, "commands")
    files = [os.path.join(here, "app.py")] + sorted(
        os.path.join(commands, n) for n in os.listdir(commands) if n.endswith(".py")
    )
    mtimes = [str(os.stat(f).st_mtime_ns) for f in files]
    try:
        width = str(os.get_terminal_size(sys.stdout.fileno()).columns)
    except (OSError, ValueError):
        width = "-"
    env = [os.environ.get(v, "") for v in ("COLUMNS", "TERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")]
    raw = "|".join([__version__, *mtimes, str(sys.stdout.isatty()), width, *env])
    return f"{zlib.crc32(raw.encode()):08x}-{len(raw)}"


def serve(args: list[str]) -> bool:
    """Print the cached help for these args if it is current; return whether it did."""
    if args not in HELP_ARGS:
        return False
    try:
        with open(os.path.join(_cache_dir(), _key()), encoding="utf-8") as fh:
            sys.stdout.write(fh.read())
        sys.stdout.flush()
        return True
    except OSError:
        return False


class _Tee:
    """A stdout stand-in that keeps a copy of what is written and otherwise behaves like the real one."""

    def __init__(self, real: Any):
        self.real, self.parts = real, list[str]()

    def write(self, text: str | bytes) -> int:
        self.parts.append(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
        return int(self.real.write(text) or 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class recording:  # noqa: N801 - used like a function: `with recording(args):`
    """While typer renders the top-level help, keep a copy of what it prints for `serve`."""

    def __init__(self, args: list[str]):
        self.active = args in HELP_ARGS

    def __enter__(self) -> None:
        if self.active:
            self.real, self.key = sys.stdout, _key()
            self.tee = _Tee(self.real)
            sys.stdout = self.tee

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if not self.active:
            return
        sys.stdout = self.real
        if isinstance(exc, SystemExit) and not exc.code and self.tee.parts:
            _store(self.key, "".join(self.tee.parts))


def _store(key: str, text: str) -> None:
    try:
        folder = _cache_dir()
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{key}.{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, os.path.join(folder, key))
    except OSError:
        pass
