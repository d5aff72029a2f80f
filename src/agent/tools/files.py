"""read_file, list_files and write_file."""

from __future__ import annotations

import fnmatch
from typing import Annotated

from pydantic import Field

from agent.errors import ToolError
from agent.redact import refuse_placeholders
from agent.tools import effect
from agent.tools.limits import cut_line, fit
from agent.workspace import Workspace


def read_text(ws: Workspace, path: str) -> str:
    """Read a repo file as text, refusing directories and binaries."""
    real = ws.resolve(path)
    if not real.exists():
        raise ToolError(f"no such file: {path}")
    if real.is_dir():
        raise ToolError(f"{path} is a directory; use list_files")
    try:
        data = ws.read_bytes(real)
    except OSError as exc:
        raise ToolError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if b"\x00" in data[:8192]:
        raise ToolError(f"{path} is a binary file ({len(data)} bytes)")
    return data.decode("utf-8", errors="replace")


@effect("read", paths=lambda a: [a.path])
def read_file(
    ws: Workspace,
    path: Annotated[str, Field(description="file path relative to the repository root")],
    start_line: Annotated[int, Field(ge=1, description="first line to show (1-based)")] = 1,
    end_line: Annotated[int | None, Field(ge=1, description="last line to show; default: one page")] = None,
) -> str:
    """Read a file with line numbers. Large files are paged: ask for the next range to read on."""
    lines = read_text(ws, path).splitlines()
    page, budget = ws.config.tools.read_lines, ws.config.tools.output_chars
    last = min(end_line or start_line + page - 1, len(lines), start_line + page - 1)
    if start_line > max(len(lines), 1):
        raise ToolError(f"{path} has {len(lines)} lines; start_line {start_line} is past the end")
    width = len(str(last))
    line_chars = max(200, budget // 4)  # one huge line (minified code, data) never fills the context alone
    rows = fit([f"{n:>{width}}| {cut_line(lines[n - 1], line_chars)}" for n in range(start_line, last + 1)], budget)
    last = start_line + len(rows) - 1 if rows else last
    more = f"\n... {len(lines) - last} more lines; read_file(start_line={last + 1}) to go on" * (last < len(lines))
    if any(len(lines[n - 1]) > line_chars for n in range(start_line, last + 1)):
        more += (f"\n(lines longer than {line_chars:,} characters were cut; see the rest with search, or "
                 f"run_shell `cut -c{line_chars + 1}-{2 * line_chars} {path}`)")
    return f"{path} (lines {start_line}-{last} of {len(lines)})\n" + "\n".join(rows) + more

def list_files(
    ws: Workspace,
    pattern: Annotated[str, Field(description="glob on the path, e.g. 'src/**/*.py' or '*test*'")] = "*",
    limit: Annotated[int, Field(description="most paths to list (at most 5000)")] = 500,
) -> str:
    """List the repository's files (ignoring what .gitignore ignores), filtered by a glob."""
    limit = min(max(limit, 1), 5000)
    names = [n for n in ws.files() if fnmatch.fnmatch(n, pattern) or fnmatch.fnmatch(n.rsplit("/", 1)[-1], pattern)]
    if not names:
        return f"no files match {pattern!r}"
    shown = fit(names[:limit], ws.config.tools.output_chars)
    if len(shown) == len(names):
        return "\n".join(shown)
    why = "" if len(shown) == limit else f" (output capped at {ws.config.tools.output_chars:,} characters)"
    return "\n".join(shown) + (f"\n... and {len(names) - len(shown)} more{why}; narrow the pattern "
                               f"(e.g. 'src/**' or '*.py') to list them")

@effect("edit", paths=lambda a: [a.path])
def write_file(
    ws: Workspace,
    path: Annotated[str, Field(description="file path relative to the repository root")],
    content: Annotated[str, Field(description="the whole new content of the file")],
) -> str:
    """Create a file or replace its whole content. Prefer edit_file for changes to existing files."""
    real = ws.resolve(path)
    if real.is_dir():
        raise ToolError(f"{path} is a directory")
    existed = real.exists()
    if existed:
        refuse_placeholders(content, read_text(ws, path))
    try:
        ws.write_text(real, content)
    except OSError as exc:
        raise ToolError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return f"{'replaced' if existed else 'created'} {path} ({len(content.splitlines())} lines)"
