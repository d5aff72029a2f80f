"""search: regex search over the repository's files."""

from __future__ import annotations

import re
import subprocess
from typing import Annotated

from pydantic import Field

from agent.errors import ToolError
from agent.tools.limits import cut_line, fit
from agent.workspace import Workspace


def _git_grep(ws: Workspace, pattern: str, path_glob: str, ignore_case: bool) -> list[str] | None:
    args = ["git", "grep", "--untracked", "-I", "-n", "--full-name", "-P"]
    if ignore_case:
        args.append("-i")
    args += ["-e", pattern, "--", f":(glob){path_glob}" if path_glob != "*" else "."]
    proc = subprocess.run(args, cwd=ws.root, capture_output=True)
    if proc.returncode == 1:
        return []
    if proc.returncode != 0:
        return None  # e.g. git built without PCRE: fall back to Python
    return proc.stdout.decode(errors="replace").splitlines()


def _python_grep(ws: Workspace, regex: re.Pattern[str], path_glob: str) -> list[str]:
    import fnmatch

    hits = []
    for name in ws.files():
        if path_glob != "*" and not fnmatch.fnmatch(name, path_glob):
            continue
        try:
            text = (ws.root / name).read_text(errors="replace")
        except OSError:
            continue
        hits += [f"{name}:{n}:{line}" for n, line in enumerate(text.splitlines(), 1) if regex.search(line)]
    return hits


def search(
    ws: Workspace,
    pattern: Annotated[str, Field(description="regular expression (Python/PCRE syntax)")],
    path_glob: Annotated[str, Field(description="only files whose path matches this glob, e.g. '**/*.py'")] = "*",
    ignore_case: Annotated[bool, Field(description="case-insensitive match")] = False,
    max_results: Annotated[int, Field(description="most matching lines to show (at most 1000)")] = 100,
) -> str:
    """Search the repository's files for a regex; shows path:line: text for each match."""
    max_results = min(max(max_results, 1), 1000)
    try:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ToolError(f"invalid regex {pattern!r}: {exc}") from exc
    hits = _git_grep(ws, pattern, path_glob, ignore_case)
    if hits is None:
        hits = _python_grep(ws, regex, path_glob)
    if not hits:
        return f"no matches for {pattern!r}"
    lines = fit([cut_line(h, 300) for h in hits[:max_results]], ws.config.tools.output_chars)
    if len(lines) == len(hits):
        return "\n".join(lines)
    why = "" if len(lines) == max_results else f" (output capped at {ws.config.tools.output_chars:,} characters)"
    return "\n".join(lines) + f"\n... {len(hits) - len(lines)} more matches{why}; narrow the pattern or path_glob"
