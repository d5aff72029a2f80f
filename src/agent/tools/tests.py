"""run_tests: run the repository's own test command."""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

from pydantic import Field

from agent.errors import ToolError
from agent.tools import effect
from agent.tools.shell import execute, format_result
from agent.workspace import Workspace


def _python(root: Path) -> str:
    for venv in (".venv", "venv"):
        candidate = root / venv / "bin" / "python"
        if candidate.exists():
            return str(candidate)
    return sys.executable if importlib.util.find_spec("pytest") else "python3"


def detect_test_command(root: Path) -> str | None:
    """Guess the test command from the files at the repo root (pytest, npm, go, cargo)."""
    if (root / "package.json").exists():
        try:
            scripts = json.loads((root / "package.json").read_text()).get("scripts", {})
        except (OSError, ValueError):
            scripts = {}
        if "test" in scripts:
            return "npm test --silent"
    if (root / "go.mod").exists():
        return "go test ./..."
    if (root / "Cargo.toml").exists():
        return "cargo test"
    markers = ["pytest.ini", "conftest.py", "tox.ini", "setup.cfg", "pyproject.toml", "setup.py"]
    has_tests = any(root.glob("test*/**/*.py")) or any(root.glob("test_*.py")) or any(root.glob("*_test.py"))
    if any((root / m).exists() for m in markers) or has_tests:
        return f"{shlex.quote(_python(root))} -m pytest -q"
    return None


def test_command(ws: Workspace) -> str:
    """The configured test command, else the detected one, else ToolError."""
    command = ws.config.tools.test_command or detect_test_command(ws.root)
    if not command:
        raise ToolError("no test command configured or detected (set tools.test_command)")
    return command


# Options the model may pass to the test runner: selectors and verbosity, nothing that writes, loads or redirects.
SELECTOR_FLAGS = {
    "-x", "-q", "-v", "-vv", "-vvv", "-s", "-l", "-rA", "-ra", "-rf", "-rs", "--lf", "--ff", "--nf", "--sw",
    "--last-failed", "--failed-first", "--new-first", "--stepwise", "--exitfirst", "--quiet", "--verbose",
    "--no-header", "--showlocals", "--capture=no", "--no-cov", "-race", "--nocapture", "--",
}
VALUE_FLAGS = {"-k", "-m", "--maxfail", "--tb", "--durations", "-run", "--run", "--test-threads", "-count"}
MAX_ARGS_CHARS = 4000


def check_args(ws: Workspace, args: str) -> list[str]:
    """The model's extra test arguments as words: test ids inside the repository and selector options only."""
    if len(args) > MAX_ARGS_CHARS:
        raise ToolError(f"args is {len(args)} characters long; the limit is {MAX_ARGS_CHARS}")
    if any(ch in args for ch in ";&|`$<>\n"):
        raise ToolError("args may not contain shell operators; use run_shell for that")
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise ToolError(f"args could not be split into words: {exc}") from exc
    i = 0
    while i < len(words):
        word = words[i]
        flag, has_value = word.split("=", 1)[0], "=" in word
        if word in SELECTOR_FLAGS:
            i += 1
        elif flag in VALUE_FLAGS:
            i += 1 if has_value else 2
        elif word.startswith("-"):
            raise ToolError(
                f"run_tests does not take {word!r}: args are test ids (paths inside the repository, optionally "
                "with ::name) and selectors (-k EXPR, -m MARK, -x, -q, -v, --lf, --ff, --maxfail=N, --tb=STYLE)"
            )
        else:
            _check_test_id(ws, word)
            i += 1
    return words


def _check_test_id(ws: Workspace, word: str) -> None:
    path = word.split("::", 1)[0]
    if path and (Path(path).is_absolute() or path.startswith("~") or ".." in Path(path).parts):
        raise ToolError(f"test id {word!r} is outside the repository: name tests by their path inside it")
    if path and not (ws.root / path).resolve().is_relative_to(ws.root.resolve()):
        raise ToolError(f"test id {word!r} leads outside the repository")


def full_command(ws: Workspace, args: str) -> str:
    """The test command with the model's extra arguments."""
    return test_command(ws) + (f" {args}" if args.strip() else "")


@effect("test", detail=lambda ws, a: full_command(ws, a.args))
def run_tests(
    ws: Workspace,
    args: Annotated[str, Field(description="test ids and selectors: `tests/test_x.py::test_y -x`, `-k name`")] = "",
) -> str:
    """Run the repository's test suite (or part of it); returns the exit code and output."""
    words = check_args(ws, args)
    command = full_command(ws, shlex.join(words))
    limit = ws.config.tools.shell_timeout_s
    code, output = execute(ws, command, limit)
    return f"$ {command}\n" + format_result(code, output, limit, ws.config.tools.output_chars)
