"""Serve `agent --help` from a cache of what typer rendered, so help starts at bare-Python speed.

The cache key covers the version, the CLI modules' mtimes and the terminal (tty, width, colour
settings), so a changed CLI or terminal renders afresh through typer.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HELP_ARGS = ([], ["--help"], ["-h"])


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "agent" / "help"


def _key() -> str:
    from agent import __version__

    here = Path(__file__).parent
    mtimes = [str(p.stat().st_mtime_ns) for p in sorted([here / "cli.py", *(here / "commands").glob("*.py")])]
    try:
        width = str(os.get_terminal_size(sys.stdout.fileno()).columns)
    except (OSError, ValueError):
        width = "-"
    env = [os.environ.get(v, "") for v in ("COLUMNS", "TERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")]
    raw = "|".join([__version__, *mtimes, str(sys.stdout.isatty()), width, *env])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def serve(args: list[str]) -> bool:
    """Print the cached help for these args if it is current; return whether it did."""
    if args not in HELP_ARGS:
        return False
    try:
        path = _cache_file() / _key()
        sys.stdout.write(path.read_text(encoding="utf-8"))
        sys.stdout.flush()
        return True
    except OSError:
        return False


class _Tee(io.TextIOBase):
    def __init__(self, real: io.TextIOBase):
        self.real, self.copy = real, io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.real.write(text)

    def flush(self) -> None:
        self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")


@contextmanager
def recording(args: list[str]) -> Iterator[None]:
    """While typer renders the top-level help, keep a copy of what it prints for `serve`."""
    if args not in HELP_ARGS:
        yield
        return
    real = sys.stdout
    tee = _Tee(real)  # type: ignore[arg-type]
    key = _key()
    sys.stdout = tee  # type: ignore[assignment]
    try:
        yield
    except SystemExit as exc:
        if not exc.code and tee.copy.getvalue():
            _store(key, tee.copy.getvalue())
        raise
    finally:
        sys.stdout = real


def _store(key: str, text: str) -> None:
    try:
        folder = _cache_file()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, folder / key)
    except OSError:
        pass
