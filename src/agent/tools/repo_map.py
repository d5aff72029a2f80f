"""repo_map and find_symbol: the ranked repository map and symbol look-up."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from agent.errors import AgentError, ToolError
from agent.tools import effect
from agent.workspace import Workspace


@effect("read", paths=lambda a: ["."])
def repo_map(
    ws: Workspace,
    query: Annotated[str, Field(description="what you are looking for: task words, identifiers, file names")],
    budget: Annotated[int, Field(ge=64, le=16384, description="most tokens the map may use")] = 1024,
) -> str:
    """Show the files and definitions most relevant to a query, ranked, as a compact map of the repository."""
    from agent.repomap import build_map

    try:
        result = build_map(ws.root, query, budget=budget)
    except AgentError as exc:
        raise ToolError(f"repo map failed: {exc}") from exc
    return result.text or "the repository has no source files the map understands"


@effect("read", paths=lambda a: ["."])
def find_symbol(
    ws: Workspace,
    name: Annotated[str, Field(min_length=1, description="a function, class, method, type or constant name")],
    max_references: Annotated[int, Field(ge=1, le=500, description="most reference lines to list")] = 50,
) -> str:
    """Find where a symbol is defined and the lines that reference it, with paths and line numbers."""
    from agent.repomap import find_symbol as lookup

    name = name.strip()
    try:
        defs, refs = lookup(ws.root, name, max_refs=max_references + 1)
    except AgentError as exc:
        raise ToolError(f"symbol look-up failed: {exc}") from exc
    if not defs and not refs:
        return f"no definition of or reference to {name!r} found"
    lines = [f"definitions of {name!r}:" if defs else f"no definition of {name!r} found (showing references)"]
    lines += [f"  {h.path}:{h.line}: {h.text}" for h in defs]
    lines.append(f"references ({min(len(refs), max_references)}{'+' if len(refs) > max_references else ''}):")
    lines += [f"  {h.path}:{h.line}: {h.text}" for h in refs[:max_references]]
    return "\n".join(lines)
