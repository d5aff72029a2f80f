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


def full_command(ws: Workspace, args: str) -> str:
    """The test command with the model's extra arguments."""
    return test_command(ws) + (f" {args}" if args.strip() else "")


@effect("test", detail=lambda ws, a: full_command(ws, a.args))
def run_tests(
    ws: Workspace,
    args: Annotated[str, Field(description="extra arguments, e.g. a test file to run only it")] = "",
) -> str:
    """Run the repository's test suite (or part of it); returns the exit code and output."""
    command = full_command(ws, args)
    if any(ch in args for ch in ";&|`$<>\n"):
        raise ToolError("args may not contain shell operators; use run_shell for that")
    limit = ws.config.tools.shell_timeout_s
    code, output = execute(ws, command, limit)
    return f"$ {command}\n" + format_result(code, output, limit, ws.config.tools.output_chars)
