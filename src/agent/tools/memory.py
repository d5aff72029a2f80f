"""remember, recall and forget: the model's access to durable notes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from agent.errors import StoreError, ToolError
from agent.protocols import MemoryStore
from agent.workspace import Workspace


def _store(ws: Workspace) -> MemoryStore:
    if ws.memory is None:
        raise ToolError("memory is not enabled for this run")
    return ws.memory


def remember(
    ws: Workspace,
    text: Annotated[str, Field(description="the lesson, one or two self-contained sentences")],
    anchors: Annotated[
        list[str], Field(description="code it is about, as PATH or PATH:SYMBOL (e.g. src/app.py:Parser.parse)")
    ] = [],  # noqa: B006 - pydantic copies defaults
    tags: Annotated[list[str], Field(description="a few short topic words")] = [],  # noqa: B006
    scope: Annotated[
        Literal["repo", "user"], Field(description="repo: about this repository; user: a personal preference")
    ] = "repo",
) -> str:
    """Save a durable note for future sessions: a repo convention, an approach that failed, a user
    preference. A note that says the same as an existing one updates it."""
    try:
        note_id = _store(ws).remember(text, anchors, tags, source="agent", scope=scope)
    except StoreError as exc:
        raise ToolError(str(exc)) from exc
    return f"remembered as {note_id}"


def recall(
    ws: Workspace,
    query: Annotated[str, Field(description="what you want to know, in plain words")],
    k: Annotated[int, Field(ge=1, le=20, description="most notes to return")] = 5,
) -> str:
    """Search the durable notes of this repo and user. Each is labelled fresh, stale (its code changed:
    verify it) or orphaned (its code is gone)."""
    from agent.memory.context import format_hit

    try:
        hits = _store(ws).recall(query, k)
    except StoreError as exc:
        raise ToolError(str(exc)) from exc
    return "\n".join(format_hit(h) for h in hits) if hits else "no notes found"


def forget(
    ws: Workspace,
    id: Annotated[str, Field(description="the note id, as shown by recall")],
) -> str:
    """Delete a note that is wrong or no longer useful."""
    try:
        _store(ws).forget(id)
    except StoreError as exc:
        raise ToolError(str(exc)) from exc
    return f"forgot {id}"
